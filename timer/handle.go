package timer

import "time"

// A Handle refers to one scheduling of a callback by [Wheel.Schedule]. It
// is a small value, copied freely; the zero Handle refers to nothing.
//
// The timer behind a Handle is recycled by the wheel once it has fired or
// been stopped, so a Handle stays valid only as a way to stop that one
// scheduling: a Handle whose scheduling is over refers to nothing, even
// after its timer has been reused.
type Handle struct {
	c   *chunk
	ref uint64 // the node's generation << chunkBits | its slot in c
}

// Schedule calls f on the wheel's goroutine once d has elapsed, with the
// rules of [Wheel.AfterFunc], and returns a Handle to stop it. Unlike
// AfterFunc it allocates nothing in steady state: the wheel recycles the
// timers of finished schedulings. In exchange a Handle, unlike a *Timer,
// can only Stop its scheduling (no Reset, no Deadline).
//
// Schedule returns [ErrNilFunc] if f is nil and [ErrStopped] once
// [Wheel.Stop] has been called. It never blocks beyond a short critical
// section and is safe for concurrent use, from callbacks too. Cost: O(1);
// a pending scheduling holds 32 bytes of the wheel's arena (see the
// package doc's Memory section), which takes one 32 KiB allocation per
// 1023 nodes when none is free to reuse.
func (w *Wheel) Schedule(d time.Duration, f func()) (Handle, error) {
	if f == nil {
		return Handle{}, ErrNilFunc
	}
	if !w.made() {
		return Handle{}, ErrStopped
	}
	when, err := w.lockArming(d)
	if err != nil {
		return Handle{}, err
	}
	c, s := w.arena.alloc(w) // in no list, not pending
	c.fns[s] = f
	n := &c.nodes[s]
	n.pos.setWhen(when)
	w.armedLocked(w.placeNodeLocked(c, s))
	h := Handle{c: c, ref: n.gen<<chunkBits | uint64(s)}
	w.mu.Unlock()
	return h, nil
}

// Stop prevents the scheduled func from running. It returns true if this
// call did so, and false if the func has been taken out to run (it runs or
// has run, unless [Wheel.Stop] drops it before it begins), the scheduling
// was stopped already, the wheel was stopped, or h is the zero Handle. For
// each scheduling exactly one of "f runs", "a Stop returns true" and
// "Wheel.Stop counts it" happens. Stop does not wait for a running func.
//
// Stop does not block beyond a short critical section and is safe for
// concurrent use. Cost: O(1).
func (h Handle) Stop() bool {
	c := h.c
	if c == nil {
		return false
	}
	w := c.w.Load()
	if w == nil {
		return false // its chunk was released, or the wheel stopped
	}
	s := int(h.ref & chunkMask)
	w.mu.Lock()
	if n := &c.nodes[s]; n.gen != h.ref>>chunkBits || n.pos.level() == notPending {
		w.mu.Unlock()
		return false
	}
	w.removeNodeLocked(c, s)
	w.mu.Unlock()
	return true
}
