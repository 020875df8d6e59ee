package actor

import (
	"fmt"
	"time"

	"github.com/troupe-go/troupe/internal/engine"
	"github.com/troupe-go/troupe/internal/nilness"
)

// Directive is what happens to an actor whose handler panicked.
type Directive uint8

const (
	// directiveDefault, the zero value, means Resume for Spawn and Restart
	// for SpawnFunc.
	directiveDefault Directive = iota
	// Resume keeps the state and goes on with the next message.
	Resume
	// Restart replaces the state with a fresh one from the factory given to
	// SpawnFunc, after a backoff on the timer wheel, within a budget. The
	// old state's timers, streams and whitelist (Ctx.Only) go with it.
	Restart
	// Terminate stops the actor at once (as Kill does): queued calls fail
	// with ErrStopped wrapping the panic.
	Terminate
)

// String is the directive's name in lower case ("resume", "restart",
// "terminate"; "default" for the zero value: Resume for Spawn, Restart
// for SpawnFunc).
func (d Directive) String() string {
	switch d {
	case directiveDefault:
		return "default"
	case Resume:
		return "resume"
	case Restart:
		return "restart"
	case Terminate:
		return "terminate"
	}
	return fmt.Sprintf("Directive(%d)", uint8(d))
}

// Supervision is an actor's failure policy. The zero value means the
// default: Resume for Spawn, Restart for SpawnFunc, with the budget and
// backoff defaults below; each zero field takes its default.
type Supervision struct {
	Directive   Directive     // zero: Resume for Spawn, Restart for SpawnFunc
	MaxRestarts int           // restarts allowed within Window; 0 = 3
	Window      time.Duration // sliding window; 0 = 5 s
	Backoff     time.Duration // first restart's delay, doubled each restart in the window; 0 = 10 ms
	MaxBackoff  time.Duration // cap; 0 = 1 s
}

// Defaults of a restarting actor: at most 3 restarts within 5 s (then it
// stops for good), the first after 10 ms, doubling up to 1 s.
const (
	defaultMaxRestarts   = 3
	defaultRestartWindow = 5 * time.Second
	defaultBackoff       = 10 * time.Millisecond
	defaultMaxBackoff    = time.Second
)

// WithSupervision sets the actor's failure policy.
// Errors from Spawn: ErrInvalidOption for an unknown directive or a
// negative MaxRestarts; ErrInvalidOption wrapping ErrNegativeDuration for
// a negative Window, Backoff or MaxBackoff.
func WithSupervision(s Supervision) Option {
	return optionFunc(func(c *spawnConfig) { c.sup = s })
}

func (s Supervision) validate() error {
	switch {
	case s.Directive > Terminate:
		return fmt.Errorf("%w: unknown directive %d", ErrInvalidOption, s.Directive)
	case s.MaxRestarts < 0:
		return fmt.Errorf("%w: MaxRestarts %d < 0", ErrInvalidOption, s.MaxRestarts)
	case s.Window < 0, s.Backoff < 0, s.MaxBackoff < 0:
		return fmt.Errorf("%w: %w: restart window or backoff", ErrInvalidOption, ErrNegativeDuration)
	}
	return nil
}

// Starter is implemented by states that want to run code when the actor
// starts (and after each restart), on the actor's turn before any call.
// It does not run on an actor killed before that turn (a Kill right after
// Spawn, a kill while a restart makes the fresh state): the actor will run
// nothing, and its Context would be cancelled already. A graceful stop
// before that turn still runs it, then the queue. A [Stopper]'s hook runs
// either way, so it must not assume that Started ran.
type Starter interface {
	Started(c *Ctx)
}

// Stopper is implemented by states that want to run code when the actor
// stops, on its turn, after the queue is done and the children stopped.
// It runs exactly once, however many times Stop is called, and never for
// a Spawn that failed (even one refused after a Lookup found its name,
// see Spawn): the state is then its caller's again. Its Context is
// cancelled if the actor is killed, before the hook or while it runs (a
// Stop whose ctx ends is a kill), not by a graceful stop.
type Stopper interface {
	Stopping(c *Ctx)
}

// supervisor is a cell's failure policy and restart bookkeeping; touched
// only on the actor's turn. Actors with the default (Resume, no factory)
// have none.
type supervisor struct {
	policy   Supervision
	factory  func() (any, error) // a fresh state; a panic or a nil state is an error
	restarts []time.Time         // restart times within the window
	backoff  time.Duration       // the pending restart's delay
	cause    *PanicError         // the panic the pending restart follows
	// restarting is told of each planned restart (a pool routes around
	// the worker until its fresh state is made); nil for most actors.
	restarting func()
	// admitted is told when the actor's whitelist changed (a Balancing
	// pool arms its workers by it); nil for most actors.
	admitted func()
	// onTurn reports whether the actor's atStop functions would now run
	// user code (a pool's worker would be replaced, with the pool's
	// factory: see Pool.gone): a stop then never finalizes it on the
	// stopper's goroutine (see requestStop). Set at spawn, and called
	// from any goroutine; nil for most actors.
	onTurn func() bool
}

