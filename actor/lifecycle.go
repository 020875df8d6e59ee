package actor

import (
	"fmt"
	"time"
)

// start queues the Started hook, if the state has one, ahead of any call.
func (c *cell) start() {
	if _, ok := c.state.(Starter); ok {
		c.pushSystem(startedMsg)
	}
}

var startedMsg = &sysMsg{label: "started", f: func(x *Ctx) {
	if s, ok := x.c.state.(Starter); ok {
		s.Started(x)
	}
}}

var stoppingMsg = &sysMsg{label: "stopping", f: func(x *Ctx) {
	if s, ok := x.c.state.(Stopper); ok {
		s.Stopping(x)
	}
}}

// runStopping runs the Stopping hook once, through invoke so that a panic
// in it is recovered and reported like any other.
func (c *cell) runStopping() {
	if c.hooked {
		return
	}
	c.hooked = true
	if _, ok := c.state.(Stopper); !ok {
		return
	}
	x := getCtx(c)
	c.invoke(x, envelope{msg: stoppingMsg}, true)
	putCtx(x)
}

// failed applies the supervision policy after a handler panicked. A panic
// in a system message (a lifecycle hook) is reported and changes nothing.
func (c *cell) failed(pe *PanicError, system bool) {
	if system {
		c.sys.deadLetter(DeadLetter{Reason: ReasonFailed, Actor: c.String(), Method: pe.Method, Err: pe})
		return
	}
	if c.sup == nil {
		return // Resume
	}
	switch c.sup.policy.Directive {
	case Resume:
	case Stop:
		c.finalize(pe)
	case Restart:
		c.planRestart(pe)
	}
}

// planRestart spends one restart of the budget and pauses the actor for the
// backoff (keeping its scheduled flag, so no turn runs), or stops it for
// good when the budget is spent.
func (c *cell) planRestart(pe *PanicError) {
	p := &c.sup.policy
	now := time.Now()
	kept := c.sup.restarts[:0]
	for _, t := range c.sup.restarts {
		if now.Sub(t) < p.Window {
			kept = append(kept, t)
		}
	}
	c.sup.restarts = kept
	if len(kept) >= p.MaxRestarts {
		c.finalize(fmt.Errorf("restart budget of %d in %v spent: %w", p.MaxRestarts, p.Window, pe))
		return
	}
	c.sup.restarts = append(c.sup.restarts, now)
	backoff := p.Backoff << (len(c.sup.restarts) - 1)
	if backoff > p.MaxBackoff || backoff <= 0 {
		backoff = p.MaxBackoff
	}
	c.paused = true
	if _, err := c.sys.cfg.Wheel.AfterFunc(backoff, c.schedule); err != nil {
		c.paused = false
		c.finalize(pe)
	}
}

// restart replaces the state with a fresh one and runs its Started hook.
func (c *cell) restart(x *Ctx) {
	c.paused = false
	// The old instance's timers die with it; a tick already queued is
	// dropped by its generation check.
	c.mu.Lock()
	e := c.extLocked()
	ts := e.timers
	e.timers = nil
	c.mu.Unlock()
	ts.stopAll()
	c.state = c.sup.factory()
	if _, ok := c.state.(Starter); ok {
		c.invoke(x, envelope{msg: startedMsg}, true)
	}
}
