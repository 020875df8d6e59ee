package remote

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go"

	"github.com/troupe-go/troupe/actor"
)

// BindOption configures Bind.
type BindOption interface{ applyBind(*bindConfig) }

type bindOption func(*bindConfig)

func (f bindOption) applyBind(c *bindConfig) { f(c) }

type bindConfig struct {
	codec  Codec
	header nats.Header
}

// WithCodec encodes the binding's requests (and asks for replies) in c
// instead of JSON. The serving node must know c's name (its WithCodecs):
// it decodes with the codec it has under that name (for "json", its own
// JSON codec; see Codec.Name).
func WithCodec(c Codec) BindOption { return bindOption(func(b *bindConfig) { b.codec = c }) }

// WithHeader adds a header to every request of the binding: a token for
// the serving node's Authorizer, a tenant, a trace id.
func WithHeader(key, value string) BindOption {
	return bindOption(func(b *bindConfig) {
		if b.header == nil {
			b.header = nats.Header{}
		}
		b.header.Add(key, value)
	})
}

// Binding calls a method of an actor exported under a name on some node
// of the cluster (any of them, if several export it), typed like the
// method: requests Q, replies R. Make one with Bind and keep it; it is
// immutable and safe for concurrent use. A nil or zero Binding (not made
// by Bind) fails every call with ErrNilRef.
type Binding[Q, R any] struct {
	n     *Node
	subj  string // <prefix>.<name>.<method>
	label string // <name>.<method>
	cfg   bindConfig
	// codecHdr is Troupe-Codec's value, shared by every request (nats.go
	// only reads it), or nil for JSON.
	codecHdr []string
	err      error // why every call fails
	batch    *castBatch
}

// Bind returns a binding to method m of the actor exported as name. It
// never fails: a nil node, an invalid name or a nil method make a binding
// whose every call returns the error (ErrNilNode, ErrInvalidName,
// ErrNilRef, ErrInvalidOption). It does not check that name is served:
// calls to a name nobody serves fail with ErrNotFound. O(1).
func Bind[S, Q, R any](n *Node, name string, m *actor.Method[S, Q, R], opts ...BindOption) *Binding[Q, R] {
	b := &Binding[Q, R]{n: n, cfg: bindConfig{codec: JSON}}
	switch {
	case !n.made():
		b.err = ErrNilNode
		return b
	case m == nil:
		b.err = ErrNilRef
		return b
	case !tokenRe.MatchString(name) || !tokenRe.MatchString(m.Name()):
		b.err = fmt.Errorf("%w: %q.%q", ErrInvalidName, name, m.Name())
		return b
	}
	for _, o := range opts {
		if o == nil {
			b.err = fmt.Errorf("%w: nil option", ErrInvalidOption)
			return b
		}
		o.applyBind(&b.cfg)
	}
	if b.cfg.codec == nil || !codecNameRe.MatchString(b.cfg.codec.Name()) {
		b.err = fmt.Errorf("%w: codec", ErrInvalidOption)
		return b
	}
	b.subj = n.cfg.prefix + "." + name + "." + m.Name()
	b.label = name + "." + m.Name()
	if b.cfg.codec != JSON {
		b.codecHdr = []string{b.cfg.codec.Name()}
	}
	b.batch = &castBatch{n: n, subj: b.subj, name: name, method: m.Name()}
	if b.cfg.header != nil || b.cfg.codec != JSON {
		b.batch.hdr = b.header(context.Background()) // casts carry no caller chain
	}
	b.batch.hdrRoom = batchHeaderRoom(b.batch.hdr)
	return b
}
