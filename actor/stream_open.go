package actor

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/troupe-go/troupe/internal/engine"
	"github.com/troupe-go/troupe/mailbox"
	"github.com/troupe-go/troupe/timer"
)

// Open sends req to the actor's stream handler and returns a reader of
// the stream it produces, positioned by opts (by default at the oldest
// item kept when Open returns: every item, unless the handler's turn sent
// more than the journal keeps; Recent also counts from then). It waits
// until the handler's turn has run, so that a refusal
// (ErrStopped, ErrMailboxFull, ErrDropped), an expiry (ErrTimeout),
// a cycle (ErrCallCycle), the end of ctx, or a handler that failed before
// its stream held any item (its error, or a [*PanicError]) are returned
// here, with the same sentinels as [Method.Call]. That wait is bounded by
// ctx's deadline, or the runtime's call timeout if ctx has none. A
// handler that fails after sending items does not fail Open: its error is
// the last pair of the reader's All. An Open that fails once the
// handler's turn has begun (ctx ended, or the wait expired, mid-turn)
// ends the stream that turn made, with Open's error, unless a reader
// followed it by id meanwhile: nobody else could read it. The producer's
// Sends then fail with ErrStreamClosed and its Out.Context is cancelled;
// an error the handler returns later is a dead letter.
//
// ctx then bounds the reader: when it ends, the reader detaches (see
// [Follow]). Pass a ctx without a deadline to follow a stream for longer
// than a call lasts. Made inside a handler, pass c.Context(): cycles are
// detected and the worker is lent while Open waits (the reader then lasts
// until the handler returns). Also ErrNilContext, ErrNilRef, ErrNilHandler,
// ErrInvalidName, ErrInvalidOption, ErrNegativeDuration. Blocks; safe for
// concurrent use; about 10 allocations (13 with a ctx that has a
// deadline), the reader's included.
func (s *Stream[S, Q, E]) Open(ctx context.Context, to *Ref[S], req Q, opts ...FollowOption) (*Follow[E], error) {
	if ctx == nil {
		return nil, ErrNilContext
	}
	if err := s.check(to); err != nil {
		return nil, err
	}
	cfg, err := followConfigOf(opts)
	if err != nil {
		return nil, err
	}
	if ctx.Err() != nil {
		return nil, ctxErr(ctx, s.label)
	}
	c := &to.c
	cl, f, err := s.newCall(ctx, c.sys, c, req, cfg)
	if err != nil {
		return nil, err
	}
	caller := callerOf(ctx)
	if caller != nil {
		cl.edge.to.Store(c)
		if err := enterCall(caller, &cl.edge, s.label); err != nil {
			cl.refused(err)
			return nil, err
		}
		defer caller.waitingOn.Store(nil)
	}
	if err := c.push(ctx, envelope{msg: &cl.self}); err != nil {
		cl.refused(err)
		c.refused(s.label, err, nil)
		return nil, err
	}
	if caller.lend() {
		defer caller.reclaim()
	}
	return cl.await(ctx, f, cfg)
}

// newCall makes the opening request of a stream produced by owner (nil
// until a pool's worker takes it), its journal and the reader Open
// returns, armed with the default timeout if ctx has none.
func (s *Stream[S, Q, E]) newCall(ctx context.Context, sys *engine.System, owner *cell, req Q, cfg followConfig) (*streamCall[S, Q, E], *Follow[E], error) {
	j := newJournal(owner, s.label, s.k, s.lim)
	f := j.newFollow(ctx, cfg)
	cl := &streamCall[S, Q, E]{s: s, req: req, ctx: ctx, j: j, done: make(chan struct{})}
	cl.gate, _ = ctx.(engine.Gate)
	cl.self = cl
	cl.edge.done = cl.done
	if err := cl.arm(sys); err != nil {
		j.end(err, true)
		return nil, nil, err
	}
	return cl, f, nil
}

// refused ends a request that could not be queued.
func (cl *streamCall[S, Q, E]) refused(err error) {
	cl.stopTimer()
	cl.j.end(err, true)
}

