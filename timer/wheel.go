package timer

import (
	"math/bits"
	"sync"
	"sync/atomic"
	"time"
)

// never is a tick that never comes: Wheel.wakeAt while the driver waits
// for a timer to be added, sleeper.armed while its timer is disarmed.
const never = ^uint64(0)

// A Wheel schedules callbacks on a hierarchical timer wheel. Create one
// with [New]. A nil or zero Wheel (not made by New) is a stopped one:
// AfterFunc, Start and Schedule return [ErrStopped], Stop returns 0, Done
// is closed, Len and Panics are 0. All methods are safe for concurrent use,
// including from inside a callback.
//
// A Wheel runs one goroutine, its driver: the first timer armed
// ([Wheel.AfterFunc], [Wheel.Start], [Wheel.Schedule]) starts it,
// [Wheel.Stop] tells it to exit without waiting, and [Wheel.Done] is
// closed once it has. Callbacks run on the driver, one at a time.
type Wheel struct {
	tick    time.Duration
	recip   uint64    // ceil(2^64 / tick), for dividing by tick without DIV
	start   time.Time // monotonic origin of the ticks
	onPanic func(*PanicError)
	panics  atomic.Uint64
	wake    chan struct{} // capacity 1: tells the driver to look again
	// done is closed by the driver as it exits, or by Stop if no driver
	// ever started (then none ever will).
	done chan struct{}

	mu      sync.Mutex // guards the fields below and every Timer's links
	levels  hierarchy
	cur     uint64 // first tick not yet processed
	n       int    // pending timers
	wakeAt  uint64 // tick the sleeping driver wakes at; 0 while it runs
	held    int    // callbacks taken out to run that the driver has not begun
	started bool   // the driver goroutine has been started
	stopped bool   // Stop has been called
	// dropping is set while Stop, on its caller's goroutine, tells the
	// Droppers it dropped; a driver exiting meanwhile sets exited and
	// leaves closing done to Stop, so that Done waits for those Droppeds
	// (exited is set only then).
	dropping bool
	exited   bool

	// timers is AfterFunc's current slab of fresh timers (see slab.go),
	// of which the first nTimers are handed out; arena holds Schedule's
	// timers (see arena.go). Both are guarded by mu.
	timers  []Timer
	nTimers int
	arena   arena
}

// New returns a wheel configured by opts. It starts no goroutine: the
// driver starts with the first timer. It fails with an error wrapping
// [ErrInvalidOption] if an option is nil or out of range. It does not
// block; cost O(len(opts)).
func New(opts ...Option) (*Wheel, error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return &Wheel{
		tick:    c.tick,
		recip:   reciprocal(uint64(c.tick)),
		start:   time.Now(),
		onPanic: c.onPanic,
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
	}, nil
}

// AfterFunc schedules f to run on the wheel's goroutine once d has
// elapsed, and returns the [Timer] that can stop or reset it. f runs no
// earlier than d from now and, on an unloaded machine, within one tick
// after; a d of zero or less runs it on the next tick. f must be short:
// the wheel runs one callback at a time, and a slow one delays the rest.
//
// AfterFunc returns [ErrNilFunc] if f is nil and [ErrStopped] once
// [Wheel.Stop] has been called. It never blocks beyond a short critical
// section and is safe for concurrent use, from callbacks too. Cost: O(1);
// the 48-byte Timer comes from a slab of 10 (one 480-byte allocation per
// 10 calls), which stays in memory while any of its timers is pending or
// referenced: keep a *Timer only as long as needed, or embed one and use
// [Wheel.Start] (see the package doc's Memory section).
func (w *Wheel) AfterFunc(d time.Duration, f func()) (*Timer, error) {
	if f == nil {
		return nil, ErrNilFunc
	}
	if !w.made() {
		return nil, ErrStopped
	}
	when, err := w.lockArming(d)
	if err != nil {
		return nil, err
	}
	t := w.newTimerLocked() // a zero Timer: in no list, no pointer to clear
	t.setWheelUnshared(w)
	t.cb = funcCallback(f)
	w.scheduleLocked(t, when)
	w.mu.Unlock()
	return t, nil
}

