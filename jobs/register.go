package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"reflect"
	"runtime/debug"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/engine"
	troupe "github.com/troupe-go/troupe/runtime"
)

// Host is the actor a procedure runs on, with state type S, under the
// name jobs are submitted to (harp's host). Make one with [Ref] or
// [Named]. A Host is a small value, safe to copy and share.
type Host[S any] struct {
	name  string
	ref   *actor.Ref[S]
	byRef bool // else looked up by name at each start
}

// Ref is the host name for the actor ref: its jobs run on that actor. A
// nil ref is refused by Register (ErrInvalidOption).
func Ref[S any](name string, ref *actor.Ref[S]) Host[S] {
	return Host[S]{name: name, ref: ref, byRef: true}
}

// Named is the actor running under name in the dispatcher's runtime,
// looked up with runtime.Lookup each time one of its jobs starts: the
// actor may be spawned, stopped and spawned again, and a job that starts
// while none runs fails with ErrUnreachable (so a later version can put
// hosts on other machines).
func Named[S any](name string) Host[S] { return Host[S]{name: name} }

// resolve returns the actor to run a job on.
func (h Host[S]) resolve(rt *troupe.Runtime) (*actor.Ref[S], error) {
	if h.byRef {
		return h.ref, nil
	}
	ref, err := troupe.Lookup[S](rt, h.name)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrUnreachable, h.name, err)
	}
	return ref, nil
}

// key identifies the actor behind h, so that two registrations of one
// host name can be told apart.
func (h Host[S]) key() any {
	if h.byRef {
		return h.ref
	}
	return reflect.TypeFor[S]()
}

// ProcOption configures Register and RegisterStream: [As], [DecodeWith].
type ProcOption interface{ applyProc(*procConfig) }

type procConfig struct {
	name   string
	decode any // func([]byte) (Q, error)
	err    error
}

type procFunc func(*procConfig)

func (f procFunc) applyProc(c *procConfig) { f(c) }

// As registers the procedure under name instead of its method's name.
// name follows the rules of actor names (else ErrInvalidOption).
func As(name string) ProcOption {
	return procFunc(func(c *procConfig) {
		if err := engine.ValidName(name); err != nil {
			c.err = fmt.Errorf("%w: procedure name: %w", ErrInvalidOption, err)
			return
		}
		c.name = name
	})
}

// DecodeWith decodes the procedure's args from JSON (HTTP submissions, and
// json.RawMessage args given to Submit) with decode instead of encoding/json.
// Empty args (no bytes, or only whitespace) are not decoded: they are the zero
// Q, as nil args are. Q must be the procedure's request type (else
// ErrInvalidOption at registration). decode's error is wrapped in ErrBadArgs,
// and so is its panic, as a *actor.PanicError with its stack (over HTTP: 400,
// type "panic", also "bad_args").
func DecodeWith[Q any](decode func([]byte) (Q, error)) ProcOption {
	return procFunc(func(c *procConfig) {
		if decode == nil {
			c.err = fmt.Errorf("%w: nil decoder", ErrInvalidOption)
			return
		}
		c.decode = decode
	})
}

// Register makes method m of host h a procedure of the dispatcher, named
// after m (or [As]): Submit(ctx, host name, procedure name, args) runs it
// on the host as a sync call whose value is the job's result. m may be a
// deferred method (actor.NewDeferred). Args are m's request type Q, or
// JSON decoded to it (encoding/json, unknown fields refused; or
// [DecodeWith]).
//
// Errors: ErrInvalidOption (a nil or zero dispatcher, a nil method, a method that
// cannot be called, a host without a valid name or with a nil ref, a bad
// option), ErrDuplicate (the procedure is registered on that host, or the
// host name is registered for another actor), ErrClosed. Safe for
// concurrent use; O(procedures) (registration copies the registry, so
// that Submit reads it without a lock).
func Register[S, Q, R any](d *Dispatcher, h Host[S], m *actor.Method[S, Q, R], opts ...ProcOption) error {
	if m == nil {
		return fmt.Errorf("%w: nil method", ErrInvalidOption)
	}
	// A Cast to no actor returns m's construction error, if any, and
	// sends nothing.
	if err := m.Cast(nil, *new(Q)); !errors.Is(err, actor.ErrNilRef) {
		return fmt.Errorf("%w: method: %w", ErrInvalidOption, err)
	}
	p := &methodProc[S, Q, R]{h: h, m: m, barrier: barrierFor[S]()}
	return register(d, h, m.Name(), &p.spec, opts, p)
}

