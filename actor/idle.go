package actor

import (
	"errors"
	"fmt"
	"time"

	"github.com/troupe-go/troupe/mailbox"
	"github.com/troupe-go/troupe/timer"
)

// WithIdleTimeout casts req to method m of the actor once it has handled
// no message for d: the session actor's timeout, without re-arming a timer
// in every method. The count starts at spawn and restarts after each turn
// that ran a user message other than m's idle cast (a call, a cast, a
// timer's tick; one clock read per such turn, on this actor only). It
// fires once per idle spell: a later message re-arms it (an idle cast
// already queued still runs). m runs as an ordinary
// Cast (whitelists, supervision and dead letters apply), queued from the
// actor's own turn without waiting: a full mailbox, whatever its policy,
// refuses it (a dead letter, runtime.ReasonMailboxFull), and it is cast
// again d later if the actor is still idle then. It often calls
// c.Stop(). Errors from Spawn: ErrInvalidOption (d <= 0, or a nil or
// invalid method), ErrWrongActor (m belongs to another actor type).
func WithIdleTimeout[S, Q, R any](d time.Duration, m *Method[S, Q, R], req Q) Option {
	spec := &idleSpec{d: d, err: m.usable(), accepts: m.Accepts}
	if spec.err == nil {
		spec.name = m.label
	}
	ic := &idleCall[S, Q, R]{m: m, req: req}
	ic.self = ic
	spec.cast = func(c *cell) error {
		if err := idlePush(c, envelope{msg: &ic.self}); err != nil {
			c.refused(m.label, err, req)
			return err
		}
		return nil
	}
	return optionFunc(func(c *spawnConfig) { c.idle = spec })
}

// idlePush queues an idle cast from the actor's own turn, never at a
// queued message's expense: it never waits, not for room in a full
// Block-policy mailbox, which only this turn could make (the actor, and
// any stop, would stall for the call timeout), and never evicts the
// oldest call of a full DropOldest one (its caller would get ErrDropped
// for the sake of a notice that the actor is idle, while calls wait for
// it). A full mailbox refuses it with ErrMailboxFull; dead calls are
// still discarded to make room, except in a DropOldest mailbox (where
// only Offer makes no eviction).
func idlePush(c *cell, e envelope) error {
	if !c.mb.Evicts() {
		return tryPush(c, e)
	}
	if c.status.Load() != statusRunning {
		return ErrStopped
	}
	sched, err := c.mb.Offer(e)
	if err != nil {
		return pushErr(err)
	}
	if sched {
		c.schedule()
	}
	return nil
}

// IdleOnTouch makes WithIdleTimeout's count restart only when a handler
// calls [Ctx.TouchIdle], not after every call: for an actor whose own
// activity is some of its calls only (a connection's frames, say, not the
// messages other actors send it). Without WithIdleTimeout it does nothing.
func IdleOnTouch() Option {
	return optionFunc(func(c *spawnConfig) { c.idleTouched = true })
}

// TouchIdle restarts the actor's idle count (see WithIdleTimeout and
// IdleOnTouch) now; it does nothing on an actor without an idle timeout.
// On the actor's turn only. Cost: a lock and a clock read.
func (x *Ctx) TouchIdle() {
	if x != nil && x.c != nil && x.c.idling {
		x.c.touchIdle(true)
	}
}

// idleCall is the idle timeout's cast of its method: a oneway like any
// other, but not activity that restarts the idle count. One per
// WithIdleTimeout option, made with its request, and shared by the actors
// spawned with that option: it never changes, and each idle spell's cast
// carries it.
type idleCall[S, Q, R any] struct {
	self message // the idleCall itself (see envelope)
	m    *Method[S, Q, R]
	req  Q
}

func (ic *idleCall[S, Q, R]) key() mailbox.Key      { return ic.m.k }
func (ic *idleCall[S, Q, R]) name() string          { return ic.m.label }
func (ic *idleCall[S, Q, R]) live() bool            { return true }
func (ic *idleCall[S, Q, R]) run(x *Ctx, _ payload) { ic.m.handle(x, ic.req) }
func (ic *idleCall[S, Q, R]) fail(to *cell, _ payload, err error, why uint8) {
	to.deadLetter(why, ic.m.label, err, ic.req)
}
func (ic *idleCall[S, Q, R]) idle() {}

// isIdleCall reports whether msg is an idle timeout's cast.
func isIdleCall(msg message) bool {
	_, ok := msg.(interface{ idle() })
	return ok
}

