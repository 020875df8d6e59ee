package actor

import (
	"fmt"
	"sync/atomic"
)

// maxChain bounds the walk of the wait-for chain (and of the descendants a
// wait for a stop looks through: see leadsTo); chains longer than this
// are not checked (and fall back to the deadline).
const maxChain = 1024

// waitEdge is a wait of an actor's handler for another actor (see
// cell.waitingOn), kept in what it waits for (a call, a stream's opening
// request): to, the actor, and done, closed once the wait has its outcome.
// An edge whose done is closed no longer counts, though its waiter has not
// yet woken to clear it: the actor waited for may go on (reply, then call
// its caller on its next turn) before then, and that is no cycle. Awaiters
// of one Future share its call's edge.
type waitEdge struct {
	to   atomic.Pointer[cell] // set before the edge is recorded; a pool call's changes only while it is not
	done <-chan struct{}
}

// over reports whether the wait has its outcome.
func (e *waitEdge) over() bool {
	select {
	case <-e.done:
		return true
	default:
		return false
	}
}

// enterCall records that caller's handler now waits along e, failing with
// ErrCallCycle if e's actor already waits, directly or through others, for
// caller. Each actor waits for at most one other (its handler is in at
// most one sync call), so the wait-for graph is a set of chains and the
// check is a walk: O(chain length), no allocation. A wait for a stop
// (see enterStop) also waits for the stopped actor's descendants: the
// walk looks through them there (see leadsTo).
//
// The store comes before the walk: of two actors closing a cycle at the
// same moment, at least one sees the other's edge.
func enterCall(caller *cell, e *waitEdge, method string) error {
	target := e.to.Load()
	if caller == target {
		return fmt.Errorf("%w: %s calls itself (%s)", ErrCallCycle, caller, method)
	}
	caller.waitingOn.Store(e)
	budget := maxChain
	if leadsTo(caller, e, &budget) {
		caller.waitingOn.Store(nil)
		return fmt.Errorf("%w: %s → %s → … → %s (%s)", ErrCallCycle, caller, target, caller, method)
	}
	return nil
}

// leadsTo reports whether a wait along w waits, directly or through
// others, for caller's handler: whether the chain of waits from w's actor
// reaches caller, or a wait for a stop on it waits for a descendant of the
// stopped actor whose own chain does (or for caller itself, a descendant).
// Each step spends one of budget; an exhausted budget reports no cycle
// (the wait then ends at its deadline).
func leadsTo(caller *cell, w *waitEdge, budget *int) bool {
	for ; *budget > 0; *budget-- {
		t := w.to.Load()
		if t == nil {
			return false
		}
		if t == caller {
			return true
		}
		if isStopEdge(w, t) && stopWaitsFor(caller, t, budget) {
			return true
		}
		if w = t.waitingOn.Load(); w == nil || w.over() {
			return false
		}
	}
	return false
}

// stopWaits counts the handlers waiting in a Ref.Stop (see enterStop):
// while there is none, no edge is a stop's and the walk looks for none.
var stopWaits atomic.Int64

// isStopEdge reports whether w, an edge to t, is a wait for t's stop: its
// done is t's Done (a call's is its own channel).
func isStopEdge(w *waitEdge, t *cell) bool {
	if stopWaits.Load() == 0 {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.ext != nil && t.ext.done != nil && w.done == t.ext.done
}

// stopWaitsFor reports whether t's stop waits for caller's handler: caller
// is one of t's descendants (a stop waits for its children's), or one of
// them waits for caller along its chain (its turn, which its stop waits
// for, is stuck in that wait). O(descendants + their chains), within
// budget; it runs only where a chain meets a handler waiting in Ref.Stop.
func stopWaitsFor(caller, t *cell, budget *int) bool {
	return caller.descendsFrom(t) || kidsLeadTo(caller, t, budget)
}

// kidsLeadTo reports whether a descendant of t waits for caller along its
// chain; see stopWaitsFor.
func kidsLeadTo(caller, t *cell, budget *int) bool {
	for _, k := range t.children() {
		if *budget <= 0 {
			return false
		}
		*budget--
		if w := k.waitingOn.Load(); w != nil && !w.over() && leadsTo(caller, w, budget) {
			return true
		}
		if kidsLeadTo(caller, k, budget) {
			return true
		}
	}
	return false
}

// lend tells the scheduler that the handler of c, running on a scheduler
// loop, is about to wait for another actor: the loop's place is lent to
// another at once, so waiting never starves the pool. It reports whether
// it did; the caller then defers c.reclaim(). A nil c (not a handler) or
// an owner-driven actor lends nothing. A turn run inline on a sender's
// goroutine (CastInline) lends too, though it holds no loop: the scheduler
// may then wake or start one loop more than it needs, which leaves once
// the queue is empty.
func (c *cell) lend() bool {
	if c == nil || c.owner != nil {
		return false
	}
	c.sys.Scheduler.Block()
	return true
}

// reclaim ends a lend: the loop counts again among those that drain the
// scheduler's queue.
func (c *cell) reclaim() { c.sys.Scheduler.Unblock() }

// endWait ends a wait of c, a caller in a handler, for another actor: it
// clears c's wait-for mark if one was set (a call a router placed on a
// member rather than the shared queue, a wait for a stop) and reclaims
// its loop if it was lent. CallPool, OpenPool, Await and AwaitAll defer
// it, with lend's result; leaveStop calls it.
func (c *cell) endWait(marked, lent bool) {
	if marked {
		c.waitingOn.Store(nil)
	}
	if lent {
		c.reclaim()
	}
}

// enterStop records that caller's handler now waits for c's stop (a
// Ref.Stop or WaitDone made with its Context), failing with ErrCallCycle
// if that stop waits for this very handler: c is caller, or one of its
// ancestors (a stop waits for the children's), or c or one of its
// descendants waits for caller, directly or through others, in a sync
// call (its turn, which the stop waits for, is stuck in that call). On
// success it lends caller's loop for the wait, as a sync call does, and
// the caller ends the wait with leaveStop(lent) once it is over.
func (c *cell) enterStop(caller *cell) (lent bool, err error) {
	if caller == c {
		return false, fmt.Errorf("%w: %s waits for its own stop (use Ctx.Stop)", ErrCallCycle, c)
	}
	if caller.descendsFrom(c) {
		return false, fmt.Errorf("%w: %s waits for the stop of %s, which waits for its children's", ErrCallCycle, caller, c)
	}
	e := &waitEdge{done: c.doneCh()}
	e.to.Store(c)
	stopWaits.Add(1) // before the edge: a walk that sees it looks through it
	if err := enterCall(caller, e, "stop"); err != nil {
		stopWaits.Add(-1)
		return false, err
	}
	return caller.lend(), nil
}

// leaveStop ends a wait enterStop recorded, reclaiming the loop if it was
// lent.
func (c *cell) leaveStop(lent bool) {
	stopWaits.Add(-1)
	c.endWait(true, lent)
}

// descendsFrom reports whether a is one of c's ancestors. O(depth).
func (c *cell) descendsFrom(a *cell) bool {
	for p := c.parent; p != nil; p = p.parent {
		if p == a {
			return true
		}
	}
	return false
}
