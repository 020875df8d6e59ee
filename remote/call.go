package remote

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/troupe-go/troupe/actor"
)

// Call sends req and waits for the outcome, exactly one of: the reply; the
// handler's error as an [*Error] (its message and stable code); a
// [*PanicError] with the remote stack; ErrTimeout (also actor.ErrTimeout
// and context.DeadlineExceeded) when ctx's deadline — or the node's call
// timeout if ctx has none — passes first; ErrStopped, ErrMailboxFull,
// ErrCallCycle as for a local call; ErrNotFound if nothing serves the
// name and method; ErrTooLarge, ErrUnauthorized, ErrBadRequest if the
// serving node refused it; ErrCodec; ErrClosed; ErrUnavailable if the
// connection is down and cannot take the request; or ctx's cause if ctx is
// cancelled (the serving node is told, and the handler's Context ends).
// The remaining time travels with the request. Made from inside a
// handler, pass c.Context() so the deadline and the call chain travel on.
// Blocks; safe for concurrent use. Cost: one NATS request/reply, the
// codec's work and an actor call: about 1.2× a bare nats.go request/reply
// with the same payload and codec, 53 allocations against its 44
// (BenchmarkRemoteCall, BenchmarkRemoteCallRatio).
func (b *Binding[Q, R]) Call(ctx context.Context, req Q) (R, error) {
	var zero R
	if b == nil {
		return zero, ErrNilRef
	}
	p, tok, err := b.send(ctx, req, nil)
	if err != nil {
		return zero, err
	}
	var timeout <-chan time.Time
	if _, ok := ctx.Deadline(); !ok {
		t := time.NewTimer(b.n.cfg.callTimeout)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-p.done:
	case <-ctx.Done():
		b.giveUp(p, tok, ctxErr(ctx, b.label), cancelled(ctx))
	case <-timeout:
		b.giveUp(p, tok, timeoutFor(b.label), false)
	}
	<-p.done // a reply that won the race is written before done closes
	return b.outcome(p)
}

// Ask sends req and returns at once with a future of the outcome (the
// same outcomes as Call). The call has ctx's deadline (or the node's call
// timeout) and is abandoned — the serving node told — if ctx is cancelled.
// A future that cannot be sent is returned already failed.
func (b *Binding[Q, R]) Ask(ctx context.Context, req Q) *Future[R] {
	if b == nil {
		return &Future[R]{p: failedPending(ErrNilRef)}
	}
	f := &Future[R]{out: b.outcome}
	wctx, cancel := ctx, context.CancelFunc(func() {})
	if ctx != nil {
		wctx, cancel = callBound(ctx, b.n.cfgCallTimeout())
	}
	var stop atomic.Pointer[func() bool]
	p, tok, err := b.send(ctx, req, func() {
		if s := stop.Load(); s != nil {
			(*s)()
		}
		cancel()
	})
	if err != nil {
		cancel()
		f.p = failedPending(err)
		return f
	}
	f.p = p
	s := context.AfterFunc(wctx, func() {
		err := timeoutFor(b.label)
		if ctx.Err() != nil {
			err = ctxErr(ctx, b.label)
		}
		b.giveUp(p, tok, err, cancelled(ctx))
	})
	stop.Store(&s)
	if p.settled.Load() {
		s() // settled before the watch was stored
	}
	return f
}

// send registers and publishes a request.
func (b *Binding[Q, R]) send(ctx context.Context, req Q, after func()) (*pending, uint64, error) {
	if b.err != nil {
		return nil, 0, b.err
	}
	if b.n == nil { // a zero Binding: not made by Bind
		return nil, 0, ErrNilRef
	}
	if ctx == nil {
		return nil, 0, actor.ErrNilContext
	}
	if ctx.Err() != nil {
		return nil, 0, ctxErr(ctx, b.label)
	}
	n := b.n
	if err := n.open(); err != nil {
		return nil, 0, err
	}
	data, err := b.cfg.codec.Marshal(req)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: encode %s: %w", ErrCodec, b.label, err)
	}
	remaining := callRemaining(ctx, n.cfg.callTimeout)
	p := &pending{done: make(chan struct{}), after: after}
	tok, err := n.calls.add(p)
	if err != nil {
		return nil, 0, err
	}
	rh := reqHeaders.Get().(*reqHeader)
	b.fillHeader(rh.h, ctx, &rh.chain)
	rh.timeout[0] = encodeTimeout(remaining)
	rh.h[hdrTimeout] = rh.timeout[:]
	err = n.nc.PublishMsg(&nats.Msg{Subject: b.subj, Reply: n.replySubject(tok), Data: data, Header: rh.h})
	rh.release()
	if err != nil {
		n.calls.take(tok)
		return nil, 0, n.publishErr(err)
	}
	return p, tok, nil
}

