package actor

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/troupe-go/troupe/internal/engine"

	"github.com/troupe-go/troupe/mailbox"
	"github.com/troupe-go/troupe/timer"
)

// The states of a call. Whoever moves it to callDone writes the outcome and
// closes done: exactly one outcome per call.
const (
	callPending uint32 = iota // queued, not started
	callRunning               // the handler runs
	callDone                  // outcome written (or being written) by the CAS winner
)

// call is a sync call (or an Ask) in flight: the request, the Future the
// caller waits on, and how the caller gives up.
type call[S, Q, R any] struct {
	Future[R]
	self  message // the call as its envelope's message (a poolCall's: the poolCall)
	m     *Method[S, Q, R]
	req   Q
	ctx   context.Context
	tm    timer.Timer // fires the default deadline, if armed
	armed bool        // tm was started (set before the call is sent)
	asked bool        // an Ask, which Await may abandon (set before the call is sent)
	// gated: ctx is an engine.Gate (AskUnwatched's, set before the call is
	// sent). A flag, with ctx asserted again at the turn, rather than the
	// Gate itself: a 16-byte field took every call from 192 bytes (a size
	// class of whole cache lines) to 208, for the sake of remote's calls.
	gated bool
	// unwatch is taken and run by the settle, after the outcome is
	// written: an Ask's stop of its ctx watch, or CallThen's hand-off of
	// the outcome.
	unwatch atomic.Pointer[func() bool]
	edge    waitEdge                  // the wait for it, for the cycle check (Call, and Await of an Ask)
	aborts  atomic.Pointer[abortNode] // Ask: cancels of the contexts made for it (see onAbandon)
}

// abortNode is one cancel in a call's list of contexts to end if the call
// is abandoned (see call.onAbandon).
type abortNode struct {
	cancel context.CancelFunc
	next   *abortNode
}

// abandonedList ends a call's list once abandon ran: a later onAbandon
// cancels at once.
var abandonedList = &abortNode{}

// abortable is a message whose contexts (the handler's Ctx.Context, a
// deferred Reply's Context) must end when its caller abandons it.
type abortable interface {
	onAbandon(cancel context.CancelFunc)
}

// arm gives the call the default timeout if ctx has no deadline. It fails
// with ErrStopped if the wheel is gone (the runtime is closed).
func (cl *call[S, Q, R]) arm(sys *engine.System) error {
	if _, ok := cl.ctx.Deadline(); ok {
		return nil
	}
	d := sys.CallTimeout
	// The timer is part of the call: arming it allocates nothing.
	cl.armed = true // before Start: the timer may fire at once
	if err := sys.Wheel.Start(&cl.tm, d, cl); err != nil {
		cl.armed = false
		return ErrStopped
	}
	return nil
}

// Fire is the default deadline's callback (the call is its own
// timer.Callback), on the wheel's goroutine.
func (cl *call[S, Q, R]) Fire() {
	var zero R
	cl.settle(zero, timeoutFor(cl.m.label))
}

// Dropped is told by the wheel that it was stopped (the runtime closed)
// with the default deadline still pending, or taken out but not run: the
// caller, who waits for that deadline, gets ErrStopped instead (the
// handler it waits on is one Close gave up on, and may never return).
func (cl *call[S, Q, R]) Dropped() {
	var zero R
	cl.settle(zero, ErrStopped)
}

// settle moves a pending or running call to done with (v, err). It reports
// whether this call won; a loser does nothing (the winner's outcome stands).
func (cl *call[S, Q, R]) settle(v R, err error) bool {
	if !cl.state.CompareAndSwap(callPending, callDone) && !cl.state.CompareAndSwap(callRunning, callDone) {
		return false
	}
	cl.val, cl.err = v, err
	close(cl.done)
	cl.stopTimer()
	return true
}

// wait and abandon make a call an awaited one (see Future.call): its edge
// names the actor it was sent to.
func (cl *call[S, Q, R]) wait() *waitEdge { return &cl.edge }

// abandon fails the call with err (ErrCallCycle: awaiting it would close
// a cycle) and, if that was its outcome, cancels the contexts made for it:
// its caller gave up, as at a deadline or cancel, so its handler's
// Ctx.Context and its Reply's Context end, though the caller's ctx, which
// they derive from, goes on.
func (cl *call[S, Q, R]) abandon(err error) {
	var zero R
	if !cl.settle(zero, err) {
		return
	}
	for n := cl.aborts.Swap(abandonedList); n != nil && n != abandonedList; n = n.next {
		n.cancel()
	}
}

