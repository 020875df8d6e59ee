package scheduler

import "context"

func (s *Scheduler) maybeIdleLocked() {
	if s.closed && s.loops == 0 && !s.watching {
		s.idleOne.Do(func() { close(s.idle) })
	}
}

// close refuses new turns, wakes the parked loops so that they exit once
// the queue is drained, and stops the watchdog: if its timer had not
// fired, it never will; if it had, its callback sees closed and stops.
func (s *Scheduler) close() {
	s.mu.Lock()
	s.closed = true
	s.cond.Broadcast()
	if s.watching && s.timer.Stop() {
		s.watching = false
	}
	s.maybeIdleLocked()
	s.mu.Unlock()
}

// Shutdown refuses new turns, lets the loops finish the turns already
// queued, waits for them and the watchdog (bounded by ctx) and releases
// the pool. It returns ctx.Err() if ctx ended first: the pool is released
// anyway and the loops exit as their turns end. Idempotent.
func (s *Scheduler) Shutdown(ctx context.Context) error {
	s.close()
	select {
	case <-s.idle:
		s.release(ctx)
		return nil
	case <-ctx.Done():
		s.relOne.Do(s.pool.Release) // without waiting: loops end with their turns
		return ctx.Err()
	}
}

// Close is Shutdown without a bound. Idempotent.
func (s *Scheduler) Close() {
	s.close()
	<-s.idle
	s.release(context.Background())
}

func (s *Scheduler) release(ctx context.Context) {
	s.relOne.Do(func() {
		// ReleaseContext also waits for the idle workers and the pool's
		// housekeeping goroutines to exit, bounded by ctx.
		_ = s.pool.ReleaseContext(ctx)
	})
}