func newSupervisor[S any](s Supervision, factory func() S) *supervisor {
	if s.Directive == directiveDefault {
		s.Directive = Resume
		if factory != nil {
			s.Directive = Restart
		}
	}
	if s == (Supervision{Directive: Resume}) && factory == nil {
		return nil // the default of Spawn: nothing to keep
	}
	sv := &supervisor{policy: s}
	if factory != nil {
		sv.factory = func() (state any, err error) {
			defer func() {
				if v := recover(); v != nil {
					err = newPanicError("factory", v)
				}
			}()
			s := factory()
			if nilness.Is(s) {
				return nil, fmt.Errorf("factory: %w", ErrNilState)
			}
			return s, nil
		}
	}
	if sv.policy.MaxRestarts == 0 {
		sv.policy.MaxRestarts = defaultMaxRestarts
	}
	if sv.policy.Window == 0 {
		sv.policy.Window = defaultRestartWindow
	}
	if sv.policy.Backoff == 0 {
		sv.policy.Backoff = defaultBackoff
	}
	if sv.policy.MaxBackoff == 0 {
		sv.policy.MaxBackoff = defaultMaxBackoff
	}
	return sv
}

// failed applies the supervision policy after a handler panicked. A panic
// in a system message (a lifecycle hook) is reported and changes nothing.
func (c *cell) failed(pe *PanicError, system bool) {
	if system {
		c.deadLetter(engine.ReasonFailed, pe.Method, pe, nil)
		return
	}
	if c.sup == nil {
		return // Resume
	}
	switch c.sup.policy.Directive {
	case Terminate:
		c.kill(pe)
	case Restart:
		c.planRestart(pe)
	}
}

// planRestart spends one restart of the budget and pauses the actor for the
// backoff (the turn arms it as it ends: see pause), or stops it for good
// when the budget is spent.
func (c *cell) planRestart(pe *PanicError) {
	sv := c.sup
	p := &sv.policy
	now := time.Now()
	kept := sv.restarts[:0]
	for _, t := range sv.restarts {
		if now.Sub(t) < p.Window {
			kept = append(kept, t)
		}
	}
	sv.restarts = kept
	if len(kept) >= p.MaxRestarts {
		c.kill(fmt.Errorf("restart budget of %d in %v spent: %w", p.MaxRestarts, p.Window, pe))
		return
	}
	sv.restarts = append(sv.restarts, now)
	// Backoff doubled once per earlier restart, capped: compared before
	// the shift, which would wrap around (to a short delay, even 0) once
	// the doubling passes 2^63.
	if n := len(sv.restarts) - 1; n < 63 && p.Backoff <= p.MaxBackoff>>n {
		sv.backoff = p.Backoff << n
	} else {
		sv.backoff = p.MaxBackoff
	}
	sv.cause = pe
	c.paused = true
	if sv.restarting != nil {
		sv.restarting()
	}
}

// restart replaces the state with a fresh one and runs its Started hook.
// The old instance's timers die with it (a tick already queued is dropped:
// its timer is no longer live), and so do the streams it produced, ended
// with the panic that killed it, and its whitelist: the fresh state starts
// admitting every call, as at spawn (its Started hook may call Only), and
// the calls held run next, in arrival order. A factory that panics or
// returns nil kills the actor instead (as does a kill that comes while
// the factory runs: no Started hook runs then), with that cause (it runs outside
// the turn's recover: a panic here would leave the actor holding its
// scheduled flag for good).
func (c *cell) restart(x *Ctx) {
	c.mu.Lock()
	e := c.extLocked()
	ts, streams := e.timers, e.streams
	e.timers, e.backoff = nil, nil
	c.mu.Unlock()
	ts.stopAll()
	var cause error
	if c.sup.cause != nil {
		cause = c.sup.cause
	}
	c.endWork(cause)
	if streams != nil {
		// Streams the dead state produced (an Out kept in it) end with
		// its panic: their readers are not left waiting for Sends that
		// will never come.
		streams.endOpen(c.sup.cause)
	}
	s, err := c.sup.factory()
	if err != nil {
		c.kill(fmt.Errorf("restart: %w", err))
		return
	}
	if c.status.Load() >= statusKilling {
		// Killed while the state was made (a pool worker's factory kills
		// its worker when it fails, and returns the old state): the
		// fresh state, if any, never starts; the turn fails the queue.
		return
	}
	c.state = s
	c.admit = nil
	c.mb.AdmitAll()
	c.admitChanged()
	if _, ok := c.state.(Starter); ok {
		c.invoke(x, startedMsg.env(), true)
	}
}
