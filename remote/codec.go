package remote

import (
	"encoding/json"
	"fmt"
)

// Codec encodes requests and replies on the wire. A binding uses one
// (JSON by default; see WithCodec); a serving node decodes with the codec
// the request names, among JSON and those given to WithCodecs. Bring your
// own for protobuf or msgpack. Implementations must be safe for
// concurrent use.
type Codec interface {
	// Name identifies the codec on the wire (the Troupe-Codec header):
	// letters, digits, '-', '_' and '.'. "json" is the JSON format's: a
	// codec so named must read and write standard JSON, as a serving node
	// decodes it with its own JSON codec (the package's, or one given to
	// its WithCodecs under that name).
	Name() string
	// Marshal encodes v (a request or a reply value).
	Marshal(v any) ([]byte, error)
	// Unmarshal decodes data into v, a pointer.
	Unmarshal(data []byte, v any) error
}

// JSON is the default codec: encoding/json. Its cost is encoding/json's
// (about 1 µs and a few allocations for a small struct).
var JSON Codec = jsonCodec{}

type jsonCodec struct{}

func (jsonCodec) Name() string                       { return "json" }
func (jsonCodec) Marshal(v any) ([]byte, error)      { return json.Marshal(v) }
func (jsonCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// unmarshal is c.Unmarshal of bytes from another node, a panic in it (the
// codec's, or the type's own decoding method's) an error: a serving node
// decodes on its own goroutines, where a panic would end the process, and
// a caller is owed an outcome (ErrCodec), not a panic, whatever a reply's
// bytes.
func unmarshal(c Codec, data []byte, v any) error {
	return unpanicked(c, "decoding", func() error { return c.Unmarshal(data, v) })
}

// marshal is c.Marshal on a serving node, a panic in it an error (see
// unmarshal).
func marshal(c Codec, v any) (data []byte, err error) {
	err = unpanicked(c, "encoding", func() (err error) {
		data, err = c.Marshal(v)
		return err
	})
	if err != nil {
		return nil, err
	}
	return data, nil
}

// unpanicked runs f, user code on a node's goroutines (codec c, doing
// what; or, with c nil, what: an Authorizer), and returns its error, or
// one saying what panicked and with what: a panic there would end the
// process. Its text is made only then: no allocation on the way of a
// call.
func unpanicked(c Codec, what string, f func() error) (err error) {
	defer func() {
		if x := recover(); x != nil {
			if c != nil {
				what = "codec " + c.Name() + " " + what
			}
			err = fmt.Errorf("%s panicked: %v", what, x)
		}
	}()
	return f()
}