// header builds a request's headers: the binding's, the codec's, and the
// chain ctx carries.
func (b *Binding[Q, R]) header(ctx context.Context) nats.Header {
	h := make(nats.Header, len(b.cfg.header)+3)
	b.fillHeader(h, ctx, nil)
	return h
}

// fillHeader puts a request's headers in h: the binding's, the codec's,
// and the chain ctx carries (in chain, if not nil, rather than a new
// slice).
func (b *Binding[Q, R]) fillHeader(h nats.Header, ctx context.Context, chain *[1]string) {
	for k, v := range b.cfg.header {
		h[k] = v
	}
	if b.codecHdr != nil {
		h[hdrCodec] = b.codecHdr
	}
	if ctx != nil {
		if c := b.n.callerChain(ctx); c != "" {
			if chain == nil {
				chain = new([1]string)
			}
			chain[0] = c
			h[hdrChain] = chain[:]
		}
	}
}

// reqHeader is a call's headers, recycled through reqHeaders: nats.go
// copies them into its write buffer before PublishMsg returns, so they
// are free again as soon as the request is published. A fresh nats.Header
// costs a map and its first group (about 400 bytes) and a slice per
// value, on every call.
type reqHeader struct {
	h       nats.Header
	timeout [1]string // Troupe-Timeout's value
	chain   [1]string // Troupe-Chain's value
}

var reqHeaders = sync.Pool{New: func() any { return &reqHeader{h: make(nats.Header, 4)} }}

// release empties rh (keeping the map's room) and returns it to the pool.
func (rh *reqHeader) release() {
	clear(rh.h)
	rh.timeout[0], rh.chain[0] = "", ""
	reqHeaders.Put(rh)
}

// giveUp ends a call whose caller stopped waiting, unless its reply won the
// race; a cancelled (not expired) call is cancelled on the serving node.
func (b *Binding[Q, R]) giveUp(p *pending, tok uint64, err error, cancel bool) {
	b.n.calls.take(tok)
	if p.settle(nil, err) && cancel {
		_ = b.n.nc.Publish(b.n.cfg.prefix+"._cancel", []byte(b.n.replySubject(tok)))
	}
}

// outcome decodes a settled call.
func (b *Binding[Q, R]) outcome(p *pending) (R, error) {
	var zero R
	if p.err != nil {
		return zero, p.err
	}
	m := p.msg
	switch {
	case len(m.Data) == 0 && m.Header.Get(hdrStatus) == "503":
		return zero, fmt.Errorf("%w: %s", ErrNotFound, b.label)
	case m.Header.Get(micro.ErrorCodeHeader) != "":
		// Whatever its size, as a stream open's: a serving node cuts an
		// error's body to its own cap, which may be larger than ours,
		// and the caller is owed the error with its code, not ErrTooLarge.
		return zero, errorFrom(m, b.label)
	case len(m.Data) > b.n.cfg.maxMessage:
		return zero, fmt.Errorf("%w: reply of %d bytes from %s", ErrTooLarge, len(m.Data), b.label)
	}
	var v R
	if err := unmarshal(b.cfg.codec, m.Data, &v); err != nil {
		return zero, fmt.Errorf("%w: decode reply of %s: %w", ErrCodec, b.label, err)
	}
	return v, nil
}

// publishErr maps nats.go's publish errors to ours.
func (n *Node) publishErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, nats.ErrNoResponders):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case errors.Is(err, nats.ErrMaxPayload):
		return fmt.Errorf("%w: %w", ErrTooLarge, err)
	case errors.Is(err, nats.ErrBadSubject):
		return fmt.Errorf("%w: %w", ErrBadRequest, err)
	case errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, nats.ErrConnectionDraining):
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	// nats.ErrReconnectBufExceeded (disconnected, its buffer full), or a
	// write that failed: not sent, and maybe sendable later.
	return fmt.Errorf("%w: publish: %w", ErrUnavailable, err)
}

// timeoutFor is ErrTimeout naming the call.
func timeoutFor(label string) error { return fmt.Errorf("%w (%s)", ErrTimeout, label) }

// callBound bounds ctx as a call is: by its deadline, or by timeout (the
// node's call timeout) if it has none. cancel releases the timer (a no-op
// for a ctx with a deadline).
func callBound(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, timeout)
}

// callRemaining is what callBound leaves of ctx now: the time to its
// deadline, or timeout if it has none (sent with a request, as its
// timeout header).
func callRemaining(ctx context.Context, timeout time.Duration) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return time.Until(d)
	}
	return timeout
}

// cancelled reports whether ctx was cancelled rather than expired,
// whatever its cause (which may wrap context.DeadlineExceeded: an
// upstream's timeout passed on).
func cancelled(ctx context.Context) bool { return errors.Is(ctx.Err(), context.Canceled) }

// ctxErr maps a finished caller ctx to the call's outcome.
func ctxErr(ctx context.Context, label string) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return timeoutFor(label)
	}
	return fmt.Errorf("remote: call %s: %w", label, context.Cause(ctx))
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()
