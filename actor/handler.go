package actor

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"

	"github.com/troupe-go/troupe/internal/nilness"
	"github.com/troupe-go/troupe/mailbox"
)

// Handler is an actor driven by its owner's goroutine instead of the
// scheduler (gevent_async's DeferredCallHandler): other goroutines Call and
// Cast to h.Ref() as usual, and the owner runs the pending calls at its own
// safe points with Process. This embeds an actor in an existing loop: a game
// tick, a resource manager. Every guarantee holds: one call at a time,
// deadlines, panics to the caller, held calls never lost. A nil or zero
// Handler (not made by NewHandler) has a nil Ref, and its Process returns
// ErrNilRef.
type Handler[S any] struct {
	ref *Ref[S]
}

// owner is the consumer role of an owner-driven actor: whoever holds busy
// runs its messages (the owner in Process, or a scheduler loop running the
// actor's stop when the owner is away: see drive).
type owner struct {
	busy     atomic.Bool
	kick     chan struct{} // a turn is wanted (cap 1)
	stopProc chan struct{} // StopProcessing (cap 1)
	only     []mailbox.Key // a running Process's Admitting keys (nil: none); whoever holds busy
	filtered bool          // a running Process admits only keys
}

// NewHandler makes an owner-driven actor owning state. It takes the same
// options and returns the same errors as Spawn.
func NewHandler[S any](sp Spawner, state S, opts ...Option) (*Handler[S], error) {
	if nilness.Is(state) {
		return nil, ErrNilState
	}
	ref, err := spawn(sp, state, nil, opts, &owner{kick: make(chan struct{}, 1), stopProc: make(chan struct{}, 1)})
	if err != nil {
		return nil, err
	}
	return &Handler[S]{ref: ref}, nil
}

// Ref is the handler's address, for Call, Cast and Ask.
func (h *Handler[S]) Ref() *Ref[S] {
	if h == nil {
		return nil
	}
	return h.ref
}

// ProcessOption configures one Process call.
type ProcessOption interface{ applyProcess(*processConfig) }

type processConfig struct {
	forever bool
	only    []Admitter
	filter  bool
}

type processFunc func(*processConfig)

func (f processFunc) applyProcess(c *processConfig) { f(c) }

// Forever makes Process wait for and run calls until StopProcessing is
// called or its ctx ends.
func Forever() ProcessOption { return processFunc(func(c *processConfig) { c.forever = true }) }

// Admitting makes Process run only the given methods, for this call (the
// actor's own whitelist, Ctx.Only, is set aside meanwhile): the others stay
// held, in order, for a later Process. A handler that calls Only or
// AdmitAll meanwhile changes the whitelist the actor has once this Process
// returns, not what this Process admits. A stop that comes during such a
// Process (or has begun before it) fails them with ErrStopped, as it fails
// what Ctx.Only holds.
func Admitting(methods ...Admitter) ProcessOption {
	return processFunc(func(c *processConfig) { c.only, c.filter = methods, true })
}

