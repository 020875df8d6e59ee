package scheduler

import (
	"sync"
	"sync/atomic"
)

// localCap is the most turns a loop takes from the run queue at once.
const localCap = 32

// local is a loop's own batch of turns, taken from the run queue in one
// acquisition of the scheduler's lock. With one producer scheduling
// turns for many actors (a fan-out), that lock was the hot spot: the
// producer's Schedule and every loop's pop took it once per turn, from
// different cores. A loop now takes up to half of what waits (at most
// localCap) and runs it under its own lock, which no other core touches
// unless it steals. Measured (bench FanOut, 10,000 actors, 2 cores):
// 186–201 → 129–145 ns per message.
//
// A batch must never hide work: a loop that finds the run queue empty
// steals half of the fullest other batch before it spins, parks or
// exits, so the turns held by a loop stuck in a handler (time.Sleep, I/O)
// are taken by the others; Block, the watchdog and a loop that panicked
// count held turns as waiting ones. The owner takes from the front of its
// batch and a thief takes the front half too, so turns still start in
// about the order they were scheduled.
type local struct {
	mu   sync.Mutex
	n    atomic.Int32 // turns held; written under mu, read by anyone
	head int          // buf[head:head+n] is the batch; guarded by mu
	buf  [localCap]*Task
	// at is l's index in Scheduler.locals, -1 while it is not listed;
	// guarded by Scheduler.mu. A batch is listed from its fill until it
	// is found empty under that lock (at the end of the batch, or by the
	// thief that empties it), so the scans of Block, the watchdog and a
	// loop out of work see the batches in flight, not every loop (a
	// thousand handlers blocked in calls are a thousand loops).
	at int
	// turns counts the batch's fills and the turns its owner took from
	// it: it changes whenever the owner gets past a turn. Guarded by mu.
	turns uint32
	// seen is turns as the watchdog read it at its last check; guarded by
	// Scheduler.mu. A batch whose turns have not changed between two
	// checks belongs to a loop stuck in one turn (unhideLocked).
	seen uint32
}

// pop takes the first turn of the batch, or nil. Only its owner calls it.
func (l *local) pop() *Task {
	if l.n.Load() == 0 { // only the owner adds: 0 stays 0 until it does
		return nil
	}
	l.mu.Lock()
	var t *Task
	if n := l.n.Load(); n > 0 {
		t = l.buf[l.head]
		l.buf[l.head] = nil
		l.head++
		l.n.Store(n - 1)
		l.turns++
	}
	l.mu.Unlock()
	return t
}

// fillLocked moves k ≤ localCap turns from the run queue into l, which is
// empty, and lists it. The caller holds s.mu and owns l.
func (s *Scheduler) fillLocked(l *local, k int) {
	l.mu.Lock()
	for i := range k {
		l.buf[i] = s.q.pop()
	}
	l.head = 0
	l.n.Store(int32(k))
	l.turns++
	l.mu.Unlock()
	if l.at < 0 {
		l.at = len(s.locals)
		s.locals = append(s.locals, l)
	}
}

// drainLocked moves the first half (rounded up) of l's turns, or all of
// them, to the back of the run queue, unlists l if that empties it, and
// reports whether it moved any (its owner may have taken them since l.n
// was read). The caller holds s.mu.
func (s *Scheduler) drainLocked(l *local, all bool) bool {
	l.mu.Lock()
	n := int(l.n.Load())
	k := n
	if !all {
		k = (n + 1) / 2
	}
	for range k {
		s.q.push(l.buf[l.head])
		l.buf[l.head] = nil
		l.head++
	}
	l.n.Store(int32(n - k))
	l.mu.Unlock()
	if n == k {
		s.unlistLocked(l)
	}
	return k > 0
}

// stealLocked moves half of the fullest batch of another loop than own
// to the run queue, and reports whether it moved any. The caller holds
// s.mu.
func (s *Scheduler) stealLocked(own *local) bool {
	var from *local
	most := int32(0)
	for _, l := range s.locals {
		if n := l.n.Load(); l != own && n > most {
			from, most = l, n
		}
	}
	if from == nil {
		return false
	}
	return s.drainLocked(from, false)
}

// unhideLocked gives back to the run queue every batch whose loop has
// not got past a turn since the watchdog's last check (its turns count
// is unchanged: the loop sits in one turn, a stall check or more), and
// reports whether it moved any. A loop that keeps finding turns in the
// run queue never steals, so without this a batch held by a loop stuck
// in a handler waits for the run queue to empty, however many turns the
// other loops run meanwhile. The watchdog calls it at each check, with
// s.mu held.
func (s *Scheduler) unhideLocked() bool {
	moved := false
	for i := 0; i < len(s.locals); {
		l := s.locals[i]
		l.mu.Lock()
		turns, n := l.turns, l.n.Load()
		l.mu.Unlock()
		if n > 0 && turns == l.seen {
			s.drainLocked(l, true) // unlists l: s.locals[i] is another now
			moved = true
			continue
		}
		l.seen = turns
		i++
	}
	return moved
}

// heldLocked is the number of turns the loops hold in their batches. The
// caller holds s.mu.
func (s *Scheduler) heldLocked() int {
	n := 0
	for _, l := range s.locals {
		n += int(l.n.Load())
	}
	return n
}

// unlistLocked takes l, whose batch is empty, out of s.locals if it is
// listed. The caller holds s.mu.
func (s *Scheduler) unlistLocked(l *local) {
	if l.at < 0 {
		return
	}
	last := len(s.locals) - 1
	s.locals[l.at] = s.locals[last]
	s.locals[l.at].at = l.at
	s.locals[last] = nil
	s.locals = s.locals[:last]
	l.at = -1
}
