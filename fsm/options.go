package fsm

import (
	"fmt"
	"reflect"

	"github.com/troupe-go/troupe/actor"
)

// Option is an entry of a definition: a state ([State], [StateArg]) or a
// machine-wide callback ([OnEnter], [OnExit], [Guard]).
type Option[S any, P comparable] interface {
	apply(b *builder[S, P])
}

// builder collects a definition's entries before Define validates them.
type builder[S any, P comparable] struct {
	states   []*stateOpt[S, P]
	enter    []func(S, *actor.Ctx, Transition[P])
	exit     []func(S, *actor.Ctx, Transition[P])
	guards   []func(S, Transition[P]) error
	problems []error
}

type optionFunc[S any, P comparable] func(b *builder[S, P])

func (f optionFunc[S, P]) apply(b *builder[S, P]) { f(b) }

// stateOpt is one State or StateArg entry, as written.
type stateOpt[S any, P comparable] struct {
	name P
	fn   func(S, *Ctx[P], any) Step[P] // nil if the user's function is nil
	arg  func(args []any) (any, error) // checks Goto's argument
	opts []StateOption
}

func (o *stateOpt[S, P]) apply(b *builder[S, P]) { b.states = append(b.states, o) }

// State declares a state: fn runs each time the machine enters it and
// returns the next step. The options give its exits ([To]), a state
// timeout ([Timeout]), an admit set ([Admit]), or mark it [Terminal]. A
// state declared with State takes no argument: Goto with one is refused
// with ErrBadArgument.
func State[S any, P comparable](name P, fn func(s S, c *Ctx[P]) Step[P], opts ...StateOption) Option[S, P] {
	o := &stateOpt[S, P]{name: name, arg: noArg, opts: opts}
	if fn != nil {
		o.fn = func(s S, c *Ctx[P], _ any) Step[P] { return fn(s, c) }
	}
	return o
}

// StateArg declares a state whose function takes an argument of type A:
// Goto(name, a) passes a (it must be an A, or ErrBadArgument refuses the
// transition), and Goto(name) passes A's zero value, as a default.
func StateArg[S any, P comparable, A any](name P, fn func(s S, c *Ctx[P], arg A) Step[P], opts ...StateOption) Option[S, P] {
	o := &stateOpt[S, P]{name: name, arg: argOf[A], opts: opts}
	if fn != nil {
		o.fn = func(s S, c *Ctx[P], arg any) Step[P] { a, _ := arg.(A); return fn(s, c, a) }
	}
	return o
}

func noArg(args []any) (any, error) {
	if len(args) != 0 {
		return nil, fmt.Errorf("%w: the state takes no argument, got %d", ErrBadArgument, len(args))
	}
	return nil, nil
}

func argOf[A any](args []any) (any, error) {
	var zero A
	switch {
	case len(args) == 0:
		return zero, nil
	case len(args) > 1:
		return nil, fmt.Errorf("%w: at most one argument, got %d", ErrBadArgument, len(args))
	case args[0] == nil && nilable(reflect.TypeFor[A]()):
		return zero, nil
	}
	a, ok := args[0].(A)
	if !ok {
		return nil, fmt.Errorf("%w: want %v, got %T", ErrBadArgument, reflect.TypeFor[A](), args[0])
	}
	return a, nil
}

func nilable(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan:
		return true
	}
	return false
}

// OnEnter adds a callback run on every entry of a state (the initial one
// included, with t.Initial set), after the exit callbacks and before the
// state's function, on the actor's turn.
func OnEnter[S any, P comparable](fn func(s S, c *actor.Ctx, t Transition[P])) Option[S, P] {
	return optionFunc[S, P](func(b *builder[S, P]) {
		if fn == nil {
			b.problems = append(b.problems, fmt.Errorf("%w: nil OnEnter callback", ErrInvalidOption))
			return
		}
		b.enter = append(b.enter, fn)
	})
}

// OnExit adds a callback run on every transition out of a state, after
// the guards accepted it, before the enter callbacks.
func OnExit[S any, P comparable](fn func(s S, c *actor.Ctx, t Transition[P])) Option[S, P] {
	return optionFunc[S, P](func(b *builder[S, P]) {
		if fn == nil {
			b.problems = append(b.problems, fmt.Errorf("%w: nil OnExit callback", ErrInvalidOption))
			return
		}
		b.exit = append(b.exit, fn)
	})
}

// Guard adds a check run on every declared transition (not the initial
// entry) before any callback: a non-nil error refuses the transition with a
// *TransitionError wrapping ErrGuard and that error. Guards should not
// change the state.
func Guard[S any, P comparable](fn func(s S, t Transition[P]) error) Option[S, P] {
	return optionFunc[S, P](func(b *builder[S, P]) {
		if fn == nil {
			b.problems = append(b.problems, fmt.Errorf("%w: nil guard", ErrInvalidOption))
			return
		}
		b.guards = append(b.guards, fn)
	})
}
