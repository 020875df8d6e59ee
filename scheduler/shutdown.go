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
// queued, waits for them, the watchdog and the pool's goroutines (bounded
// by ctx) and returns nil: no goroutine of s is left. If ctx ends first it
// returns ctx.Err() and leaves the rest to end on its own: the pool is
// released at once (its idle workers and housekeepers exit), the loops
// exit as their turns end, and a goroutine of s waits for the pool's last
// worker. A later Close, or Shutdown, waits for all of that. Idempotent.
// A nil or zero Scheduler returns ErrClosed.
func (s *Scheduler) Shutdown(ctx context.Context) error {
	if !s.made() {
		return ErrClosed
	}
	s.close()
	select {
	case <-s.idle:
	case <-ctx.Done():
		s.release()
		return ctx.Err()
	}
	s.release()
	select {
	case <-s.released:
		return nil
	case <-ctx.Done():
		select {
		case <-s.released: // both: the work is done
			return nil
		default:
			return ctx.Err()
		}
	}
}

// Close is Shutdown without a bound: once it returns, no goroutine of s is
// left, also after a Shutdown that returned ctx.Err(). Idempotent. It
// waits for the turns under way to end, so a turn must not call it: it
// would wait for itself (call Shutdown with a ctx from a turn, or Close
// from another goroutine). It does nothing on a nil or zero Scheduler.
func (s *Scheduler) Close() {
	if !s.made() {
		return
	}
	s.close()
	<-s.idle
	s.release()
	<-s.released
}

// release releases the pool, once, and closes s.released when every
// goroutine of the pool has exited: the idle workers and the two
// housekeepers at once, the workers running loops as those end. The wait
// runs on a goroutine of s's, so that Shutdown can stop waiting when its
// ctx ends and a later Close (or Shutdown) still waits for the pool: a
// pool released without waiting cannot be waited for after.
func (s *Scheduler) release() {
	s.relOne.Do(func() {
		go func() {
			_ = s.pool.ReleaseContext(context.Background()) // nil: waits for every worker
			close(s.released)
		}()
	})
}
