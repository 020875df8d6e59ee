package fsm

import "github.com/troupe-go/troupe/actor"

// Transition describes a transition to callbacks and guards, and to state
// functions through [Ctx.Transition].
type Transition[P comparable] struct {
	From    P    // the source state; the zero P on the initial entry
	To      P    // the target state
	Arg     any  // the argument given to Goto (or the target's zero argument)
	Initial bool // the entry of the initial state, when the actor starts
	Timeout bool // caused by From's state timeout
}

// Step is what a state function returns: go to another state, stay, or
// stop. Make one with [Ctx.Goto], [Ctx.Stay] or [Ctx.Stop]. The zero Step
// is Stay.
type Step[P comparable] struct {
	kind stepKind
	to   P
	arg  []any
}

type stepKind uint8

const (
	stepStay stepKind = iota
	stepGoto
	stepStop
)

// Ctx is what a state function gets besides the actor's state: the
// transition that entered the state and the actor's own *actor.Ctx. It is
// valid only during the call it was passed to. A nil Ctx's Actor is nil,
// its State and Transition the zero values.
type Ctx[P comparable] struct {
	ac *actor.Ctx
	t  Transition[P]
}

// Actor is the actor's context, for timers, calls (pass
// c.Actor().Context()), spawning, or Goto from a method of the machine.
func (c *Ctx[P]) Actor() *actor.Ctx {
	if c == nil {
		return nil
	}
	return c.ac
}

// State is the state being entered.
func (c *Ctx[P]) State() P {
	if c == nil {
		var zero P
		return zero
	}
	return c.t.To
}

// Transition is the transition that entered the state.
func (c *Ctx[P]) Transition() Transition[P] {
	if c == nil {
		return Transition[P]{}
	}
	return c.t
}

// Goto is the step to state to, with an optional argument for its state
// function (see [StateArg]). It runs when the state function returns, once
// the current transition has completed (run to completion), and is
// validated then: an undeclared target refuses it with ErrInvalidTransition
// and the machine stays in this state.
func (c *Ctx[P]) Goto(to P, arg ...any) Step[P] { return Step[P]{kind: stepGoto, to: to, arg: arg} }

// Stay is the step that keeps the machine in this state, waiting for a
// method or its state timeout to move it.
func (c *Ctx[P]) Stay() Step[P] { return Step[P]{} }

// Stop is the step that ends the machine in this state: later transitions
// fail with ErrTerminal, its state timeout is cancelled, and the actor stops
// gracefully (what is queued still runs, within the state's admit set: a
// state without one admits everything).
func (c *Ctx[P]) Stop() Step[P] { return Step[P]{kind: stepStop} }