// RegisterStream makes stream method s of host h a procedure: its job
// opens the stream on the host, and the stream's items are the job's
// output (Job.Follow), its end the job's end (a nil result, or the
// stream's error). Items that s's journal drops before the job's copy
// reads them are lost to the output (the copy goes on from the oldest
// kept; SendWait avoids it); the stream's end is not (a stream that
// fails while the copy is behind fails the job). The stream's producer sees the job's cancel,
// max exec and read timeout on its Out.Context (the dispatcher's reader
// leaves); a copy that fell behind does not cancel it.
// Otherwise as Register.
func RegisterStream[S, Q, E any](d *Dispatcher, h Host[S], s *actor.Stream[S, Q, E], opts ...ProcOption) error {
	if s == nil {
		return fmt.Errorf("%w: nil stream", ErrInvalidOption)
	}
	// As for Register: an Open to no actor sends nothing.
	if _, err := s.Open(context.Background(), nil, *new(Q)); !errors.Is(err, actor.ErrNilRef) {
		return fmt.Errorf("%w: stream: %w", ErrInvalidOption, err)
	}
	p := &streamProc[S, Q, E]{h: h, s: s, barrier: barrierFor[S]()}
	return register(d, h, s.Name(), &p.spec, opts, p)
}

// spec is what every procedure knows: its names and how to make its args.
type spec[Q any] struct {
	host   string
	name   string
	decode func([]byte) (Q, error)
}

// procedure is a registered procedure, seen without its types.
type procedure interface {
	// args returns v as the procedure's request (boxed), from a Q, from
	// JSON (json.RawMessage or []byte), or the zero Q for nil.
	args(v any) (any, error)
	// run runs job j to its end; see run.go.
	run(r *runner, j *Job) outcome
	// start runs job j, marked running, holding a slot of q (nil for
	// none), without a runner, if it can, and reports whether it did (see
	// run.go): j then ends, and is released, on the goroutine that
	// settles its call.
	start(d *Dispatcher, q *queue, j *Job) bool
}

func (s *spec[Q]) args(v any) (any, error) {
	switch a := v.(type) {
	case Q:
		return a, nil
	case nil:
		return *new(Q), nil
	case json.RawMessage:
		return s.decodeArgs(a)
	case []byte:
		return s.decodeArgs(a)
	}
	return nil, fmt.Errorf("%w: %s/%s takes %v, got %T", ErrBadArgs, s.host, s.name, reflect.TypeFor[Q](), v)
}

// emptyJSON reports whether JSON args are empty (no bytes, or only
// whitespace): they mean the procedure's zero value, as nil args do, in
// memory and with a backend, and are not handed to its decoder.
func emptyJSON(b []byte) bool { return len(bytes.TrimSpace(b)) == 0 }

// decodeArgs decodes JSON args with the procedure's decoder; empty ones
// are the zero Q. A panic of the decoder (the user's, DecodeWith) is the
// args' error, a *actor.PanicError "jobs.decode" with its stack: it runs
// on Submit's caller, an HTTP request's goroutine, or a backend's
// executor.
func (s *spec[Q]) decodeArgs(b []byte) (any, error) {
	if emptyJSON(b) {
		return *new(Q), nil
	}
	q, err := s.safeDecode(b)
	if err != nil {
		return nil, fmt.Errorf("%w: %s/%s: %w", ErrBadArgs, s.host, s.name, err)
	}
	return q, nil
}