// onAbandon makes abandon call cancel, or calls it now if the call was
// abandoned already. Only an Ask can be abandoned: for other calls it does
// nothing. One allocation; lock-free.
func (cl *call[S, Q, R]) onAbandon(cancel context.CancelFunc) {
	if !cl.asked {
		return
	}
	n := &abortNode{cancel: cancel}
	for {
		head := cl.aborts.Load()
		if head == abandonedList {
			cancel()
			return
		}
		n.next = head
		if cl.aborts.CompareAndSwap(head, n) {
			return
		}
	}
}

func (cl *call[S, Q, R]) stopTimer() {
	if cl.armed {
		cl.tm.Stop()
	}
	// Taken once (CallThen's hook is an outcome). Loaded first: a Call
	// has none, and comes here twice; a swap is a locked instruction.
	if cl.unwatch.Load() != nil {
		if f := cl.unwatch.Swap(nil); f != nil {
			(*f)()
		}
	}
}

func (cl *call[S, Q, R]) key() mailbox.Key { return cl.m.k }
func (cl *call[S, Q, R]) name() string     { return cl.m.label }
func (cl *call[S, Q, R]) live() bool       { return cl.state.Load() == callPending }

// callContext is the caller's ctx and, if ctx had no deadline, the default
// one (read from the call's timer: no clock read per call).
func (cl *call[S, Q, R]) callContext() (context.Context, time.Time) {
	if cl.armed {
		return cl.ctx, cl.tm.Deadline()
	}
	return cl.ctx, time.Time{}
}

// run handles the call on the actor's turn. A call whose caller gave up
// before it started never runs, nor one its gate refuses (see
// engine.Gate); a reply that comes after the caller gave up
// is discarded.
func (cl *call[S, Q, R]) run(x *Ctx, _ payload) {
	c := x.c
	if cl.ctx.Err() != nil {
		var zero R
		cl.settle(zero, ctxErr(cl.ctx, cl.m.label))
	} else if cl.gated {
		if err := cl.ctx.(engine.Gate).Admit(engine.Seal{}); err != nil {
			var zero R
			cl.settle(zero, err)
		}
	}
	if !cl.state.CompareAndSwap(callPending, callRunning) {
		<-cl.done // the winner closes it right after writing err
		c.deadLetter(engine.ReasonExpired, cl.m.label, cl.err, nil)
		return
	}
	if cl.m.dfn != nil {
		cl.runDeferred(x) // the reply comes later: see deferred.go
		return
	}
	v, err := cl.m.fn(c.state.(S), x, cl.req)
	if late := cl.lateErr(x); late != nil {
		// The handler watched its Context, and that ended with the
		// caller's deadline or cancel: the caller has given up even if it
		// has not woken yet (its own timer may fire a tick later). The
		// reply is late. A handler that never looked at its Context races
		// its caller fairly: whoever settles first wins.
		var zero R
		cl.settle(zero, late)
		c.deadLetter(engine.ReasonLate, cl.m.label, late, nil)
		return
	}
	x.replied = true
	if !cl.settle(v, err) {
		c.deadLetter(engine.ReasonLate, cl.m.label, err, nil)
	}
}

// lateErr is the outcome of a call whose handler saw its Context end
// because the caller gave up, or nil.
func (cl *call[S, Q, R]) lateErr(x *Ctx) error {
	if x.cctx == nil {
		return nil
	}
	if cl.ctx.Err() != nil {
		return ctxErr(cl.ctx, cl.m.label)
	}
	if errors.Is(x.cctx.Err(), context.DeadlineExceeded) {
		return timeoutFor(cl.m.label)
	}
	return nil
}

// fail delivers err without a reply. A handler's panic (why is
// engine.ReasonFailed) reaches the caller, and is a dead letter only if the
// caller had given up; any other outcome is a dead letter too, so the
// counters stay whole.
func (cl *call[S, Q, R]) fail(to *cell, _ payload, err error, why uint8) {
	var zero R
	won := cl.settle(zero, err)
	if won && why == engine.ReasonFailed {
		return
	}
	if !won {
		<-cl.done // the winner closes it right after writing err
		if why == engine.ReasonFailed {
			why = engine.ReasonLate
		} else {
			err = cl.err // the outcome the caller got
		}
	}
	to.deadLetter(why, cl.m.label, err, nil)
}
