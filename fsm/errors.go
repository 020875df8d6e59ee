package fsm

import (
	"errors"
	"fmt"
	"strings"

	"github.com/troupe-go/troupe/actor"
)

// Sentinel errors. [Define] returns a [*DefinitionError] whose problems each
// wrap one of the definition sentinels; a refused transition is a
// [*TransitionError] wrapping one of the run-time sentinels. Test them with
// errors.Is.
var (
	// ErrInvalidDefinition matches every *DefinitionError.
	ErrInvalidDefinition = errors.New("fsm: invalid definition")
	// ErrUnknownState: the initial state is not declared, or a state value
	// cannot be a map key (an interface P holding a slice, say, or a
	// struct P whose interface field holds one) or is not equal to itself
	// (a NaN).
	ErrUnknownState = errors.New("fsm: unknown state")
	// ErrUnknownTarget: an exit names a state that is not declared (or a
	// value of another type than the definition's states).
	ErrUnknownTarget = errors.New("fsm: unknown target")
	// ErrDuplicateState: a state is declared twice.
	ErrDuplicateState = errors.New("fsm: duplicate state")
	// ErrUnreachable: no chain of exits leads from the initial state to the
	// state.
	ErrUnreachable = errors.New("fsm: unreachable state")
	// ErrDeadEnd: a state has no exits but is not marked Terminal.
	ErrDeadEnd = errors.New("fsm: dead end")
	// ErrTerminalExits: a state marked Terminal has exits.
	ErrTerminalExits = errors.New("fsm: terminal state with exits")
	// ErrTimeoutTarget: a state timeout's target is not among the state's
	// exits (a Terminal state has none: any timeout of it is one).
	ErrTimeoutTarget = errors.New("fsm: timeout target not an exit")
	// ErrNilStateFunc: a state declared with a nil function.
	ErrNilStateFunc = errors.New("fsm: nil state function")
	// ErrInvalidOption: a nil option, callback, guard or admitted method,
	// a zero admitted method (an actor.Method or Stream not made by its
	// constructor), two timeouts on one state, or an invalid definition
	// name.
	ErrInvalidOption = errors.New("fsm: invalid option")
	// ErrWrongActor: an admit set names a method of another actor type. It
	// wraps actor.ErrWrongActor.
	ErrWrongActor = fmt.Errorf("fsm: admit set: %w", actor.ErrWrongActor)
	// ErrNegativeDuration: a negative state timeout. It wraps
	// actor.ErrNegativeDuration.
	ErrNegativeDuration = fmt.Errorf("fsm: state timeout: %w", actor.ErrNegativeDuration)

	// ErrInvalidTransition: the transition is not among the source state's
	// exits.
	ErrInvalidTransition = errors.New("fsm: invalid transition")
	// ErrTerminal: the machine is in a terminal state, or a state function
	// stopped it: it takes no more transitions.
	ErrTerminal = errors.New("fsm: machine has terminated")
	// ErrBadArgument: the argument given to Goto does not fit the target
	// state's function (see StateArg).
	ErrBadArgument = errors.New("fsm: bad state argument")
	// ErrGuard: a Guard refused the transition; the guard's own error is
	// wrapped too.
	ErrGuard = errors.New("fsm: refused by guard")
	// ErrNotStarted: the machine has not entered its initial state: its
	// state was not spawned with fsm.Spawn, its Started hook is shadowed by
	// one that does not call Machine.Started, or the initial state function
	// panicked.
	ErrNotStarted = errors.New("fsm: machine not started")
	// ErrSpawned: fsm.Spawn was given a state whose Machine already belongs
	// to an actor.
	ErrSpawned = errors.New("fsm: state already spawned")
)

// DefinitionError lists every problem [Define] found in a definition. It
// matches ErrInvalidDefinition and, through Unwrap, each problem's sentinel:
//
//	errors.Is(err, fsm.ErrUnreachable) // some state is unreachable
type DefinitionError struct {
	Name     string  // the definition's name
	Problems []error // in the order found; each wraps one sentinel
}

// Error lists every problem, one per line.
func (e *DefinitionError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "fsm: definition %q has %d problem(s):", e.Name, len(e.Problems))
	for _, p := range e.Problems {
		b.WriteString("\n\t")
		b.WriteString(p.Error())
	}
	return b.String()
}

// Unwrap returns the problems.
func (e *DefinitionError) Unwrap() []error { return e.Problems }

// Is reports whether target is ErrInvalidDefinition.
func (e *DefinitionError) Is(target error) bool { return target == ErrInvalidDefinition }

// TransitionError is a refused transition: the machine stays in From, no
// callback ran. Err is (or wraps) ErrInvalidTransition, ErrTerminal,
// ErrBadArgument or ErrGuard; Unwrap returns it, so
//
//	errors.Is(err, fsm.ErrInvalidTransition)
//	var te *fsm.TransitionError[Phase]; errors.As(err, &te) // te.From, te.To
type TransitionError[P comparable] struct {
	Machine  string // the definition's name
	From, To P
	Err      error
}

// Error names the machine, the refused transition and why.
func (e *TransitionError[P]) Error() string {
	return fmt.Sprintf("%s: %v → %v: %v", e.Machine, e.From, e.To, e.Err)
}

// Unwrap returns Err.
func (e *TransitionError[P]) Unwrap() error { return e.Err }