// Start arms t, a Timer the caller owns (typically embedded in a larger
// struct, so that arming it allocates nothing), to call cb.Fire() on the
// wheel's goroutine once d has elapsed, with the rules of AfterFunc. A
// zero Timer, or one that fired or was stopped, can be started; starting a
// pending timer re-arms it like Reset, but without saying that it was
// pending: the earlier scheduling then ends with neither its callback run
// nor a Stop returning true (call Stop first where that count matters).
// Afterwards t's Stop and Reset work
// as for a timer from AfterFunc.
//
// Start returns [ErrNilFunc] if cb is nil, [ErrBadTimer] if t is nil or
// was started on another wheel, and [ErrStopped] once [Wheel.Stop] has
// been called. It never blocks beyond a short critical section and is
// safe for concurrent use. Cost: O(1), no allocation.
func (w *Wheel) Start(t *Timer, d time.Duration, cb Callback) error {
	if cb == nil {
		return ErrNilFunc
	}
	if t == nil {
		return ErrBadTimer
	}
	if !w.made() {
		return ErrStopped
	}
	when, err := w.lockArming(d)
	if err != nil {
		return err
	}
	err = w.startLocked(t, when, cb)
	w.mu.Unlock()
	return err
}

// made reports whether w was made by New.
func (w *Wheel) made() bool { return w != nil && w.wake != nil }

// lockArming returns the tick at which a timer set now for d is due, with
// w.mu held; once the wheel is stopped it returns ErrStopped, unlocked.
// The clock is read before the lock is taken, to keep the section short.
func (w *Wheel) lockArming(d time.Duration) (uint64, error) {
	when := w.deadline(d)
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return 0, ErrStopped
	}
	return when, nil
}

// startLocked arms t for tick when; the caller holds w.mu and has checked
// that the wheel is not stopped. A timer of another wheel is refused, not
// touched (its links are guarded by that wheel's lock). A zero Timer is
// claimed with a compare-and-swap: of two first Starts on different
// wheels, one wins and the other gets ErrBadTimer.
func (w *Wheel) startLocked(t *Timer, when uint64, cb Callback) error {
	if t.w.CompareAndSwap(nil, w) {
		t.setPos(notPending, 0)
	} else if t.w.Load() != w {
		return ErrBadTimer
	}
	if t.level() != notPending {
		w.removeLocked(t)
	}
	t.cb = cb
	w.scheduleLocked(t, when)
	return nil
}

// Stop stops the wheel and returns how many callbacks it dropped: every
// pending timer, and every callback the driver had taken out to run but
// not yet begun (for which [Timer.Stop] already returns false). Afterwards
// [Wheel.AfterFunc], [Wheel.Start] and [Wheel.Schedule] return
// [ErrStopped] and [Timer.Reset] does nothing; there is no restart.
//
// A dropped callback that is a [Dropper] (a Timer armed with
// [Wheel.Start]) is told: its Dropped method is called once, outside the
// lock, by Stop before it returns for a pending timer, or by the driver,
// before [Wheel.Done] is closed, for one taken out to run. Once Done is
// closed, every Dropped has returned.
//
// Like [time.Timer.Stop], Stop never waits for a callback: the one the
// driver has begun when Stop is called (perhaps the caller itself: Stop
// may be called from a callback or the panic handler) runs to its end,
// possibly after Stop returns; no other callback runs after Stop returns.
// "Begun" means chosen by the driver, under its lock, to run next: such a
// callback may reach its first statement just after Stop returns. To wait
// until it has returned and the driver has exited, receive from
// [Wheel.Done].
//
// Stop is idempotent: later calls return 0 and do nothing. It never blocks
// beyond a short critical section and is safe for concurrent use. Cost:
// O(pending timers).
func (w *Wheel) Stop() int {
	if !w.made() {
		return 0
	}
	w.mu.Lock()
	if w.stopped {
		w.mu.Unlock()
		return 0
	}
	w.stopped = true
	n, ds := w.dropLocked()
	n += w.held
	w.arena.drop() // a kept Handle keeps its chunk, not the wheel
	w.held = 0
	started := w.started
	w.dropping = started && len(ds) > 0
	w.mu.Unlock()
	for _, d := range ds {
		w.drop(d)
	}
	if !started {
		close(w.done) // no driver, and none can start now
		return n
	}
	if len(ds) > 0 {
		// The driver may have seen stopped and exited meanwhile: then
		// closing done is left to us, now that the Droppeds have returned.
		w.mu.Lock()
		w.dropping = false
		exited := w.exited
		w.mu.Unlock()
		if exited {
			close(w.done)
			return n
		}
	}
	w.notify() // the driver sees stopped, tells the Droppers it held, exits and closes done
	return n
}

