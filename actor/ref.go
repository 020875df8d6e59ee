package actor

import (
	"context"
	"fmt"

	"github.com/troupe-go/troupe/internal/engine"

	"github.com/troupe-go/troupe/internal/nilness"
)

// Ref is a running actor with state type S: the address its callers use.
// Refs are compared by identity; a Ref never reaches another actor, even
// one spawned later under the same name. Safe for concurrent use.
type Ref[S any] struct {
	c cell
}

var _ engine.Stoppable = (*Ref[int])(nil)

// Spawn starts an actor owning state, with no goroutine until a message
// arrives. sp is a *runtime.Runtime (a top-level actor) or a handler's *Ctx
// (a child, stopped before its parent). Errors: ErrNilRuntime,
// ErrNilState, ErrInvalidName, ErrNameTaken, ErrInvalidOption, ErrStopped
// (runtime closed or parent stopping). A Spawn that fails runs none of
// the state's hooks (Started, Stopping) and leaves it to the caller; a
// named actor refused after claiming its name (its parent stopping, say)
// may have been found by a Lookup meanwhile: calls sent to it fail with
// ErrStopped, and the name is free again once they have. Cost: about 3
// allocations.
func Spawn[S any](sp Spawner, state S, opts ...Option) (*Ref[S], error) {
	if nilness.Is(state) {
		return nil, ErrNilState
	}
	return spawn(sp, state, nil, opts, nil)
}

// SpawnFunc is Spawn with a state factory: the actor starts with factory()
// and, under the Restart directive (its default), gets a fresh factory()
// after a handler panics. A factory that panics or returns nil at a
// restart kills the actor instead: its queued calls fail with ErrStopped
// wrapping the *PanicError or ErrNilState.
func SpawnFunc[S any](sp Spawner, factory func() S, opts ...Option) (*Ref[S], error) {
	if factory == nil {
		return nil, ErrNilState
	}
	if _, err := systemOf(sp); err != nil {
		return nil, err // before factory: it runs only for an actor Spawn may make
	}
	state := factory()
	if nilness.Is(state) {
		return nil, ErrNilState
	}
	return spawn(sp, state, factory, opts, nil)
}

// systemOf returns sp's System: ErrNilRuntime for a nil or zero Spawner,
// ErrStopped once its runtime is closed.
func systemOf(sp Spawner) (*engine.System, error) {
	if sp == nil || nilness.Is(sp) {
		return nil, ErrNilRuntime
	}
	sys := sp.Engine(engine.Seal{})
	if sys == nil {
		return nil, ErrNilRuntime
	}
	if sys.Closed() {
		return nil, ErrStopped
	}
	return sys, nil
}

func spawn[S any](sp Spawner, state S, factory func() S, opts []Option, own *owner) (*Ref[S], error) {
	sys, err := systemOf(sp)
	if err != nil {
		return nil, err
	}
	var o spawnConfig
	for _, opt := range opts {
		if opt == nil {
			return nil, fmt.Errorf("%w: nil option", ErrInvalidOption)
		}
		opt.apply(&o)
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	if o.sup.Directive == Restart && factory == nil {
		return nil, fmt.Errorf("%w: Restart needs a state factory: use SpawnFunc", ErrInvalidOption)
	}
	r := &Ref[S]{}
	c := &r.c
	c.sys, c.state, c.self, c.name, c.id = sys, state, r, o.name, nextID.Add(1)
	if err := c.mb.Init(mailboxConfig(c, o.capacity, o.policy)); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidOption, err)
	}
	c.sup = newSupervisor(o.sup, factory)
	if c.sup != nil {
		c.sup.restarting = o.restarting
		c.sup.admitted = o.admitted
		c.sup.onTurn = o.onTurn
	}
	if x, ok := sp.(*Ctx); ok {
		c.parent = x.c
	}
	if own != nil {
		c.owner = own
		sys.Scheduler.InitTask(&c.task, (*ownerStop)(c)) // see drive
	} else {
		sys.Scheduler.InitTask(&c.task, c)
	}
	if o.idle != nil {
		if err := o.idle.validate(state); err != nil {
			return nil, err
		}
		// Before register: a named actor is found (Lookup) as soon as
		// its name is claimed, before its idle timer is armed (its turn
		// is held until it has joined; see below).
		c.idling = true
	}
	// A named actor can be found (Lookup) and sent calls as soon as its
	// name is claimed, before it has joined its parent (or the runtime)
	// and before Spawn queues its Started hook: its turn is held until
	// then, so that no handler runs on a state whose Spawn may yet fail
	// (refuse: the state is its caller's again) and the hook runs before
	// any call. (A Handler's owner runs its turns only once NewHandler has
	// returned.)
	held := false
	if c.name != "" && own == nil {
		held = c.mb.Claim()
	}
	if err := c.register(); err != nil {
		c.unhold(held)
		return nil, err
	}
	if o.idle != nil {
		if err := c.armIdle(o.idle, o.idleTouched); err != nil {
			c.refuse()
			c.unhold(held)
			return nil, err
		}
	}
	if held && c.status.Load() != statusRunning {
		// Stopped as it joined (the runtime closing): the held turn
		// finalizes it, without running the Started hook on a stopping
		// actor (an idle one stopped before Spawn queued it never does).
		c.unhold(held)
		return r, nil
	}
	c.start()
	if held && !c.mb.Idle() { // the Started hook, or calls sent meanwhile
		c.schedule()
	}
	return r, nil
}

