package scheduler

import "runtime"

// loopSpins is how many times a loop that finds the queue empty yields
// before it parks: a producer that sends again within a few hundred
// nanoseconds (a oneway stream the actor keeps up with) then finds it
// awake, instead of paying a futex wake-up per message.
const loopSpins = 3

// kickLocked makes sure a queued turn will be taken: by a spinning loop,
// a parked one it wakes, or a loop it counts in (it returns 1: the caller
// starts it, without the lock, with start). Loops blocked in a handler
// between Block and Unblock do not count toward the base: they drain
// nothing. If every other loop is busy, the watchdog must watch.
func (s *Scheduler) kickLocked() (start int) {
	switch {
	case s.spinning > 0:
	case s.parked > 0:
		s.cond.Signal()
	case s.loops-s.blocked < s.base:
		s.loops++
		return 1
	default:
		s.watchLocked()
	}
	return 0
}

// start starts n loops, counted in s.loops by the caller: on the pool, or
// on goroutines of ours when it is full.
func (s *Scheduler) start(n int) {
	for ; n > 0; n-- {
		if err := s.pool.Submit(s.loopFn); err != nil {
			go s.loop()
		}
	}
}

// loop runs turns, a batch at a time (local.go), until the queue is empty,
// no other loop holds a batch to steal from, and enough loops are parked,
// or the scheduler closed; or, at the end of a batch, until no more than
// base+maxExtra loops are left outside Block (loops whose handlers have
// unblocked are surplus).
func (s *Scheduler) loop() {
	clean := false
	l := &local{at: -1}
	defer func() {
		if clean {
			return
		}
		// A turn panicked past its runner, or called runtime.Goexit: this
		// loop is gone; give back its batch, count it out and replace it
		// if work waits (also once closed: queued turns still run, and
		// this may have been the last loop). Work held in another loop's
		// batch waits too: this loop would have stolen it (that loop may
		// be stuck in a handler). A spinning loop takes or steals it; a
		// parked one is woken for it; else a loop takes this one's place
		// (not kickLocked: the base may be full of stuck loops, and this
		// one did drain).
		if v := recover(); v != nil {
			s.panics(v)
		}
		s.mu.Lock()
		s.drainLocked(l, true) // give back its batch
		s.loops--
		n := 0
		if s.q.n > 0 || s.heldLocked() > 0 {
			switch {
			case s.spinning > 0:
			case s.parked > 0:
				s.cond.Signal()
			default:
				s.loops++
				n = 1
			}
		}
		s.maybeIdleLocked()
		s.mu.Unlock()
		s.start(n)
	}()
	s.mu.Lock()
	for {
		spins := 0
		for s.q.n == 0 {
			if s.stealLocked(l) {
				continue
			}
			if s.closed || s.parked >= s.base {
				s.exitLocked()
				clean = true
				return
			}
			if spins < loopSpins {
				spins++
				s.spinning++
				s.mu.Unlock()
				if s.hooks.spin != nil {
					s.hooks.spin()
				}
				runtime.Gosched()
				s.mu.Lock()
				s.spinning--
				continue
			}
			s.parked++
			s.cond.Wait()
			s.parked--
		}
		t := s.q.pop()
		k := min(s.q.n/2, localCap) // leave the other half to the other loops
		if k > 0 {
			s.fillLocked(l, k)
		}
		n := 0
		if spins > 0 && (s.q.n > 0 || s.heldLocked() > 0) {
			// Schedule left these turns to us while we spun or parked
			// (it may have signalled us twice: one wake-up): see that
			// the others queued behind or held with this one are taken
			// too, and those another loop took into its batch meanwhile
			// (it did not spin, so it kicked nobody: if it gets stuck
			// in its turn, only a loop woken, started or watched for
			// here takes them).
			n = s.kickLocked()
		}
		s.mu.Unlock()
		s.start(n)
		for ; t != nil; t = l.pop() {
			more := t.r.Run(s.budget)
			if !s.ticked.Load() {
				s.ticked.Store(true)
			}
			if more && s.Schedule(t) != nil {
				t.r.Abort()
			}
		}
		s.mu.Lock()
		s.unlistLocked(l) // its batch has run (or been stolen)
		if s.loops-s.blocked > s.base+s.maxExtra {
			s.exitLocked()
			clean = true
			return
		}
	}
}

// exitLocked counts out the calling loop, which returns, and unlocks.
func (s *Scheduler) exitLocked() {
	s.loops--
	s.maybeIdleLocked()
	s.mu.Unlock()
}
