package actor

import (
	"context"

	"github.com/troupe-go/troupe/internal/engine"
)

// CastInline is Cast for a sender that waits for the handler anyway (a
// connection's reader waiting for its frame to be handled): if the actor
// is idle, its turn runs right here, on the calling goroutine, before
// CastInline returns, instead of on a scheduler loop, saving the two
// goroutine hand-offs (wake the loop, wake the sender) that dominate a
// request/response over a socket (measured on serve's echo: 1.43× → 1.09×
// raw Go's time). The turn takes at most inlineBudget messages; what is
// left goes to the scheduler. An actor already running, paused or
// owner-driven gets the message as with Cast.
//
// The sender lends its goroutine: it returns only once the turn does,
// however long the handler takes, and a handler that never returns keeps
// it. So it is sealed: only troupe's own packages can call it (serve's
// connections), which bound what they wait for. Errors as Cast's.
func (m *Method[S, Q, R]) CastInline(_ engine.Seal, to *Ref[S], req Q) error {
	if err := m.check(to); err != nil {
		return err
	}
	c := &to.c
	e, b := m.oneway(req)
	if err := c.pushInline(e); err != nil {
		m.unsent(c, b, req, err)
		return err
	}
	return nil
}

// inlineBudget is the most messages an inline turn takes.
const inlineBudget = 16

// pushInline is push, but a push that takes the scheduled flag runs the
// turn on this goroutine (see CastInline); an owner-driven actor's owner
// is woken as usual.
func (c *cell) pushInline(e envelope) error {
	sched, err := c.enqueue(context.Background(), e)
	if err != nil || !sched {
		return err
	}
	if c.owner != nil {
		c.schedule()
		return nil
	}
	x := getCtx(c)
	more := c.turn(x, inlineBudget, nil)
	putCtx(x)
	if more {
		c.schedule()
	}
	return nil
}

// AskUnwatched is Ask for a caller that watches ctx itself (remote's
// served calls, which select on the future's Done and on ctx): the call is
// queued as by Ask, with ctx's deadline (or the default one), but its
// future is not settled when ctx ends — a call whose ctx has ended when
// the actor reaches it does not run (a dead letter, as for Ask), and one
// that runs settles when its handler returns. It saves Ask's watch of ctx
// (a context.AfterFunc: about 0.7 µs and five allocations on a fresh
// ctx). A ctx that implements engine.Gate is asked on the call's turn
// whether it still may run. The caller must stop waiting on the future when ctx ends, so it is
// sealed: only troupe's own packages can call it. Errors as Ask's.
func (m *Method[S, Q, R]) AskUnwatched(_ engine.Seal, ctx context.Context, to *Ref[S], req Q) *Future[R] {
	return m.ask(ctx, to, req, false)
}

// CallThen sends req as a call with ctx, queued as by AskUnwatched, and
// hands its outcome to then instead of a Future. If the call cannot be
// queued, CallThen returns the refusal, as Ask's future would hold it,
// and then is not called. Otherwise it returns nil, and then(v, err) is
// called exactly once, on the goroutine that settles the call (the
// actor's turn as the handler returns, the replying goroutine of a
// deferred Reply, the wheel's at a default deadline), so it must be
// short, and must neither block nor panic. ctx is not watched: a call
// whose ctx has ended when the actor reaches it does not run (then gets
// ctx's error), and one that runs settles when its handler returns. It
// saves the caller a goroutine that would wait for the reply (jobs' runs:
// the goroutine hand-offs to and from it are most of a short job's
// latency).
//
// The soft back-pressure of a flooded mailbox is skipped. To a bounded
// mailbox (see Unbounded) that is full, the send is as Ask's: it waits
// for room (Block, bounded by ctx), is refused (Reject), or evicts the
// oldest call (DropOldest), whose own outcome is then settled on this
// goroutine. Sealed: only troupe's own packages can call it. Errors:
// Ask's refusals.
func (m *Method[S, Q, R]) CallThen(_ engine.Seal, ctx context.Context, to *Ref[S], req Q, then func(R, error)) error {
	if ctx == nil {
		return ErrNilContext
	}
	if err := m.check(to); err != nil {
		return err
	}
	c := &to.c
	cl := m.makeCall(ctx, req)
	_, cl.gated = ctx.(engine.Gate)
	hook := func() bool { then(cl.val, cl.err); return true }
	// Before the call can be settled, by its default deadline too, which
	// may fire as soon as it is armed: a settle that found no hook would
	// leave then uncalled.
	cl.unwatch.Store(&hook)
	if err := cl.arm(c.sys); err != nil {
		return err // never armed: nothing settles it
	}
	sched, err := c.enqueue(ctx, envelope{msg: &cl.self})
	if err != nil {
		c.refused(m.label, err, nil)
		if cl.unwatch.Swap(nil) == nil {
			// A default deadline settled it while a Block-policy send
			// waited, and handed that outcome on.
			return nil
		}
		var zero R
		cl.settle(zero, err)
		return err
	}
	if sched {
		c.schedule()
	}
	return nil
}

// Unbounded reports whether r's mailbox has no capacity bound: a send to
// it never waits for room, is never refused for want of it, and never
// evicts another (see WithMailbox). It does not change over r's life.
// Sealed.
func (r *Ref[S]) Unbounded(engine.Seal) bool {
	return r.valid() && !r.c.mb.Bounded()
}
