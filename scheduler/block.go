package scheduler

// Block tells s that the turn running on the calling goroutine is about to
// wait for something only another turn can provide (the reply to a sync
// call): until the matching [Scheduler.Unblock], its loop does not count
// among the loops that drain the run queue. If turns wait and no loop is
// free, Block wakes a parked loop or starts a replacement at once, without
// waiting for the watchdog (so a handler blocked in a call never starves
// the pool, whatever the pool's size); if the queue is empty, the next
// Schedule does it.
//
// Block and Unblock must be called in pairs, from a goroutine running a
// turn of s (inside [Runner.Run]), with nothing that can panic between
// them, or defer the Unblock: an unpaired Block leaves s one loop short.
// Block itself does not wait. It is safe for concurrent use. Cost: O(1),
// one acquisition of the scheduler's lock (a Block+Unblock pair ~12 ns
// uncontended); it allocates nothing unless it must start a loop beyond
// the pool's size (a goroutine).
func (s *Scheduler) Block() {
	if !s.made() {
		return
	}
	s.mu.Lock()
	s.blocked++
	n := 0
	if s.q.n > 0 || s.heldLocked() > 0 { // held: this loop's batch, among others
		n = s.kickLocked()
	}
	s.mu.Unlock()
	s.start(n)
}

// Unblock ends the section a [Scheduler.Block] on the same goroutine began:
// the loop counts again among those that drain the queue. It starts or
// stops nothing: if the loops outside Block are now more than needed, the
// surplus exits when it finds the queue empty (base loops already parked)
// or, if they exceed the base plus the [WithMaxExtra] cap, at the end of
// its turn and of the batch of turns it took with it (at most 31 more).
//
// It panics if no Block is pending on s (a programmer error), unless s is
// nil or zero (not made by New), where Block and Unblock do nothing. It does not
// wait and is safe for concurrent use. Cost: O(1), one acquisition of the
// scheduler's lock, no allocation.
func (s *Scheduler) Unblock() {
	if !s.made() { // a nil or zero Scheduler counts nothing: nothing to pair
		return
	}
	s.mu.Lock()
	if s.blocked == 0 {
		s.mu.Unlock()
		panic("scheduler: Unblock without Block")
	}
	s.blocked--
	s.mu.Unlock()
}
