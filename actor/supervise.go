package actor

import (
	"fmt"
	"time"
)

// Directive is what happens to an actor whose handler panicked.
type Directive uint8

const (
	// Resume keeps the state and goes on with the next message.
	Resume Directive = iota
	// Restart replaces the state with a fresh one from the factory given to
	// SpawnFunc, after a backoff on the timer wheel, within a budget.
	Restart
	// Stop stops the actor: queued calls fail with ErrStopped wrapping the
	// panic.
	Stop
)

func (d Directive) String() string {
	switch d {
	case Resume:
		return "resume"
	case Restart:
		return "restart"
	case Stop:
		return "stop"
	}
	return fmt.Sprintf("Directive(%d)", uint8(d))
}

// Supervision is an actor's failure policy. The zero value means the
// default: Resume for Spawn, Restart for SpawnFunc, with the budget and
// backoff defaults below.
type Supervision struct {
	Directive   Directive
	MaxRestarts int           // restarts allowed within Window; 0 = DefaultMaxRestarts
	Window      time.Duration // sliding window; 0 = DefaultRestartWindow
	Backoff     time.Duration // first restart's delay, doubled each restart in the window; 0 = DefaultBackoff
	MaxBackoff  time.Duration // cap; 0 = DefaultMaxBackoff
	set         bool
}

// Defaults of a restarting actor: at most 3 restarts within 5 s (then it
// stops for good), the first after 10 ms, doubling up to 1 s.
const (
	DefaultMaxRestarts   = 3
	DefaultRestartWindow = 5 * time.Second
	DefaultBackoff       = 10 * time.Millisecond
	DefaultMaxBackoff    = time.Second
)

// WithSupervision sets the actor's failure policy.
func WithSupervision(s Supervision) Option {
	s.set = true
	return optionFunc(func(c *spawnConfig) { c.sup = s })
}

func (s Supervision) validate() error {
	switch {
	case s.Directive > Stop:
		return fmt.Errorf("%w: unknown directive %d", ErrInvalidOption, s.Directive)
	case s.MaxRestarts < 0, s.Window < 0, s.Backoff < 0, s.MaxBackoff < 0:
		return fmt.Errorf("%w: negative restart budget or backoff", ErrNegativeDuration)
	}
	return nil
}

// Starter is implemented by states that want to run code when the actor
// starts (and after each restart), on the actor's turn before any call.
type Starter interface {
	Started(c *Ctx)
}

// Stopper is implemented by states that want to run code when the actor
// stops, on its turn, after the queue is done and the children stopped.
// It runs exactly once, however many times Stop is called.
type Stopper interface {
	Stopping(c *Ctx)
}

// supervisor is a cell's failure policy and restart bookkeeping; touched
// only on the actor's turn. Actors with the default (Resume, no factory)
// have none.
type supervisor struct {
	policy   Supervision
	factory  func() any
	restarts []time.Time // restart times within the window
}

func newSupervisor[S any](s Supervision, factory func() S) *supervisor {
	if !s.set && factory == nil {
		return nil
	}
	sv := &supervisor{policy: s}
	if factory != nil {
		sv.factory = func() any { return factory() }
		if !s.set {
			sv.policy.Directive = Restart
		}
	}
	if sv.policy.MaxRestarts == 0 {
		sv.policy.MaxRestarts = DefaultMaxRestarts
	}
	if sv.policy.Window == 0 {
		sv.policy.Window = DefaultRestartWindow
	}
	if sv.policy.Backoff == 0 {
		sv.policy.Backoff = DefaultBackoff
	}
	if sv.policy.MaxBackoff == 0 {
		sv.policy.MaxBackoff = DefaultMaxBackoff
	}
	return sv
}
