package fsm

import (
	"time"

	"github.com/troupe-go/troupe/actor"
)

// StateOption configures one state: [To], [Timeout], [Admit], [Terminal].
// They are not generic, so that Admit needs no type arguments; Define
// checks that the states they name are of the definition's type.
type StateOption interface {
	applyState(sp *stateSpec)
}

// stateSpec is a state's options, untyped until Define checks them.
type stateSpec struct {
	exits    []any
	timeouts []timeoutSpec
	admit    []actor.Admitter
	admitSet bool
	terminal bool
}

type timeoutSpec struct {
	d  time.Duration
	to any
}

type stateFunc func(sp *stateSpec)

func (f stateFunc) applyState(sp *stateSpec) { f(sp) }

// To declares the states the machine may go to from this one. Several To
// add up; repeats are ignored.
func To[P comparable](states ...P) StateOption {
	return stateFunc(func(sp *stateSpec) {
		for _, s := range states {
			sp.exits = append(sp.exits, s)
		}
	})
}

// Timeout is a state timeout (gen_statem's): d after the machine enters
// the state, it goes to target, unless it left the state first (a self
// transition restarts the timeout; Stay does not). target must be among
// the state's exits. If the transition is refused by a guard, or panics
// and the actor resumes, the machine stays in the state and the timeout
// is retried d later (a zero d: at the wheel's next tick, with a dead
// letter each time, so give a timeout a guard may keep refusing a
// positive d). So is a timeout whose tick is lost to a full mailbox
// (refused, or evicted from a DropOldest one: a dead letter). The timeout
// runs on the runtime's timer wheel.
func Timeout[P comparable](d time.Duration, target P) StateOption {
	return stateFunc(func(sp *stateSpec) { sp.timeouts = append(sp.timeouts, timeoutSpec{d, target}) })
}

// Admit is the state's admit set: while the machine is in the state, only
// these methods run; other calls are held, in order, until a state admits
// them (see actor.Ctx.Only). With no methods, every call is held. A state
// without Admit admits every method. The machine's own method (its state
// timeout) is in every admit set (not in a handler's own Ctx.Only, which
// holds it). Define checks that every
// method belongs to the actor type (ErrWrongActor) and is neither nil nor
// a zero value not made by its constructor (ErrInvalidOption).
func Admit(methods ...actor.Admitter) StateOption {
	return stateFunc(func(sp *stateSpec) {
		sp.admit = append(sp.admit, methods...)
		sp.admitSet = true
	})
}

// Terminal marks a state the machine never leaves: it must have no exits
// and no timeout, and every transition requested in it fails with
// ErrTerminal. A state with no exits that is not marked Terminal is a dead
// end, which Define refuses.
func Terminal() StateOption { return stateFunc(func(sp *stateSpec) { sp.terminal = true }) }
