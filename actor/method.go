package actor

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/troupe-go/troupe/internal/engine"

	"github.com/troupe-go/troupe/mailbox"
)

var nextKey atomic.Uint64 // method keys, from 1 (0 is the system lane's); 64 bits never wrap

// Method is a typed, named entry point of actors of state type S: requests
// of type Q, replies of type R. Make one per operation with [NewMethod],
// usually as a package-level var, and call it with Call (sync), Cast
// (oneway) or Ask (a future). A Method is immutable and safe for concurrent
// use.
type Method[S, Q, R any] struct {
	label string
	fn    func(S, *Ctx, Q) (R, error)
	dfn   func(S, *Ctx, Q, *Reply[R]) // NewDeferred's handler (fn then serves oneways); see deferred.go
	k     mailbox.Key
	carry carry           // how a oneway's payload travels; see cast.go
	boxes *boxes[S, Q, R] // castMsgs, if they carry the payloads; see cast.go
	self  message         // the method as its oneways' message (see envelope)
	err   error           // construction error, returned by every call
}

// NewMethod makes a method. It never panics: an invalid name or a nil fn
// makes a method whose every call returns ErrInvalidName or ErrNilHandler.
func NewMethod[S, Q, R any](name string, fn func(state S, c *Ctx, req Q) (R, error)) *Method[S, Q, R] {
	m := &Method[S, Q, R]{label: name, fn: fn, k: mailbox.Key(nextKey.Add(1)), carry: carriage[Q]()}
	m.self = m
	if m.carry == carryBox {
		m.boxes = &boxes[S, Q, R]{}
	}
	if err := engine.ValidName(name); err != nil {
		m.err = fmt.Errorf("method %q: %w", name, err)
	} else if fn == nil {
		m.err = fmt.Errorf("method %q: %w", name, ErrNilHandler)
	}
	return m
}

// Name is the method's name, as reported in errors and dead letters ("" for
// a nil Method).
func (m *Method[S, Q, R]) Name() string {
	if m == nil {
		return ""
	}
	return m.label
}

func (m *Method[S, Q, R]) check(to *Ref[S]) error {
	if err := m.usable(); err != nil {
		return err
	}
	if !to.valid() {
		return ErrNilRef
	}
	return nil
}

// usable reports why m cannot be called, or nil. Every method NewMethod
// makes has a key; one without (a zero Method, not made by it) has no
// handler either, and its key would be the system lane's.
func (m *Method[S, Q, R]) usable() error {
	if m == nil || m.k == 0 {
		return ErrNilHandler
	}
	return m.err
}

// Cast sends req one way: it returns once the message is queued, with an
// error only if it could not be (ErrStopped, ErrMailboxFull, ErrNilRef,
// ErrNilHandler, ErrInvalidName). The handler's error or panic goes to the
// runtime's dead letters (Reason engine.ReasonFailed). Safe for concurrent use;
// allocates nothing in steady state, whatever req's type (one pointer, or a
// value of at most 16 bytes without pointers, travels in the message's
// envelope; any other value in a recycled box: see cast.go).
func (m *Method[S, Q, R]) Cast(to *Ref[S], req Q) error {
	if err := m.check(to); err != nil {
		return err
	}
	if m.boxes != nil {
		return m.castBoxed(&to.c, req)
	}
	// The envelope is built here, not with oneway: the call and its two
	// results cost 10–20% of a 1→1 oneway (measured).
	c := &to.c
	if err := c.push(context.Background(), envelope{msg: &m.self, payload: m.encode(req)}); err != nil {
		m.unsent(c, nil, req, err)
		return err
	}
	return nil
}

// castBoxed is Cast for a payload carried in a castMsg.
func (m *Method[S, Q, R]) castBoxed(c *cell, req Q) error {
	b := m.box(req)
	if err := c.push(context.Background(), envelope{msg: &b.self}); err != nil {
		m.unsent(c, b, req, err)
		return err
	}
	return nil
}

// unsent reports a oneway that could not be queued (and frees its box).
func (m *Method[S, Q, R]) unsent(c *cell, b *castMsg[S, Q, R], req Q, err error) {
	if b != nil {
		b.free()
	}
	c.refused(m.label, err, req)
}

// oneway is the envelope of a oneway carrying req: in the envelope itself
// if it fits there, else in a box (returned too, to free if the envelope
// is not queued).
func (m *Method[S, Q, R]) oneway(req Q) (envelope, *castMsg[S, Q, R]) {
	if m.boxes == nil {
		return envelope{msg: &m.self, payload: m.encode(req)}, nil
	}
	b := m.box(req)
	return envelope{msg: &b.self}, b
}