// Process runs the pending calls on the calling goroutine, one at a time:
// by default what is pending now, then returns; with Forever, until
// StopProcessing or ctx ends. It returns ErrProcessing if another Process
// (or a stop) is running the handler, ErrWrongActor or ErrNilHandler for
// a bad Admitting (as Ctx.Only), ctx's error if ctx ended (calls already
// run stay run), ErrStopped once the actor has stopped, ErrNilContext,
// ErrNilRef (a nil or zero Handler), ErrInvalidOption (a nil option).
// Calls whose deadline passed while waiting are never run.
func (h *Handler[S]) Process(ctx context.Context, opts ...ProcessOption) error {
	if ctx == nil {
		return ErrNilContext
	}
	if h == nil || h.ref == nil {
		return ErrNilRef
	}
	var pc processConfig
	for _, o := range opts {
		if o == nil {
			return fmt.Errorf("%w: nil process option", ErrInvalidOption)
		}
		o.applyProcess(&pc)
	}
	c := &h.ref.c
	o := c.owner
	if !o.busy.CompareAndSwap(false, true) {
		return ErrProcessing
	}
	defer c.release()
	if c.status.Load() >= statusStopped {
		return ErrStopped
	}
	if pc.filter {
		keys, err := keysFor(c.state, pc.only)
		if err != nil {
			return err
		}
		o.only, o.filtered = keys, true
		if !c.kidsAsked {
			c.mb.Admit(keys...)
		}
		// else a stop has settled: it lifted the mailbox's filter once
		// and nothing would lift it again, so what this Process does
		// not admit is not held but failed (see holds), as a stop fails
		// what a running Process holds. (We hold the consumer role:
		// kidsAsked is ours to read.)
		defer c.restoreAdmit()
	}
	select { // StopProcessing applies to a Process running when it is called
	case <-o.stopProc:
	default:
	}
	x := getCtx(c)
	defer putCtx(x)
	stop := func() bool { return ctx.Err() != nil || len(o.stopProc) > 0 }
	for {
		// Checked before every turn, not only after each call: an ended
		// ctx runs nothing, and the select below picks at random among
		// ready cases, so a pending kick must not win over StopProcessing.
		if err := ctx.Err(); err != nil {
			return err
		}
		if pc.forever {
			select {
			case <-o.stopProc:
				return nil
			default:
			}
		}
		budget := c.mb.Len() + 64 // "what is pending now", with room for system messages
		if pc.forever {
			budget = math.MaxInt
		}
		more := c.turn(x, budget, stop)
		if c.status.Load() >= statusStopped {
			return nil
		}
		if !pc.forever {
			if more {
				c.schedule() // leave a wake-up for the next Process
			}
			return ctx.Err()
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-o.stopProc:
			return nil
		case <-o.kick:
		}
	}
}

// StopProcessing makes a running Process(Forever) return after its current
// call. It does not block. A Process that starts later is not affected.
// It does nothing on a nil or zero Handler.
func (h *Handler[S]) StopProcessing() {
	if h == nil || h.ref == nil {
		return
	}
	select {
	case h.ref.c.owner.stopProc <- struct{}{}:
	default:
	}
}

// release gives up the consumer role; if a stop arrived meanwhile and
// nobody will process it, drive it here.
func (c *cell) release() {
	c.owner.busy.Store(false)
	if s := c.status.Load(); s >= statusStopping && s < statusStopped {
		c.drive()
	}
}

// drive runs the stop of an owner-driven actor whose owner is away: it
// takes the consumer role, if nobody holds it, and hands the turns to the
// scheduler (ownerStop), not to this goroutine: a stop runs what is queued
// and the Stopping hook, user code that may take its time, and a Stop
// bounded by its ctx, the runtime's stop bounded by the call timeout,
// must not wait for it. If the scheduler has closed, the turns run here.
func (c *cell) drive() {
	if c.status.Load() >= statusStopped || !c.owner.busy.CompareAndSwap(false, true) {
		return
	}
	if c.sys.Scheduler.Schedule(&c.task) == nil {
		return
	}
	for (*ownerStop)(c).Run(math.MaxInt) {
	}
}

// handOff gives up the consumer role after a stop's turn; it reports
// whether the caller took it again, for a turn that is wanted and that
// nobody else will run.
func (c *cell) handOff() bool {
	c.owner.busy.Store(false)
	return c.mb.Scheduled() && c.status.Load() < statusStopped && c.owner.busy.CompareAndSwap(false, true)
}

// ownerStop is an owner-driven actor as the scheduler runs it: only for
// its stop, holding the consumer role (see drive).
type ownerStop cell

// Run is one turn of the stop (scheduler.Runner).
func (o *ownerStop) Run(budget int) bool {
	c := (*cell)(o)
	for {
		x := getCtx(c)
		more := c.turn(x, budget, nil)
		putCtx(x)
		if more || !c.handOff() {
			return more
		}
	}
}

// Abort finalizes the actor: the scheduler closed before its next turn
// (scheduler.Runner).
func (o *ownerStop) Abort() {
	c := (*cell)(o)
	c.finalize()
	c.owner.busy.Store(false)
}
