package engine

import (
	"sync"
	"time"

	"github.com/troupe-go/troupe/timer"
)

// Idle actors give back their mailbox's queues (issue 18: an actor idle
// after traffic returns to its never-messaged size). An actor lists itself
// here the first time it goes idle with queues (TrimLater); a sweep on the
// timer wheel every TrimEvery asks each listed actor to trim (TrimIdle),
// which it does only if it ran no turn since the previous sweep: an actor
// idle for between one and two periods is trimmed, one that keeps serving
// requests is not (no allocation per request), and one that wakes up now
// and then pays for its queues at most once per period.
//
// The list is the only shared state, and an actor is on it at most once
// per trim (its mailbox remembers), so a busy actor costs the sweep one
// call per period, and the hot path one byte compare per idle transition.

// TrimEvery is the period of the sweep.
const TrimEvery = time.Second

// trimBatch bounds the actors one sweep visits on the wheel's goroutine
// (about 50 ns each): a longer list is swept in slices a millisecond
// apart, so that other timers are not held up.
const trimBatch = 8192

// Trimmer is an actor that can give back its idle memory.
type Trimmer interface {
	// TrimIdle trims the actor if it has been idle since the previous
	// call, and reports whether it stays listed (false once trimmed, or
	// stopped). Called on the wheel's goroutine; it must not block.
	TrimIdle() (keep bool)
}

// trims is the System's list of actors to trim.
type trims struct {
	mu    sync.Mutex // guards list and armed
	list  []Trimmer
	armed bool        // the sweep's timer is pending or running
	t     timer.Timer // the sweep's timer
}

// sweeper is the sweep's timer callback.
type sweeper struct{ s *System }

func (w sweeper) Fire() { w.s.sweep() }

// TrimLater lists a for trimming. Safe for concurrent use; O(1) amortised.
func (s *System) TrimLater(a Trimmer) {
	tr := &s.trims
	tr.mu.Lock()
	tr.list = append(tr.list, a)
	arm := !tr.armed
	tr.armed = true
	tr.mu.Unlock()
	if arm {
		s.armSweep(TrimEvery)
	}
}

func (s *System) armSweep(d time.Duration) {
	if s.closed.Load() || s.Wheel.Start(&s.trims.t, d, sweeper{s}) != nil {
		s.dropTrims() // closing: nothing will be trimmed any more
	}
}

func (s *System) dropTrims() {
	tr := &s.trims
	tr.mu.Lock()
	tr.list, tr.armed = nil, false
	tr.mu.Unlock()
}

// sweep visits up to trimBatch listed actors, keeps those that stay
// listed, and re-arms while any are left.
func (s *System) sweep() {
	if s.closed.Load() {
		s.dropTrims()
		return
	}
	tr := &s.trims
	tr.mu.Lock()
	todo := tr.list
	tr.list = nil
	tr.mu.Unlock()
	n := min(len(todo), trimBatch)
	kept := todo[:0] // visited ones that stay, written over the visited part
	for _, a := range todo[:n] {
		if a.TrimIdle() {
			kept = append(kept, a)
		}
	}
	rest := todo[n:]
	tr.mu.Lock()
	next := make([]Trimmer, 0, len(kept)+len(rest)+len(tr.list))
	next = append(append(append(next, rest...), tr.list...), kept...)
	clear(todo) // the old array is garbage: drop its references now
	if len(next) == 0 {
		next = nil
	}
	tr.list = next
	tr.armed = len(next) > 0
	tr.mu.Unlock()
	switch {
	case len(rest) > 0:
		s.armSweep(time.Millisecond)
	case len(next) > 0:
		s.armSweep(TrimEvery)
	}
}
