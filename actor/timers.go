package actor

import (
	"errors"
	"fmt"
	"time"

	"github.com/troupe-go/troupe/internal/engine"
	"github.com/troupe-go/troupe/mailbox"
	"github.com/troupe-go/troupe/timer"
)

// keyed is an actor's keyed timer, made by After or Every. Its ticks are
// self-casts of a method, run on the actor's turn like any call.
type keyed struct {
	self   message // the timer's tick, (*timerMsg)(itself) (see envelope)
	hop    message // the tick past a full mailbox, (*tickHop)(itself): a system message (see tick)
	c      *cell
	tkey   string
	period time.Duration // 0 for After
	wt     timer.Timer   // the wheel timer, embedded (no allocation per tick); its Stop and Start are under c.mu
	queued bool          // a tick is in the mailbox; guarded by c.mu
	fire   func(*Ctx)    // runs the method on the actor's turn
	label  string
	mkey   mailbox.Key
}

// timerSet is an actor's live timers by key; guarded by the cell's mu.
type timerSet struct {
	m map[string]*keyed
}

// After casts req to method m of the actor handling c once, after d. Key names
// the timer: starting a timer under a key in use cancels the old one, and a
// tick of the old one already queued is not delivered. The timer dies with the
// actor; Ctx.CancelTimer cancels it. Errors: ErrNegativeDuration,
// ErrInvalidName (empty key), ErrWrongActor, ErrStopped, ErrNilContext (a nil
// or zero c). Cost: O(1) on the runtime's timer wheel.
func After[S, Q, R any](c *Ctx, key string, d time.Duration, m *Method[S, Q, R], req Q) error {
	return startTimer(c, key, d, 0, m, req)
}

// Every casts req to method m of the actor handling c every d, the first
// time after d, until Ctx.CancelTimer(key), the key is restarted, or the actor
// stops. Ticks do not pile up: while one is queued, the next is skipped.
// Errors as for After; d must be > 0.
func Every[S, Q, R any](c *Ctx, key string, d time.Duration, m *Method[S, Q, R], req Q) error {
	if d == 0 {
		return fmt.Errorf("%w: Every needs a period > 0", ErrInvalidOption)
	}
	return startTimer(c, key, d, d, m, req)
}

func startTimer[S, Q, R any](x *Ctx, key string, d, period time.Duration, m *Method[S, Q, R], req Q) error {
	if x == nil || x.c == nil {
		return ErrNilContext
	}
	if d < 0 {
		return fmt.Errorf("%w: %v", ErrNegativeDuration, d)
	}
	if key == "" {
		return fmt.Errorf("%w: empty timer key", ErrInvalidName)
	}
	if err := m.usable(); err != nil {
		return err
	}
	if !m.Accepts(x.c.state) {
		return fmt.Errorf("%w: %s cannot run on %T", ErrWrongActor, m.label, x.c.state)
	}
	c := x.c
	t := &keyed{c: c, tkey: key, period: period, label: m.label, mkey: m.k}
	t.self = (*timerMsg)(t)
	t.hop = (*tickHop)(t)
	t.fire = func(x *Ctx) { m.handle(x, req) }
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.status.Load() != statusRunning {
		return ErrStopped
	}
	e := c.extLocked()
	if e.timers == nil {
		e.timers = &timerSet{m: make(map[string]*keyed)}
	}
	if old := e.timers.m[key]; old != nil {
		old.stopLocked()
	}
	if err := c.sys.Wheel.Start(&t.wt, d, t); err != nil {
		return ErrStopped
	}
	e.timers.m[key] = t
	return nil
}

// Fire is the timer's callback: see tick.
func (t *keyed) Fire() { t.tick() }

// tick runs on the wheel's goroutine: queue a tick (never blocking the
// wheel) and re-arm a periodic timer. It only offers the tick to the
// mailbox: a full one would refuse it, or make room for it (evicting a
// message, discarding the dead ones), and each such loss is a dead letter,
// whose hook is user code, which must not run here (a hook that blocks
// would stall every timer of the runtime, call deadlines included). So on
// a full mailbox the tick goes to the actor's system lane (unbounded: it
// refuses nothing), and the actor's turn pushes it (see queue), where the
// hook is bounded as a handler is.
func (t *keyed) tick() {
	c := t.c
	c.mu.Lock()
	if !t.liveLocked() {
		c.mu.Unlock()
		return // stopped or replaced meanwhile
	}
	send := !t.queued
	t.queued = true
	if t.period > 0 {
		_ = c.sys.Wheel.Start(&t.wt, t.period, t) // fails only once the wheel stopped: the runtime is closing
	}
	c.mu.Unlock()
	if !send {
		return
	}
	if err := c.offerFromWheel(envelope{msg: &t.self}, func() envelope { return envelope{msg: &t.hop} }); err != nil {
		// Closed: the actor stopped since this tick began, and its
		// timers died with it: dropped quietly, as a queued tick is
		// (fail).
		c.mu.Lock()
		t.lostLocked()
		c.mu.Unlock()
	}
}

// offerFromWheel queues e from the timer wheel's goroutine, which must run
// no user code: a full mailbox would make room for e (evicting a message,
// discarding dead ones), and each such loss is a dead letter, whose hook
// is user code. So e is only offered; on a full mailbox hop's message (a
// system message that pushes e on the actor's turn, where such losses are
// reported) goes to the unbounded system lane instead. The actor is
// scheduled if this took its flag. Errors: mailbox.ErrClosed.
func (c *cell) offerFromWheel(e envelope, hop func() envelope) error {
	sched, err := c.mb.Offer(e)
	if errors.Is(err, mailbox.ErrFull) {
		sched, err = c.mb.PushSystem(hop())
	}
	if err == nil && sched {
		c.schedule()
	}
	return err
}