// unhold hands the turn spawn held (see spawn) to a stop that came while
// it held it (the stop could not claim it): the turn finalizes the actor.
// As a stop that claims an idle actor's turn does (requestStop), it
// finalizes here when no user code would run (no Stopping hook, no call
// to fail), and otherwise on the actor's own turn. An actor nobody
// stopped is left held: nobody can reach it.
func (c *cell) unhold(held bool) {
	if !held || c.status.Load() == statusRunning {
		return
	}
	if c.endsQuietly() && c.mb.Len() == 0 { // as requestStop (its turn is ours: held)
		c.finalize()
		return
	}
	c.schedule()
}

// register claims the name and joins the parent (or the runtime's roots).
func (c *cell) register() error {
	if c.name != "" && c.sys.Names != nil {
		if err := c.sys.Names.Register(c.name, c.self.(engine.Stoppable)); err != nil {
			return err
		}
	}
	var err error
	if c.parent != nil {
		err = c.parent.addChild(c)
	} else {
		err = c.sys.AddRoot(c)
	}
	if err != nil && c.name != "" && c.sys.Names != nil {
		// A Lookup may have found the name since it was claimed: the ref
		// it holds must not reach an actor that runs unowned. Kill it
		// (calls refused with ErrStopped, Done closed, no hook run: see
		// refuse); its finalize frees the name, as any stopping actor's.
		c.refuse()
	}
	return err
}

// refuse kills an actor whose Spawn fails after it has joined (its name
// claimed, perhaps found by a Lookup since): calls that reached it fail
// with ErrStopped and its Done closes, but neither its Started nor its
// Stopping hook runs. Spawn returns an error, so the state is its
// caller's again (who may spawn it anew): no hook may run on it later,
// on another goroutine. Its end runs on a turn of its own, which may
// still be reporting dead letters (the calls that reached it) after every
// actor the runtime's stop waits for has stopped: it is counted as work
// (System.WorkStarted, ended by end), which that stop waits for, bounded
// once forced, and names, before it drains the scheduler.
func (c *cell) refuse() {
	c.mu.Lock()
	c.extLocked().refused = true
	if c.status.Load() != statusFinalized { // else end has run: nothing to wait for
		c.sys.WorkStarted(c)
	}
	c.mu.Unlock()
	c.requestStop(true)
}

// valid reports whether r is a ref made by Spawn: not nil, not a zero
// Ref (which has no runtime and no mailbox).
func (r *Ref[S]) valid() bool { return r != nil && r.c.sys != nil }

// Name is the actor's name, or "" if it has none.
func (r *Ref[S]) Name() string {
	if r == nil {
		return ""
	}
	return r.c.name
}

// ID is the actor's number: unique in the process, never reused, higher
// for an actor spawned later; "#id" in String for an actor without a
// name. It is what CallerID reports. Zero for a nil or zero Ref. O(1).
func (r *Ref[S]) ID() uint64 {
	if r == nil {
		return 0
	}
	return r.c.id
}

// String is the actor's name, or "#id" (see ID) for an actor without
// one, as errors and dead letters show it; "<nil>" for a nil Ref.
func (r *Ref[S]) String() string {
	if r == nil {
		return "<nil>"
	}
	return r.c.String()
}

// Stopped reports whether the actor is stopping or stopped: calls are
// refused with ErrStopped.
func (r *Ref[S]) Stopped() bool {
	return !r.valid() || r.c.status.Load() != statusRunning
}

// Done is closed once the actor has stopped (at once for a nil or zero
// Ref). It does not block; the first call may allocate the channel.
func (r *Ref[S]) Done() <-chan struct{} {
	if !r.valid() {
		return closedChan
	}
	return r.c.doneCh()
}

