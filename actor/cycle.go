package actor

import "fmt"

// maxChain bounds the walk of the wait-for chain; chains longer than this
// are not checked (and fall back to the deadline).
const maxChain = 1024

// enterCall records that caller's handler now waits for target, failing
// with ErrCallCycle if target already waits, directly or through others,
// for caller. Each actor waits for at most one other (its handler is in at
// most one sync call), so the wait-for graph is a set of chains and the
// check is a walk: O(chain length), no allocation.
//
// The store comes before the walk: of two actors closing a cycle at the
// same moment, at least one sees the other's edge.
func enterCall(caller, target *cell, method string) error {
	if caller == target {
		return fmt.Errorf("%w: %s calls itself (%s)", ErrCallCycle, caller, method)
	}
	caller.waitingOn.Store(target)
	n := target
	for i := 0; n != nil && i < maxChain; i++ {
		n = n.waitingOn.Load()
		if n == caller {
			caller.waitingOn.Store(nil)
			return fmt.Errorf("%w: %s → %s → … → %s (%s)", ErrCallCycle, caller, target, caller, method)
		}
	}
	return nil
}
