// Package fsm runs state machines as actors, with the transition table
// validated twice: entirely when it is defined, and at every transition
// when it runs. It follows gevent_async's @state (states as functions that
// name their exits, arguments passed to states, callbacks on transition)
// and Erlang's gen_statem (state timeouts, state enter calls, holding
// events until a state takes them).
//
// # Defining a machine
//
// A machine's states are values of a user type P (type Phase string, or an
// int enum). The actor's state type S embeds a [Machine][P]:
//
//	type Flower struct {
//		fsm.Machine[Phase]
//		water int
//	}
//
// [Define] takes a name, the initial state and one entry per state: its
// function, its exits ([To]), an optional state timeout ([Timeout]: "after
// d go to X"), an optional admit set ([Admit]: the methods accepted in that
// state), or [Terminal] for a state with no exits. Machine-wide [OnEnter],
// [OnExit] and [Guard] callbacks see every transition.
//
//	flower, err := fsm.Define[*Flower]("flower", Sprouting,
//		fsm.State(Sprouting, sprout, fsm.To(Growing)),
//		fsm.State(Growing, grow, fsm.To(Flowering, Withering), fsm.Timeout(10*time.Second, Withering)),
//		fsm.State(Flowering, bloom, fsm.To(Dead, Withering), fsm.Admit(Water, Pick)),
//		fsm.State(Withering, wither, fsm.To(Dead)),
//		fsm.StateArg(Dead, die, fsm.Terminal()), // die(f, c, picked bool)
//		fsm.OnEnter(record),
//	)
//
// Define checks the whole table and returns one [*DefinitionError] listing
// every problem, each matching its sentinel with errors.Is: unknown
// initial state, unknown target, duplicate state, unreachable state, a
// dead end (no exits, not marked Terminal), a timeout whose target is not
// an exit, a nil state function, an admit set naming a method of another
// actor type. It never panics. A Definition is immutable; define it once
// and spawn many actors from it with [Spawn].
//
// # Running a machine
//
// When the actor starts, its Machine enters the initial state (the promoted
// Started method is the actor's Starter hook). Entering a state runs the
// guards (not on the initial entry), the exit and enter callbacks, then the
// state's function, which returns the next [Step]: c.Goto(state, arg),
// c.Stay() or c.Stop(). A method handler of the actor moves the machine
// with Goto:
//
//	var Water = actor.NewMethod("water", func(f *Flower, c *actor.Ctx, n int) (int, error) {
//		f.water += n
//		if f.water >= 3 {
//			return f.water, f.Goto(c, Flowering) // refused unless Flowering is an exit
//		}
//		return f.water, nil
//	})
//
// A transition not declared is refused with a [*TransitionError] wrapping
// ErrInvalidTransition (ErrTerminal in a terminal state, ErrBadArgument
// for an argument of the wrong type, ErrGuard when a guard says no): the
// machine stays where it was, no callback runs, and whoever triggered it
// gets the error — the handler's caller, or the runtime's dead letters for
// the initial entry and state timeouts.
//
// # Run to completion
//
// Transitions run on the actor's turn, one at a time. A transition
// requested while one runs (a Goto step, or Goto called from a callback or
// a state function) is queued and runs once the current one has completed,
// in a loop: a chain of any length uses a constant stack and cannot
// deadlock. The state timeout and admit set of the state the chain ends in
// are applied once, when it ends.
//
// # Panics
//
// The machine recovers nothing: a panic in a state function, guard or
// callback reaches the actor, which reports a *actor.PanicError to the
// caller (or its dead letters) and applies its supervision. The machine
// stays in the source state: a state is committed only after its function
// returned. With [SpawnFunc] and the Restart directive, the actor restarts
// with a fresh state that enters the initial state again.
//
// # State timeouts and admit sets
//
// A state timeout is armed on the runtime's timer wheel when the machine
// enters the state, and cancelled when it leaves: a timeout of an earlier
// state never fires in a later one (the actor drops a tick already queued,
// and the machine checks the generation it was armed for). A self
// transition restarts it; Stay does not. A timeout that fires but cannot
// leave its state — a guard refuses the transition, or a guard, callback
// or the target's state function panics and the actor resumes — stays
// pending: the machine is still in the state, so the timeout is armed
// again and retried a full timeout later (each failure goes to the dead
// letters), until a transition leaves the state; so is a tick lost to a
// full mailbox (refused, or evicted from a DropOldest one: a dead letter
// too). Unlike gen_statem, whose
// state_timeout handler decides what happens next, the timeout's target is
// fixed, so a refusal must not leave the state without one: a machine
// waiting on it would wait forever. An admit set is applied with
// actor.Ctx.Only when the machine enters the state; calls of other methods
// are held, in order, until a state admits them. Entering a state with no
// admit set admits everything again (only if the definition uses admit sets
// at all: otherwise the machine leaves the actor's whitelist alone). The
// machine's own method, "fsm.timeout", is in every admit set the machine
// applies; a handler's own actor.Ctx.Only, which cannot name it, holds the
// state timeout like any method it leaves out, until the machine applies
// an admit set or the handler calls AdmitAll. The actor timer key
// "fsm.timeout" is the machine's.
//
// # Diagrams
//
// [Definition.Mermaid] and [Definition.DOT] draw the states, exits,
// timeouts and admit sets, for documentation and review.
//
// # Goroutines and cost
//
// The package starts no goroutine: a machine runs on its actor's turns,
// and its state timeouts are the runtime's timer-wheel timers. A transition
// costs O(exits of the source state) to validate plus the guards, callbacks
// and state function; it allocates nothing of its own (an argument passed to
// Goto is boxed as usual), except an actor timer when a chain ends in a
// state with a timeout. BenchmarkGoto measures a sync call whose handler
// moves the machine.
package fsm
