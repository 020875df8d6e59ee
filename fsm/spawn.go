package fsm

import (
	"fmt"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/nilness"
)

// Spawn binds state's embedded Machine to d and spawns an actor owning
// state with actor.Spawn: when the actor starts, before any call, the
// machine enters d's initial state. sp and opts are actor.Spawn's. Errors:
// ErrInvalidDefinition (nil d, or a zero one not made by Define),
// ErrSpawned (state's Machine already belongs to an actor), and
// actor.Spawn's (actor.ErrNilState, actor.ErrStopped, …); on error, state
// is left unbound. Cost: actor.Spawn's.
func Spawn[S Host[P], P comparable](sp actor.Spawner, d *Definition[S, P], state S, opts ...actor.Option) (*actor.Ref[S], error) {
	if !d.made() {
		return nil, fmt.Errorf("%w: nil definition, or one not made by Define", ErrInvalidDefinition)
	}
	if nilness.Is(state) {
		return nil, actor.ErrNilState
	}
	m := state.machine()
	if m == nil {
		return nil, fmt.Errorf("%w: nil embedded *fsm.Machine", actor.ErrNilState)
	}
	if m.eng != nil {
		return nil, ErrSpawned
	}
	d.bind(m, state)
	ref, err := actor.Spawn(sp, state, opts...)
	if err != nil {
		*m = Machine[P]{}
		return nil, err
	}
	return ref, nil
}

// SpawnFunc is Spawn with a state factory, for actor.SpawnFunc's
// supervision: after a handler panics, the actor restarts (by default) with
// a fresh factory() whose machine enters the initial state again. factory
// must return a new state each call.
func SpawnFunc[S Host[P], P comparable](sp actor.Spawner, d *Definition[S, P], factory func() S, opts ...actor.Option) (*actor.Ref[S], error) {
	if !d.made() {
		return nil, fmt.Errorf("%w: nil definition, or one not made by Define", ErrInvalidDefinition)
	}
	if factory == nil {
		return nil, actor.ErrNilState
	}
	first := factory()
	if nilness.Is(first) {
		return nil, actor.ErrNilState
	}
	m := first.machine()
	if m == nil {
		return nil, fmt.Errorf("%w: nil embedded *fsm.Machine", actor.ErrNilState)
	}
	if m.eng != nil {
		return nil, ErrSpawned
	}
	d.bind(m, first)
	used := false // the first call is actor.SpawnFunc's own, before the actor runs
	ref, err := actor.SpawnFunc(sp, func() S {
		if !used {
			used = true
			return first
		}
		s := factory()
		if !nilness.Is(s) && s.machine() != nil {
			d.bind(s.machine(), s)
		}
		return s
	}, opts...)
	if err != nil {
		*m = Machine[P]{}
		return nil, err
	}
	return ref, nil
}

// bind makes m a fresh machine of d, embedded in state. timed is set so
// that the first chain cancels any state timeout left by a previous state
// of the actor (a restart does not cancel the actor's timers).
func (d *Definition[S, P]) bind(m *Machine[P], state S) {
	*m = Machine[P]{eng: d, self: state, timed: true}
}