// idleSpec is WithIdleTimeout's setting.
type idleSpec struct {
	d       time.Duration
	name    string // the method's
	err     error  // the method's, if it cannot be called
	accepts func(state any) bool
	cast    func(c *cell) error
	gap     func(c *cell) // test hook: runs between reading the idle timer and re-arming it
}

func (s *idleSpec) validate(state any) error {
	switch {
	case s.d <= 0:
		return fmt.Errorf("%w: idle timeout %v must be > 0", ErrInvalidOption, s.d)
	case s.err != nil:
		return fmt.Errorf("%w: idle timeout: %w", ErrInvalidOption, s.err)
	case !s.accepts(state):
		return fmt.Errorf("%w: idle timeout: %s cannot run on %T", ErrWrongActor, s.name, state)
	}
	return nil
}

// idleTimer is an actor's idle timeout. spec and wt are set at spawn; last
// and armed are touched only on the actor's turn. The cell's ext holds it
// (guarded by mu) until a stop disarms it.
type idleTimer struct {
	spec    *idleSpec
	c       *cell
	wt      timer.Timer // fires an idleCheck (embedded: it lives as long as the actor, and pins no slab of the wheel's)
	last    time.Time   // the end of the last turn that ran a call, or the last TouchIdle
	armed   bool
	touched bool // only Ctx.TouchIdle restarts the count (IdleOnTouch)
}

// Fire is the idle timer's callback, on the wheel's goroutine.
func (it *idleTimer) Fire() { it.c.pushSystem(idleCheck) }

// armIdle starts the idle count at spawn, once the actor has joined the
// runtime (or its parent): a stop may have come first (the runtime's
// Close, the parent's), and then it returns ErrStopped and arms nothing.
// Under mu, so that a stop that comes later takes the timer (disarm).
// Spawn has set c.idling before: a named actor may be running a turn
// already, which finds no idle timer until this one is set.
func (c *cell) armIdle(spec *idleSpec, touched bool) error {
	it := &idleTimer{spec: spec, c: c, last: time.Now(), armed: true, touched: touched}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.status.Load() != statusRunning {
		return ErrStopped
	}
	if err := c.sys.Wheel.Start(&it.wt, spec.d, it); err != nil {
		return ErrStopped
	}
	c.extLocked().idle = it
	return nil
}

// idleTimer returns the actor's idle timer, or nil once stopped.
func (c *cell) idleTimer() *idleTimer {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ext == nil {
		return nil
	}
	return c.ext.idle
}

// touchIdle restarts the idle count: at the end of a turn that ran a
// call, unless the count is restarted only by Ctx.TouchIdle (touched).
func (c *cell) touchIdle(touched bool) {
	it := c.idleTimer()
	if it == nil || it.touched && !touched {
		return
	}
	it.last = time.Now()
	if !it.armed {
		it.armed = true
		c.rearmIdle(it, it.spec.d)
	}
}

// rearmIdle re-arms the idle timer it, which the caller read from the cell
// on the actor's turn, unless a stop has taken it since (disarm, under mu):
// re-armed after that stop's wt.Stop, it would outlive the actor, holding
// the cell and its state until it fired into the closed mailbox. Under mu,
// as armIdle starts it, so that the stop's take sees it armed or not at all.
func (c *cell) rearmIdle(it *idleTimer, d time.Duration) {
	if it.spec.gap != nil {
		it.spec.gap(c)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ext == nil || c.ext.idle != it {
		return // stopped: disarm took it
	}
	it.wt.Reset(d)
}

// checkIdle runs on the turn when the idle timer fires (the idleCheck
// system message): it casts the idle method if the actor has been idle
// long enough, else waits for the rest.
func (c *cell) checkIdle() {
	it := c.idleTimer()
	if it == nil || c.status.Load() != statusRunning {
		return
	}
	if rest := it.spec.d - time.Since(it.last); rest > 0 {
		c.rearmIdle(it, rest)
		return
	}
	it.armed = false
	if err := it.spec.cast(c); err != nil && !errors.Is(err, ErrStopped) {
		// Refused (the cast reported it): the mailbox is full. That was
		// not this idle spell's cast, and with IdleOnTouch nothing else
		// would re-arm the count: it is tried again d later, unless a
		// call restarts the count first.
		it.armed = true
		c.rearmIdle(it, it.spec.d)
	}
}
