package remote

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
)

// The wire. A call is a NATS request on
//
//	<prefix>.<name>.<method>     (prefix "troupe" by default)
//
// with the reply subject <node inbox>.<n>, unique per call. Its headers:
//
//	Troupe-Timeout: <ns>   the caller's remaining time, relative (no clock sync)
//	Troupe-Chain:   <node>/<n>,…  the wait-for chain (call-cycle detection)
//	Troupe-Codec:   <name>  absent for JSON
//
// plus whatever a binding adds (Header). A Cast is a plain publish with
// no reply subject and no Troupe headers but the codec's. A reply is the
// encoded value; an error reply has the micro-service headers
// Nats-Service-Error-Code (the stable code) and Nats-Service-Error (the
// message), and a JSON [wireError] body. A cancel is a publish on
// <prefix>._cancel whose body is the call's reply subject.
const (
	hdrTimeout = "Troupe-Timeout"
	hdrChain   = "Troupe-Chain"
	hdrCodec   = "Troupe-Codec"
	hdrStatus  = "Status" // NATS status header: "503" means no responders
)

// wireError is an error reply's body.
type wireError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Method  string `json:"method,omitempty"`
	Node    string `json:"node,omitempty"`
	Value   string `json:"value,omitempty"`  // panics only
	Stack   string `json:"stack,omitempty"`  // panics only
	Oldest  uint64 `json:"oldest,omitempty"` // CodeTruncated only
}

// errorFrom decodes an error reply.
func errorFrom(m *nats.Msg, method string) error {
	code := m.Header.Get(micro.ErrorCodeHeader)
	var w wireError
	if err := json.Unmarshal(m.Data, &w); err != nil || w.Code == "" {
		w = wireError{Code: code, Message: m.Header.Get(micro.ErrorHeader)}
	}
	if w.Method == "" {
		w.Method = method
	}
	if w.Code == CodePanic {
		return &PanicError{Method: w.Method, Node: w.Node, Value: w.Value, Stack: w.Stack}
	}
	return &Error{Code: w.Code, Message: w.Message, Method: w.Method, Node: w.Node}
}

// encodeTimeout writes d for the Troupe-Timeout header.
func encodeTimeout(d time.Duration) string { return strconv.FormatInt(int64(d), 10) }

// decodeTimeout reads the Troupe-Timeout header; ok is false if it is
// absent or malformed.
func decodeTimeout(s string) (time.Duration, bool) {
	if s == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false
	}
	return time.Duration(n), true
}
