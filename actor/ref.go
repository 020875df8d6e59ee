package actor

import (
	"context"
	"fmt"
	"reflect"
)

// Ref is a running actor with state type S: the address its callers use.
// Refs are compared by identity; a Ref never reaches another actor, even
// one spawned later under the same name. Safe for concurrent use.
type Ref[S any] struct {
	c cell
}

var _ Actor = (*Ref[int])(nil)

// Spawn starts an actor owning state, with no goroutine until a message
// arrives. sp is a *runtime.Runtime (a top-level actor) or a handler's *Ctx
// (a child, stopped before its parent). Errors: ErrNilRuntime,
// ErrNilState, ErrInvalidName, ErrNameTaken, ErrInvalidOption, ErrStopped
// (runtime closed or parent stopping). Cost: about 3 allocations.
func Spawn[S any](sp Spawner, state S, opts ...Option) (*Ref[S], error) {
	if isNil(state) {
		return nil, ErrNilState
	}
	return spawn(sp, state, nil, opts, nil)
}

// SpawnFunc is Spawn with a state factory: the actor starts with factory()
// and, under the Restart directive (its default), gets a fresh factory()
// after a handler panics.
func SpawnFunc[S any](sp Spawner, factory func() S, opts ...Option) (*Ref[S], error) {
	if factory == nil {
		return nil, ErrNilState
	}
	state := factory()
	if isNil(state) {
		return nil, ErrNilState
	}
	return spawn(sp, state, factory, opts, nil)
}

func spawn[S any](sp Spawner, state S, factory func() S, opts []Option, own *owner) (*Ref[S], error) {
	if sp == nil || isNil(sp) {
		return nil, ErrNilRuntime
	}
	sys := sp.System()
	if sys == nil {
		return nil, ErrNilRuntime
	}
	if sys.Closed() {
		return nil, ErrStopped
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
	c.sys, c.state, c.self, c.name, c.id, c.blocking = sys, state, r, o.name, nextID.Add(1), o.policy == Block
	if err := c.mb.Init(mailboxConfig(c, o.capacity, o.policy)); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidOption, err)
	}
	c.sup = newSupervisor(o.sup, factory)
	if x, ok := sp.(*Ctx); ok {
		c.parent = x.c
	}
	if own != nil {
		c.owner = own
	} else {
		sys.cfg.Scheduler.InitTask(&c.task, c)
	}
	if err := c.register(); err != nil {
		return nil, err
	}
	c.start()
	return r, nil
}

// register claims the name and joins the parent (or the runtime's roots).
func (c *cell) register() error {
	if c.name != "" && c.sys.cfg.Names != nil {
		if err := c.sys.cfg.Names.Register(c.name, c.self.(Actor)); err != nil {
			return err
		}
	}
	var err error
	if c.parent != nil {
		err = c.parent.addChild(c)
	} else {
		err = c.sys.addRoot(c)
	}
	if err != nil && c.name != "" && c.sys.cfg.Names != nil {
		c.sys.cfg.Names.Unregister(c.name, c.self.(Actor))
	}
	return err
}

func isNil(v any) bool {
	if v == nil {
		return true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

// Name is the actor's name, or "" if it has none.
func (r *Ref[S]) Name() string {
	if r == nil {
		return ""
	}
	return r.c.name
}

// ID is unique among the actors of this process.
func (r *Ref[S]) ID() uint64 {
	if r == nil {
		return 0
	}
	return r.c.id
}

func (r *Ref[S]) String() string {
	if r == nil {
		return "<nil>"
	}
	return r.c.String()
}

// Stopped reports whether the actor is stopping or stopped: calls are
// refused with ErrStopped.
func (r *Ref[S]) Stopped() bool {
	return r == nil || r.c.status.Load() != statusRunning
}

// Done is closed once the actor has stopped.
func (r *Ref[S]) Done() <-chan struct{} {
	if r == nil {
		return closedChan
	}
	return r.c.doneCh()
}

// Stop stops the actor gracefully and waits: new calls are refused with
// ErrStopped at once, what is queued runs, then children stop (newest
// first), the stopping hook runs, and whatever is still held by a whitelist
// fails with ErrStopped. If ctx ends first, the actor is stopped
// immediately (every call still queued fails with ErrStopped) and Stop
// returns a *StopError matching ctx's error. Idempotent. Do not wait for
// an actor's own stop from its handler: use Ctx.Stop.
func (r *Ref[S]) Stop(ctx context.Context) error {
	if r == nil {
		return ErrNilRef
	}
	if ctx == nil {
		return ErrNilContext
	}
	return stopAll(ctx, []*cell{&r.c})
}

// Kill stops the actor immediately: the running handler (if any) finishes
// with its Context cancelled, then every queued or held call fails with
// ErrStopped. It does not wait; use Done for that.
func (r *Ref[S]) Kill() {
	if r != nil {
		r.c.requestStop(true)
	}
}

// Held counts the calls a whitelist is holding back, per method name (for
// debugging; O(held)). It counts only calls the actor has already passed
// over: calls still queued behind the current one (or, for a Handler, not
// yet seen by a Process) are not listed; Queued counts every waiting call.
func (r *Ref[S]) Held() map[string]int {
	if r == nil {
		return nil
	}
	return r.c.held()
}

// Queued is the number of user calls waiting in ref's mailbox, held ones
// included (for tests and debugging; O(1)).
func Queued[S any](ref *Ref[S]) int {
	if ref == nil {
		return 0
	}
	return ref.c.mb.Len()
}