// Done returns a channel that is closed once the wheel is stopped and its
// driver goroutine has exited: after [Wheel.Stop], as soon as the callback
// in progress, if any, and every [Dropper.Dropped] the stop calls have
// returned (at once if no driver ever started and no Dropper was dropped).
// It is never closed before Stop is called. Receive from it to wait for
// the last callback, as with [context.Context.Done]; never from inside a
// callback, which would wait for itself.
//
// Done returns the same channel every time. It does not block and is safe
// for concurrent use. Cost: O(1), no allocation.
func (w *Wheel) Done() <-chan struct{} {
	if !w.made() {
		return closedDone
	}
	return w.done
}

// closedDone is the Done of a nil or zero Wheel.
var closedDone = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// Len returns the number of pending timers: scheduled, not yet taken out
// to run, not stopped. It does not block beyond a short critical section
// and is safe for concurrent use. Cost: O(1).
func (w *Wheel) Len() int {
	if w == nil {
		return 0
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// Panics returns the number of callback panics the wheel has recovered.
// It does not block and is safe for concurrent use. Cost: O(1).
func (w *Wheel) Panics() uint64 {
	if w == nil {
		return 0
	}
	return w.panics.Load()
}

// deadline returns the tick at which a timer set now for d is due: the
// first tick boundary at or after now+d, or after now if d <= 0, capped
// at the last tick a timer can store (48 bits: see MinTick), which a
// delay reaches only at ticks under 33µs. Time is measured on the
// monotonic clock from w.start.
func (w *Wheel) deadline(d time.Duration) uint64 {
	if d <= 0 {
		d = 1
	}
	ns := uint64(time.Since(w.start)) + uint64(d) // both < 2^63: no overflow
	when, r := w.divTick(ns)
	if r != 0 {
		when++
	}
	return min(when, whenMask) // beyond it, setWhen would wrap: fire early
}

// reciprocal returns ceil(2^64 / d) for d >= 2 (a tick is at least 1000).
func reciprocal(d uint64) uint64 {
	q, r := bits.Div64(1, 0, d)
	if r != 0 {
		q++
	}
	return q
}

// divTick returns n / tick and n % tick for n < 2^63 with two multiplies
// instead of a division (a 64-bit DIV is the slowest step of arming a
// timer after reading the clock). With m = ceil(2^64/tick), n*m/2^64
// exceeds n/tick by less than n/2^64 < 1/2, so its floor is the quotient
// or one more; the remainder tells which.
func (w *Wheel) divTick(n uint64) (q, r uint64) {
	tick := uint64(w.tick)
	q, _ = bits.Mul64(n, w.recip)
	if p := q * tick; p > n {
		return q - 1, n - (p - tick)
	}
	return q, n - q*tick
}

// notify wakes the driver if it sleeps, without blocking.
func (w *Wheel) notify() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}
