package actor

import (
	"fmt"
	"sync/atomic"
)

// maxChain bounds the walk of the wait-for chain; chains longer than this
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
// check is a walk: O(chain length), no allocation.
//
// The store comes before the walk: of two actors closing a cycle at the
// same moment, at least one sees the other's edge.
func enterCall(caller *cell, e *waitEdge, method string) error {
	target := e.to.Load()
	if caller == target {
		return fmt.Errorf("%w: %s calls itself (%s)", ErrCallCycle, caller, method)
	}
	caller.waitingOn.Store(e)
	n := target
	for i := 0; n != nil && i < maxChain; i++ {
		w := n.waitingOn.Load()
		if w == nil || w.over() {
			return nil
		}
		if n = w.to.Load(); n == caller {
			caller.waitingOn.Store(nil)
			return fmt.Errorf("%w: %s → %s → … → %s (%s)", ErrCallCycle, caller, target, caller, method)
		}
	}
	return nil
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

// endRoutedWait ends the wait of c, a caller in a handler, for a call a
// router placed: it clears c's wait-for mark if the router set one (the
// call went to a member, not the shared queue) and reclaims its loop if
// it was lent. CallPool, OpenPool, Await and AwaitAll defer it, with
// lend's result.
func (c *cell) endRoutedWait(marked, lent bool) {
	if marked {
		c.waitingOn.Store(nil)
	}
	if lent {
		c.reclaim()
	}
}

// enterStop records that caller's handler now waits for c's stop (a
// Ref.Stop made with its Context), failing with ErrCallCycle if that stop
// waits for this very handler: c is caller, or one of its ancestors (a
// stop waits for the children's), or c waits for caller, directly or
// through others, in a sync call (its turn, which the stop waits for, is
// stuck in that call). The caller then clears its mark once the wait is
// over, as after a call.
func (c *cell) enterStop(caller *cell) error {
	if caller == c {
		return fmt.Errorf("%w: %s waits for its own stop (use Ctx.Stop)", ErrCallCycle, c)
	}
	for p := caller.parent; p != nil; p = p.parent {
		if p == c {
			return fmt.Errorf("%w: %s waits for the stop of %s, which waits for its children's", ErrCallCycle, caller, c)
		}
	}
	e := &waitEdge{done: c.doneCh()}
	e.to.Store(c)
	return enterCall(caller, e, "stop")
}
