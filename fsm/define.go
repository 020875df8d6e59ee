package fsm

import (
	"time"

	"github.com/troupe-go/troupe/actor"
)

// Definition is a validated state machine for actors of state type S with
// states of type P. Make one with [Define], usually once per program, and
// spawn actors running it with [Spawn]. A Definition is immutable and safe
// for concurrent use; many actors share one. A nil or zero Definition (not
// made by Define) has no states: its getters return zero values, and
// Spawn refuses it with ErrInvalidDefinition.
type Definition[S Host[P], P comparable] struct {
	name    string
	initial P
	order   []P // declaration order, for States and diagrams
	states  map[P]*stateDef[S, P]
	enter   []func(S, *actor.Ctx, Transition[P])
	exit    []func(S, *actor.Ctx, Transition[P])
	guards  []func(S, Transition[P]) error
	admits  bool // some state has an admit set: the others get actor.Ctx.All

	own *methods[S] // the machine's own methods, shared by the definitions of S
}

// stateDef is a validated state.
type stateDef[S any, P comparable] struct {
	name      P
	fn        func(S, *Ctx[P], any) Step[P]
	arg       func([]any) (any, error)
	exits     []P // distinct, declared order
	terminal  bool
	timeout   time.Duration
	timeoutTo P
	timed     bool
	admit     []actor.Admitter // the user's methods plus the machine's own; nil: all
	admitSet  bool
}

// Define validates a state machine and returns its definition: name (used
// in errors and diagrams; it must pass actor.ValidName), the initial
// state, and the entries — one [State] or [StateArg] per state, and the
// machine-wide [OnEnter], [OnExit] and [Guard] callbacks.
//
// Define never panics. If anything is wrong it returns a nil Definition
// and a [*DefinitionError] listing every problem found, each wrapping one
// of ErrUnknownState (initial state), ErrUnknownTarget, ErrDuplicateState,
// ErrUnreachable, ErrDeadEnd, ErrTerminalExits, ErrTimeoutTarget,
// ErrNilStateFunc, ErrWrongActor (an admit set with a method of another
// actor type), ErrNegativeDuration or ErrInvalidOption. Cost: O(states +
// exits + admitted methods).
func Define[S Host[P], P comparable](name string, initial P, entries ...Option[S, P]) (*Definition[S, P], error) {
	var b builder[S, P]
	for i, e := range entries {
		if e == nil {
			b.problems = append(b.problems, problemf(ErrInvalidOption, "entry %d is nil", i))
			continue
		}
		e.apply(&b)
	}
	d := &Definition[S, P]{name: name, initial: initial, states: make(map[P]*stateDef[S, P]),
		enter: b.enter, exit: b.exit, guards: b.guards}
	v := validator[S, P]{d: d, problems: b.problems}
	v.run(b.states)
	if len(v.problems) > 0 {
		return nil, &DefinitionError{Name: name, Problems: v.problems}
	}
	d.own = methodsOf[S, P]()
	for _, p := range d.order {
		if st := d.states[p]; st.admitSet {
			st.admit = append(st.admit, d.own.timeout)
		}
	}
	return d, nil
}

// Name is the definition's name.
func (d *Definition[S, P]) Name() string {
	if d == nil {
		return ""
	}
	return d.name
}

// made reports whether d was made by Define (which makes its states).
func (d *Definition[S, P]) made() bool { return d != nil && d.states != nil }

// Initial is the state a machine enters when its actor starts.
func (d *Definition[S, P]) Initial() P {
	if d == nil {
		var zero P
		return zero
	}
	return d.initial
}

// States lists the states in declaration order. It returns a new slice.
func (d *Definition[S, P]) States() []P {
	if d == nil {
		return nil
	}
	return append([]P(nil), d.order...)
}

// Exits lists the states the machine may go to from state, in declaration
// order (nil for a terminal or unknown state). It returns a new slice.
func (d *Definition[S, P]) Exits(state P) []P {
	if d == nil || !hashable(state) {
		return nil // not a state; a map lookup would panic
	}
	st := d.states[state]
	if st == nil {
		return nil
	}
	return append([]P(nil), st.exits...)
}