// await waits until the handler's turn has run (or the request failed,
// or ctx ended) and returns the reader placed by cfg.
func (cl *streamCall[S, Q, E]) await(ctx context.Context, f *Follow[E], cfg followConfig) (*Follow[E], error) {
	select {
	case <-cl.done:
	case <-ctx.Done():
		cl.settle(ctxErr(ctx, cl.s.label))
		<-cl.done
	}
	cl.stopTimer()
	if cl.err != nil {
		// A stream Open gave up on (ctx, deadline, call timeout) while
		// its handler's turn ran exists, read by nobody: it ends, unless
		// a reader followed it by id meanwhile. (A failed stream has
		// ended already; one whose turn never ran ends here too, before
		// the request is dequeued.)
		f.detach(cl.err)
		cl.j.abandon(cl.err)
		return nil, cl.err
	}
	if !cfg.hasSince {
		// Until now the reader was at 0, so that nothing the handler
		// sent could be lost to it; Recent and the default count from
		// the stream as the handler left it.
		j := cl.j
		j.mu.Lock()
		if from := f.next; !f.done {
			f.placeLocked(cfg)
			j.movedLocked(from, f.next)
		}
		j.mu.Unlock()
	}
	f.watch()
	return f, nil
}

// Follow attaches another reader to the open stream id of this method on
// actor to (harp's rpc.job(id).follow): id is a reader's [Follow.ID] or the
// producer's [Out.ID]. It does not send anything to the actor and does not
// block. The reader lives until ctx ends or it is detached. A stream that
// has ended is no longer found: ErrNoStream (ErrStopped if the actor has
// stopped); to keep streams for readers after their end, keep their Out
// and use [Out.Follow]. Also ErrNilContext, ErrNilRef, ErrNilHandler,
// ErrInvalidName, ErrInvalidOption, ErrNegativeDuration. Safe for
// concurrent use; a few allocations.
func (s *Stream[S, Q, E]) Follow(ctx context.Context, to *Ref[S], id uint64, opts ...FollowOption) (*Follow[E], error) {
	if ctx == nil {
		return nil, ErrNilContext
	}
	if err := s.check(to); err != nil {
		return nil, err
	}
	cfg, err := followConfigOf(opts)
	if err != nil {
		return nil, err
	}
	j, ok := to.c.stream(id).(*journal[E])
	if !ok || j.key != s.k {
		if to.Stopped() {
			return nil, ErrStopped
		}
		return nil, fmt.Errorf("%w: %d of %s on %s", ErrNoStream, id, s.label, &to.c)
	}
	f := j.newFollow(ctx, cfg)
	f.watch()
	return f, nil
}

// streamCall is a stream's opening request in flight: like a call, with
// the journal instead of a reply. Its outcome is nil once the handler's
// turn has run (the stream exists), else why Open fails.
type streamCall[S, Q, E any] struct {
	self  message // the streamCall itself (see envelope)
	s     *Stream[S, Q, E]
	req   Q
	ctx   context.Context
	gate  engine.Gate // ctx as an engine.Gate, or nil
	j     *journal[E]
	state atomic.Uint32 // callPending → callRunning → callDone
	done  chan struct{} // closed by the settle winner once err is written
	err   error
	tm    timer.Timer // fires the default deadline, if armed
	armed bool
	edge  waitEdge // the wait for it, for the cycle check
}

// arm gives the call the default timeout if ctx has no deadline (as
// call.arm).
func (cl *streamCall[S, Q, E]) arm(sys *engine.System) error {
	if _, ok := cl.ctx.Deadline(); ok {
		return nil
	}
	cl.armed = true
	if err := sys.Wheel.Start(&cl.tm, sys.CallTimeout, cl); err != nil {
		cl.armed = false
		return ErrStopped
	}
	return nil
}

// Fire is the default deadline's callback, on the wheel's goroutine.
func (cl *streamCall[S, Q, E]) Fire() { cl.settle(timeoutFor(cl.s.label)) }

// Dropped: the wheel stopped with the default deadline pending (as
// call.Dropped): Open fails with ErrStopped.
func (cl *streamCall[S, Q, E]) Dropped() { cl.settle(ErrStopped) }