// Call sends req and waits for the reply: exactly one of the reply, the
// handler's error, a *PanicError, or a sentinel (ErrTimeout, ErrStopped,
// ErrMailboxFull, ErrDropped, ErrCallCycle, ctx's cancellation). The
// deadline is ctx's, or the runtime's call timeout if ctx has none. Made
// from inside a handler, pass c.Context() as ctx so cycles are detected
// and the caller's deadline travels on. Blocks; safe for concurrent use;
// two allocations when ctx has a deadline.
func (m *Method[S, Q, R]) Call(ctx context.Context, to *Ref[S], req Q) (R, error) {
	var zero R
	if ctx == nil {
		return zero, ErrNilContext
	}
	if err := m.check(to); err != nil {
		return zero, err
	}
	if err := ctx.Err(); err != nil {
		return zero, ctxErr(ctx, m.label)
	}
	c := &to.c
	cl, err := m.newCall(c, ctx, req)
	if err != nil {
		return zero, err
	}
	caller := callerOf(ctx)
	if caller != nil {
		cl.edge.to.Store(c)
		if err := enterCall(caller, &cl.edge, m.label); err != nil {
			cl.stopTimer()
			return zero, err
		}
		defer caller.waitingOn.Store(nil)
	}
	if err := c.push(ctx, envelope{msg: &cl.self}); err != nil {
		cl.stopTimer()
		c.refused(m.label, err, nil)
		return zero, err
	}
	if caller.lend() {
		defer caller.reclaim()
	}
	select {
	case <-cl.done:
	case <-ctx.Done():
		cl.settle(zero, ctxErr(ctx, m.label))
		<-cl.done
	}
	cl.stopTimer()
	return cl.val, cl.err
}

// Ask sends req and returns with a future of the reply: at once, unless
// the actor's mailbox is full under the Block policy, where it waits for
// room as Call does, bounded by ctx (or the runtime's call timeout), and
// then returns a future already failed with ErrMailboxFull. The call
// has ctx's deadline (or the runtime's call timeout) and is abandoned if
// ctx is cancelled before the actor starts it. A future that cannot be
// sent is returned already failed.
func (m *Method[S, Q, R]) Ask(ctx context.Context, to *Ref[S], req Q) *Future[R] {
	return m.ask(ctx, to, req, true)
}

// ask is Ask; watch is false for AskUnwatched.
func (m *Method[S, Q, R]) ask(ctx context.Context, to *Ref[S], req Q, watch bool) *Future[R] {
	var zero R
	if ctx == nil {
		return failedFuture[R](ErrNilContext)
	}
	if err := m.check(to); err != nil {
		return failedFuture[R](err)
	}
	c := &to.c
	cl, err := m.newCall(c, ctx, req)
	if err != nil {
		return failedFuture[R](err)
	}
	cl.asked = true
	if !watch {
		_, cl.gated = ctx.(engine.Gate)
	}
	// Queue first, then watch ctx: a push refused by a full mailbox
	// (after waiting out ctx on a Block policy) is ErrMailboxFull, as for
	// Call, not the ctx's expiry racing it.
	if err := c.push(ctx, envelope{msg: &cl.self}); err != nil {
		if !cl.settle(zero, err) {
			// The default deadline fired while a Block-policy push
			// waited, as that wait ended: the refusal is the outcome,
			// as for Call. Nobody has the future yet to see the other.
			<-cl.done
			cl.err = err
		}
		c.refused(m.label, err, nil)
		return &cl.Future
	}
	if watch && ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { cl.settle(zero, ctxErr(ctx, m.label)) })
		cl.unwatch.Store(&stop)
		if cl.state.Load() == callDone {
			stop() // settled before the watch was stored
		}
	}
	cl.edge.to.Store(c)
	cl.Future.call = cl
	return &cl.Future
}

// newCall makes a call, armed with the default timeout if ctx has no
// deadline (on the runtime's timer wheel).
func (m *Method[S, Q, R]) newCall(to *cell, ctx context.Context, req Q) (*call[S, Q, R], error) {
	cl := m.makeCall(ctx, req)
	if err := cl.arm(to.sys); err != nil {
		return nil, err
	}
	return cl, nil
}

// makeCall makes a call, not yet armed: arm it (see call.arm) once
// whatever its settle must find is in place, as the default deadline may
// settle it as soon as it is armed.
func (m *Method[S, Q, R]) makeCall(ctx context.Context, req Q) *call[S, Q, R] {
	cl := &call[S, Q, R]{m: m, req: req, ctx: ctx}
	cl.self = cl
	cl.done = make(chan struct{})
	cl.edge.done = cl.done
	return cl
}

// run handles a oneway.
func (m *Method[S, Q, R]) run(x *Ctx, p payload) {
	m.handle(x, m.decode(&p))
}

// handle runs a oneway's handler on the actor's turn; its error is a dead
// letter with the payload.
func (m *Method[S, Q, R]) handle(x *Ctx, q Q) {
	if _, err := m.fn(x.c.state.(S), x, q); err != nil {
		x.c.deadLetter(engine.ReasonFailed, m.label, err, q)
	}
}

func (m *Method[S, Q, R]) key() mailbox.Key { return m.k }
func (m *Method[S, Q, R]) name() string     { return m.label }
func (m *Method[S, Q, R]) live() bool       { return true }

func (m *Method[S, Q, R]) fail(to *cell, p payload, err error, why uint8) {
	to.deadLetter(why, m.label, err, m.decode(&p))
}

// refused reports a message its sender could not queue. The sender is
// told too; the dead letter keeps the counters whole.
func (c *cell) refused(method string, err error, payload any) {
	why := engine.ReasonMailboxFull
	if errors.Is(err, ErrStopped) {
		why = engine.ReasonStopped
	}
	c.deadLetter(why, method, err, payload)
}
