package actor

// SetBalancingHooks sets the test hooks of p's shared queue (p must be a
// Balancing pool): joined runs in each join of a worker, armed in each
// submit of a call, once the queue's lock is released (armed: before the
// worker it armed is woken). Set them before p is used concurrently.
func SetBalancingHooks[S any](p *Pool[S], joined, armed func()) {
	p.r.shared.test.joined, p.r.shared.test.armed = joined, armed
}