// AtStop registers f to run once when the actor stops, however it stops
// (Stop, Kill, Ctx.Stop, supervision, its runtime's stop, even a kill
// from its Started hook before it ran anything else): on the goroutine
// that finalizes it, after its Stopping hook and its queue's failure and
// before Done closes. It reports false, without registering, if the actor
// has already begun to finalize (the caller then knows it is stopped). f
// must not block and must not wait for the actor. It costs no goroutine
// and no message, where watching Done would take a goroutine and a child
// actor's Stopping hook a message the actor may never run. Sealed: only
// troupe's own packages can call it (serve closes a connection when its
// actor stops). A nil or zero Ref reports false.
func (r *Ref[S]) AtStop(_ engine.Seal, f func()) bool {
	return r.valid() && r.c.atStop(f)
}

// WaitDone waits until the actor has stopped (Done is closed) or ctx
// ends, without asking it to stop: nil, or ctx's error. From a handler
// (ctx its Context, or derived from it), a wait that only ctx's end could
// end — for the handler's own actor, an ancestor, or an actor which, or a
// descendant of which, waits for the handler in a sync call, as Stop
// checks — fails at once with ErrCallCycle. Sealed: only troupe's own
// packages can call it (runtime's LookupOrSpawn waits so for the stopping
// actor of its name). A nil or zero Ref has stopped; ctx must not be nil.
func (r *Ref[S]) WaitDone(_ engine.Seal, ctx context.Context) error {
	if !r.valid() {
		return nil
	}
	if caller := callerOf(ctx); caller != nil {
		lent, err := r.c.enterStop(caller)
		if err != nil {
			return err
		}
		defer caller.leaveStop(lent)
	}
	select {
	case <-r.c.doneCh():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stop stops the actor gracefully and waits: new calls are refused with
// ErrStopped at once, its timers are cancelled, what is queued runs, then
// children stop (newest first) and the stopping hook runs. Whatever is
// still held by a whitelist fails with ErrStopped once the queue has run,
// without waiting for the children (one may be waiting in such a call).
// A restart's backoff is cut short. If ctx ends first, the stop turns into
// a Kill and Stop returns a *StopError matching ctx's error without
// waiting further (wait on Done).
// Idempotent. From a handler, pass its Context (or a ctx derived from
// it), as to a call: a stop that waits for that handler's turn to end
// cannot be waited for there — the handler's own actor's (use Ctx.Stop),
// an ancestor's (it waits for its children), or that of an actor which,
// or a descendant of which, waits for the handler in a sync call, directly
// or through others —, so Stop then asks for it, as Ctx.Stop does, and
// returns ErrCallCycle at once instead of waiting until ctx ends. While
// Stop waits, a sync call that would close such a cycle (one from a
// descendant of the actor to the waiting handler's) fails with
// ErrCallCycle. The check looks through at most a thousand or so actors
// (descendants and their waits); past that, the wait ends with ctx.
// Errors: ErrNilRef, ErrNilContext, ErrCallCycle, *StopError.
func (r *Ref[S]) Stop(ctx context.Context) error {
	if !r.valid() {
		return ErrNilRef
	}
	if ctx == nil {
		return ErrNilContext
	}
	if caller := callerOf(ctx); caller != nil {
		lent, err := r.c.enterStop(caller)
		if err != nil {
			r.c.requestStop(false)
			return err
		}
		defer caller.leaveStop(lent)
	}
	return stopError(ctx, engine.StopAll(ctx, []engine.Cell{&r.c}))
}

// Kill stops the actor immediately: its timers and any restart backoff are
// cancelled, the running handler (if any) finishes with its Context
// cancelled, every queued or held call fails with ErrStopped, and its
// children are killed. It does not wait; use Done for that. A nil or zero
// Ref is ignored.
func (r *Ref[S]) Kill() {
	if r.valid() {
		r.c.requestStop(true)
	}
}

// Held counts the calls a whitelist is holding back, per method name (for
// debugging; O(held)). It counts only calls the actor has already passed
// over: calls still queued behind the current one (or, for a Handler, not
// yet seen by a Process) are not listed; Queued counts every waiting call.
func (r *Ref[S]) Held() map[string]int {
	if !r.valid() {
		return nil
	}
	return r.c.held()
}

// Queued is the number of user calls waiting in the actor's mailbox, held
// ones included (for tests and debugging; O(1)).
func (r *Ref[S]) Queued() int {
	if !r.valid() {
		return 0
	}
	return r.c.mb.Len()
}