// settle moves the call to done with err; it reports whether it won.
func (cl *streamCall[S, Q, E]) settle(err error) bool {
	if !cl.state.CompareAndSwap(callPending, callDone) && !cl.state.CompareAndSwap(callRunning, callDone) {
		return false
	}
	cl.err = err
	close(cl.done)
	cl.stopTimer()
	return true
}

func (cl *streamCall[S, Q, E]) stopTimer() {
	if cl.armed {
		cl.tm.Stop()
	}
}

func (cl *streamCall[S, Q, E]) key() mailbox.Key { return cl.s.k }
func (cl *streamCall[S, Q, E]) name() string     { return cl.s.label }
func (cl *streamCall[S, Q, E]) live() bool       { return cl.state.Load() == callPending }

// callContext is what the handler's Ctx.Context derives from: Open's ctx
// and, without a deadline, the default one.
func (cl *streamCall[S, Q, E]) callContext() (context.Context, time.Time) {
	if cl.armed {
		return cl.ctx, cl.tm.Deadline()
	}
	return cl.ctx, time.Time{}
}

// run starts the stream on the actor's turn: the journal joins the
// actor's set (so the actor's stop ends it), the handler runs, and Open
// learns the outcome. A request whose caller gave up before it started
// never runs, nor one its gate refuses (see engine.Gate).
func (cl *streamCall[S, Q, E]) run(x *Ctx, _ payload) {
	c := x.c
	if cl.ctx.Err() != nil {
		cl.settle(ctxErr(cl.ctx, cl.s.label))
	} else if cl.gate != nil {
		if err := cl.gate.Admit(engine.Seal{}); err != nil {
			cl.settle(err)
		}
	}
	if !cl.state.CompareAndSwap(callPending, callRunning) {
		<-cl.done
		cl.j.end(cl.err, true)
		c.deadLetter(engine.ReasonExpired, cl.s.label, cl.err, nil)
		return
	}
	j := cl.j
	j.owner.Store(c) // a pool's stream: the worker that took it
	set := c.addStream(j.id, j)
	j.mu.Lock()
	if j.closed.Load() {
		// Open gave up as the turn began and ended the stream (abandon)
		// before it was in the set: end left it there.
		j.mu.Unlock()
		if set != nil {
			set.remove(j.id)
		}
	} else {
		j.set = set
		j.mu.Unlock()
	}
	err := cl.s.fn(c.state.(S), x, cl.req, &j.out)
	cl.finish(c, err)
	if set == nil {
		j.end(c.stopErr(), true) // the actor finalized under us
	}
	x.replied = true
}

// finish ends the stream with the handler's error, if any, and settles
// Open: with nil, or with the error if the stream failed before holding
// an item. A handler error after its stream had already ended goes to the
// dead letters, never lost (unless it only repeats that end, or is the
// ErrStreamClosed of a Send that found it).
func (cl *streamCall[S, Q, E]) finish(c *cell, err error) {
	if err != nil && !cl.j.end(err, false) && !cl.j.endedBy(err) {
		c.deadLetter(engine.ReasonFailed, cl.s.label, fmt.Errorf("%w (after its stream had ended)", err), nil)
	}
	// Under mu: the error is marked seen only if Open gets it. If Open
	// gave up first, the detach of its reader finds it unseen and reports
	// it (or already has, and the mark is not made).
	j := cl.j
	j.mu.Lock()
	if failed := j.failedLocked(); cl.settle(failed) && failed != nil {
		j.seen = true
	}
	j.mu.Unlock()
}

// fail delivers an outcome other than the handler's return: its panic
// (why is engine.ReasonFailed) ends the stream with the *PanicError, as a
// returned error does; any other reason means the handler never ran (the
// actor stopped, the request was dropped or expired): Open gets it, and it
// is a dead letter too, as for a call.
func (cl *streamCall[S, Q, E]) fail(to *cell, _ payload, err error, why uint8) {
	if why == engine.ReasonFailed {
		cl.finish(to, err)
		return
	}
	cl.j.end(err, true)
	if !cl.settle(err) {
		<-cl.done
		err = cl.err
	}
	to.deadLetter(why, cl.s.label, err, nil)
}