// safeDecode runs the decoder, recovering its panic as a
// *actor.PanicError.
func (s *spec[Q]) safeDecode(b []byte) (q Q, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &actor.PanicError{Method: "jobs.decode", Value: v, Stack: debug.Stack()}
		}
	}()
	return s.decode(b)
}

// decodeJSON is the default decoder: strict encoding/json (unknown fields
// and trailing data refused); empty input or null is the zero Q.
func decodeJSON[Q any](b []byte) (Q, error) {
	var q Q
	if len(bytes.TrimSpace(b)) == 0 {
		return q, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&q); err != nil {
		return q, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return q, errors.New("trailing data after the args")
	}
	return q, nil
}

// hostEntry is a host in the registry: its actor's key and procedures.
type hostEntry struct {
	key   any
	procs map[string]procedure
}

// registry maps host names to their procedures; immutable once published.
type registry map[string]*hostEntry

func register[S, Q any](d *Dispatcher, h Host[S], name string, sp *spec[Q], opts []ProcOption, p procedure) error {
	if !d.made() {
		return fmt.Errorf("%w: nil dispatcher, or one not made by New", ErrInvalidOption)
	}
	if err := engine.ValidName(h.name); err != nil {
		return fmt.Errorf("%w: host name: %w", ErrInvalidOption, err)
	}
	if h.byRef && h.ref == nil {
		return fmt.Errorf("%w: host %s: nil ref", ErrInvalidOption, h.name)
	}
	c := procConfig{name: name}
	for _, o := range opts {
		if o == nil {
			return fmt.Errorf("%w: nil option", ErrInvalidOption)
		}
		o.applyProc(&c)
		if c.err != nil {
			return c.err
		}
	}
	sp.host, sp.name, sp.decode = h.name, c.name, decodeJSON[Q]
	if c.decode != nil {
		dec, ok := c.decode.(func([]byte) (Q, error))
		if !ok {
			return fmt.Errorf("%w: %s/%s: decoder %T for args of type %v", ErrInvalidOption, h.name, c.name, c.decode, reflect.TypeFor[Q]())
		}
		sp.decode = dec
	}
	d.regMu.Lock()
	defer d.regMu.Unlock()
	if d.closing() {
		return ErrClosed
	}
	old := *d.reg.Load()
	he := old[h.name]
	switch {
	case he == nil:
		he = &hostEntry{key: h.key(), procs: map[string]procedure{}}
	case he.key != h.key():
		return fmt.Errorf("%w: host %s is another actor", ErrDuplicate, h.name)
	case he.procs[c.name] != nil:
		return fmt.Errorf("%w: procedure %s/%s", ErrDuplicate, h.name, c.name)
	}
	next := maps.Clone(old)
	if next == nil {
		next = registry{}
	}
	procs := maps.Clone(he.procs)
	procs[c.name] = p
	next[h.name] = &hostEntry{key: he.key, procs: procs}
	d.reg.Store(&next)
	if d.b != nil { // after the store: a job handed over at once finds its procedure
		ctx, cancel := context.WithTimeout(d.life, DefaultBackendTimeout)
		err := d.b.Serve(ctx, h.name, c.name)
		cancel()
		if err != nil {
			d.reg.Store(&old)
			return fmt.Errorf("jobs: serve %s/%s: %w", h.name, c.name, err)
		}
	}
	return nil
}

// lookup finds a registered procedure. O(1), no lock.
func (d *Dispatcher) lookup(host, name string) (procedure, error) {
	he := (*d.reg.Load())[host]
	if he == nil {
		return nil, fmt.Errorf("%w: %q", ErrUnknownHost, host)
	}
	p := he.procs[name]
	if p == nil {
		return nil, fmt.Errorf("%w: %q on %s", ErrUnknownProcedure, name, host)
	}
	return p, nil
}
