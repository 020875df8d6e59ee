package remote

// Early cancels. A cancel and the call it names travel on different
// subjects (<prefix>._cancel, and the call's own), so NATS does not order
// them: a caller that gives up just after sending its call can have its
// cancel reach the serving node first, when there is nothing to cancel
// yet. Lost, it would let the call run for a caller long gone. So a node
// keeps the reply subjects of the last earlyCancels cancels that matched
// no call it serves, and a call (or stream) that arrives with one of
// them is dropped before it runs, and reported as ReasonCancelled. Both
// sides of the check run under the node's mu: either the cancel finds
// the call registered, or the registration finds the cancel.
//
// Every node gets every cancel, so most of those kept name calls served
// elsewhere, or finished: the ring forgets them in turn. A cancel can be
// early by about one hop through the server; the ring covers that unless
// more than earlyCancels unmatched cancels arrive meanwhile.

// earlyCancels is how many unmatched cancels a node remembers.
const earlyCancels = 1024

// earlyCancel is the remembered cancels: a set, and a ring that says
// which one to forget next. Guarded by the node's mu.
type earlyCancel struct {
	set  map[string]struct{}
	ring [earlyCancels]string
	next int
}

// addLocked remembers subj, forgetting the oldest if the ring is full.
func (e *earlyCancel) addLocked(subj string) {
	if old := e.ring[e.next]; old != "" {
		delete(e.set, old)
	}
	e.ring[e.next] = subj
	e.set[subj] = struct{}{}
	e.next = (e.next + 1) % earlyCancels
}

// takeLocked reports whether subj was cancelled before it arrived, and
// forgets it. O(1).
func (e *earlyCancel) takeLocked(subj string) bool {
	if _, ok := e.set[subj]; !ok {
		return false
	}
	delete(e.set, subj) // its ring slot is reused in its turn
	return true
}
