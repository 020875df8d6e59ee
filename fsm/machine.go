package fsm

import (
	"fmt"

	"github.com/troupe-go/troupe/actor"
)

// Host is satisfied by every type that embeds a [Machine][P]: a pointer to
// a struct with a Machine[P] field, such as
//
//	type Flower struct {
//		fsm.Machine[Phase]
//		water int
//	}
//
// Its method is unexported: only embedding satisfies it.
type Host[P comparable] interface {
	machine() *Machine[P]
}

// Machine is the bookkeeping of a state machine, embedded in an actor's
// state: the current state, the transition queue, the state timeout's
// generation. Its zero value (and a nil *Machine) is inert until [Spawn]
// binds it to a [Definition]; from then on it belongs to that actor and is used only on
// its turn. Its methods are promoted to the state type:
//
//   - Started enters the initial state when the actor starts (it makes the
//     state an actor.Starter). A state type with its own Started method
//     shadows it and must call m.Machine.Started(c) itself.
//   - State reports the current state.
//   - Goto moves the machine from a method handler.
type Machine[P comparable] struct {
	eng     engine[P] // the bound definition; nil until Spawn
	self    any       // the actor state this Machine is embedded in
	cur     P
	gen     uint64 // bumped at every transition; stamps state timeouts
	armed   uint64 // the gen whose timeout and admit set are in force; 0: none
	entered bool   // the initial state was entered
	halted  bool   // a state function returned Stop
	running bool   // a transition chain is running: new requests queue
	timed   bool   // a state timeout may be pending
	queue   []request[P]
	head    int    // queue[head:] waits
	x       Ctx[P] // the state functions' Ctx, reused: chains do not nest
}

// engine is the S-typed half of a machine: its definition.
type engine[P comparable] interface {
	start(m *Machine[P], c *actor.Ctx)
	run(m *Machine[P], c *actor.Ctx, r request[P]) error
	timeout(m *Machine[P], c *actor.Ctx, gen uint64) error
}

// request is a transition waiting to run.
type request[P comparable] struct {
	to      P
	arg     []any
	initial bool // the entry of the initial state
	timeout bool // the state timeout fired
}

func (m *Machine[P]) machine() *Machine[P] { return m }

// State is the current state: the last one whose state function returned.
// While a transition runs (in callbacks and the target's state function),
// it is still the source state. Call it on the actor's turn only.
func (m *Machine[P]) State() P {
	if m == nil {
		var zero P
		return zero
	}
	return m.cur
}

// Started enters the initial state. The actor runs it on its turn when it
// starts, before any call (it is the actor.Starter hook); it does nothing
// for a Machine not bound by Spawn, already started, or being started (called
// from a callback or state function of the initial entry). An error of the
// initial chain of transitions (a state function going where it may not)
// goes to the runtime's dead letters as a failure of the "started" hook;
// a panic is reported by the actor like any hook's.
func (m *Machine[P]) Started(c *actor.Ctx) {
	if m == nil || m.eng == nil || m.entered || m.running || c == nil {
		return // m.running: a second initial entry would skip the exits and guards
	}
	m.eng.start(m, c)
}

// Goto moves the machine to state to from a method handler of its actor,
// passing an optional argument to to's state function (see [StateArg]); c
// is the handler's *actor.Ctx. The transition runs now, on this turn: the
// guards, the exit and enter callbacks, to's state function, then every
// transition it leads to, to completion. Goto returns nil, or the first
// refusal of that chain, a [*TransitionError][P] wrapping
// ErrInvalidTransition (to is not an exit of the current state),
// ErrTerminal, ErrBadArgument or ErrGuard — the machine then stays in the
// last state it reached, and queued transitions are dropped. A handler
// usually returns that error to its caller.
//
// Called while a transition is running (from a callback or a state
// function), Goto only queues the request and returns nil: it runs after
// the current transition completes, and its error goes to whoever
// triggered the running one. A panic in a state function, guard or callback
// propagates to the actor, which reports it as a *actor.PanicError; the
// machine stays in the source state.
//
// Call Goto only on the actor's turn (it is not safe for concurrent use);
// it blocks only if a callback or state function does. Errors besides the
// above: ErrNotStarted, actor.ErrNilContext. Cost: O(exits of the current
// state) to validate, plus the callbacks; a state timeout or admit set is
// applied once per chain; no allocation without an argument.
func (m *Machine[P]) Goto(c *actor.Ctx, to P, arg ...any) error {
	if c == nil {
		return fmt.Errorf("fsm: Goto: %w", actor.ErrNilContext)
	}
	if m == nil || m.eng == nil {
		return fmt.Errorf("%w: spawn the actor with fsm.Spawn", ErrNotStarted)
	}
	return m.eng.run(m, c, request[P]{to: to, arg: arg})
}

// push queues a request behind the running transition.
func (m *Machine[P]) push(r request[P]) { m.queue = append(m.queue, r) }

// pop takes the oldest queued request, reusing the queue's storage so
// that a long chain runs in constant space.
func (m *Machine[P]) pop() (request[P], bool) {
	if m.head == len(m.queue) {
		m.queue, m.head = m.queue[:0], 0
		return request[P]{}, false
	}
	r := m.queue[m.head]
	m.queue[m.head] = request[P]{}
	m.head++
	if m.head == len(m.queue) {
		m.queue, m.head = m.queue[:0], 0
	}
	return r, true
}

// pending counts the queued requests.
func (m *Machine[P]) pending() int { return len(m.queue) - m.head }

// reset forgets the queue after a chain ended, by error or panic.
func (m *Machine[P]) reset() {
	clear(m.queue)
	m.queue, m.head, m.running = m.queue[:0], 0, false
}