// queue pushes a tick that found its mailbox full (see tick) on the
// actor's turn, as the wheel would have: the mailbox makes room for it per
// its policy, or refuses it.
func (t *keyed) queue() {
	c := t.c
	c.mu.Lock()
	live := t.liveLocked()
	c.mu.Unlock()
	if !live {
		return // stopped or replaced since it fired
	}
	// Never waits: a full Block mailbox would wait for this very turn.
	sched, err := c.mb.TryPush(envelope{msg: &t.self})
	if err != nil {
		c.mu.Lock()
		t.lostLocked()
		c.mu.Unlock()
		if err = pushErr(err); errors.Is(err, ErrStopped) {
			return // the actor stopped: the tick goes quietly (see tick)
		}
		c.refused(t.label, err, nil)
		return
	}
	if sched {
		c.schedule()
	}
}

// lostLocked is a tick that never ran (refused by the mailbox, evicted,
// dropped by a stop): it is no longer queued, and an After whose one tick
// that was is over, as if it had run: its key is free (CancelTimer finds
// no timer), and a key used once per request does not stay in the set.
// The caller holds the cell's mu.
func (t *keyed) lostLocked() {
	t.queued = false
	if t.period == 0 && t.liveLocked() {
		delete(t.c.ext.timers.m, t.tkey)
	}
}

// stop cancels the timer: no tick runs after it returns, even one already
// queued. It reports whether the timer was live.
func (t *keyed) stop() bool {
	if t == nil {
		return false
	}
	t.c.mu.Lock()
	defer t.c.mu.Unlock()
	if !t.liveLocked() {
		return false
	}
	t.stopLocked()
	return true
}

func (t *keyed) stopLocked() {
	t.wt.Stop()
	delete(t.c.ext.timers.m, t.tkey)
}

// liveLocked reports whether t is its key's current timer (the generation
// check). The caller holds the cell's mu.
func (t *keyed) liveLocked() bool {
	ts := t.c.extLocked().timers
	return ts != nil && ts.m[t.tkey] == t
}

// CancelTimer stops the actor's timer under key, reporting whether there
// was one.
func (x *Ctx) CancelTimer(key string) bool {
	if x == nil || x.c == nil {
		return false
	}
	x.c.mu.Lock()
	var t *keyed
	if ts := x.c.extLocked().timers; ts != nil {
		t = ts.m[key]
	}
	x.c.mu.Unlock()
	return t.stop()
}

// stopAll cancels every timer; the set is no longer reachable from the cell.
func (ts *timerSet) stopAll() {
	if ts == nil {
		return
	}
	for _, t := range ts.m {
		t.wt.Stop()
	}
}

// timerMsg is a queued tick. It runs only if its timer is still the live
// one for its key (the generation check): a tick queued before a Stop or a
// restart of the key is dropped.
type timerMsg keyed

func (m *timerMsg) key() mailbox.Key { return m.mkey }
func (m *timerMsg) name() string     { return m.label }
func (m *timerMsg) live() bool       { return true }
func (m *timerMsg) run(x *Ctx, _ payload) {
	t := (*keyed)(m)
	c := t.c
	c.mu.Lock()
	current := t.liveLocked()
	t.queued = false
	if current && t.period == 0 {
		delete(c.ext.timers.m, t.tkey)
	}
	c.mu.Unlock()
	if current {
		t.fire(x)
	}
}

// fail reports a tick that failed (its method's error or panic) or was
// refused, except one dropped by the actor's stop: every timer dies with
// the actor, so that tick goes quietly, as run would drop it. (Its timer
// may still look live: a stop moves the status before it takes the
// timers, and the turn may fail the tick in between.) A tick that never
// ran is no longer queued: a periodic timer whose tick was evicted from a
// full mailbox queues the next one; an After is over (see lostLocked).
// (One that ran and panicked was unqueued by run; a later tick may be
// queued by now.)
func (m *timerMsg) fail(to *cell, _ payload, err error, why uint8) {
	if why != engine.ReasonFailed {
		t := (*keyed)(m)
		t.c.mu.Lock()
		t.lostLocked()
		t.c.mu.Unlock()
	}
	if why == engine.ReasonStopped {
		return
	}
	to.deadLetter(why, m.label, err, nil)
}

// tickHop is a tick that found its mailbox full, on its way from the wheel
// to the actor's user lane: a system message, run on the actor's turn (see
// tick).
type tickHop keyed

func (m *tickHop) key() mailbox.Key      { return sysKey }
func (m *tickHop) name() string          { return m.label }
func (m *tickHop) live() bool            { return true }
func (m *tickHop) run(_ *Ctx, _ payload) { (*keyed)(m).queue() }

// fail: the actor stopped with the tick on its way, which goes quietly (as
// a queued tick does), or the dead-letter hook told of its loss ended the
// turn (runtime.Goexit, reported as the hop's failure): either way it is
// no longer queued.
func (m *tickHop) fail(*cell, payload, error, uint8) {
	t := (*keyed)(m)
	t.c.mu.Lock()
	t.lostLocked()
	t.c.mu.Unlock()
}
