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
func unmarshal(c Codec, data []byte, v any) (err error) {
	defer func() {
		if x := recover(); x != nil {
			err = fmt.Errorf("codec %s panicked decoding: %v", c.Name(), x)
		}
	}()
	return c.Unmarshal(data, v)
}

// marshal is c.Marshal on a serving node, a panic in it an error (see
// unmarshal).
func marshal(c Codec, v any) (data []byte, err error) {
	defer func() {
		if x := recover(); x != nil {
			data, err = nil, fmt.Errorf("codec %s panicked encoding: %v", c.Name(), x)
		}
	}()
	return c.Marshal(v)
}
