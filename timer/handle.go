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
	p   *pooled
	gen uint64
}

// pooled is the timer behind a Handle. It goes back to its wheel's free
// list when it fires or is stopped; gen, bumped each time (under the
// wheel's lock, which guards fn and gen), tells its schedulings apart. A
// pooled timer is 64 bytes.
type pooled struct {
	t   Timer
	fn  func()
	gen uint64
}

// maxFree is how many recycled timers a wheel keeps for Schedule: enough
// for a steady stream of timeouts, little memory held (64 KiB) after a
// burst; beyond it, finished timers are left to the GC.
const maxFree = 1024

// Schedule calls f on the wheel's goroutine once d has elapsed, with the
// rules of [Wheel.AfterFunc], and returns a Handle to stop it. Unlike
// AfterFunc it allocates nothing in steady state: the wheel recycles the
// timers of finished schedulings. In exchange a Handle, unlike a *Timer,
// can only Stop its scheduling (no Reset, no Deadline).
//
// Schedule returns [ErrNilFunc] if f is nil and [ErrStopped] once
// [Wheel.Stop] has been called. It never blocks beyond a short critical
// section and is safe for concurrent use, from callbacks too. Cost: O(1);
// when no recycled timer is free, a fresh one from a slab of 8 (one
// 512-byte allocation per 8), which stays in memory while any of its
// timers is pending or referenced by a Handle.
func (w *Wheel) Schedule(d time.Duration, f func()) (Handle, error) {
	if f == nil {
		return Handle{}, ErrNilFunc
	}
	if w.wake == nil {
		panic("timer: Schedule on a Wheel not made by New")
	}
	when, err := w.lockArming(d)
	if err != nil {
		return Handle{}, err
	}
	p := w.newPooledLocked() // in no list; its w and cb are set for life
	p.fn = f
	w.scheduleLocked(&p.t, when)
	h := Handle{p: p, gen: p.gen}
	w.mu.Unlock()
	return h, nil
}

// retireLocked ends p's current scheduling (stale handles refer to nothing
// from then on) and recycles it. The caller holds w.mu.
func (w *Wheel) retireLocked(p *pooled) {
	p.gen++
	p.fn = nil
	if len(w.free) < maxFree {
		w.free = append(w.free, p)
	}
}

// Fire runs the scheduled func; the driver has taken the timer out of the
// wheel. The timer is recycled before f runs.
func (p *pooled) Fire() {
	w := p.t.w
	w.mu.Lock()
	f := p.fn
	w.retireLocked(p)
	w.mu.Unlock()
	f()
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
	p := h.p
	if p == nil {
		return false
	}
	w := p.t.w
	w.mu.Lock()
	if p.gen != h.gen || p.t.level() == notPending {
		w.mu.Unlock()
		return false
	}
	w.removeLocked(&p.t)
	w.retireLocked(p)
	w.mu.Unlock()
	return true
}
