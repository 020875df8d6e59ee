package fsm

import (
	"fmt"
	"slices"
	"time"

	"github.com/troupe-go/troupe/actor"
)

// timerKey is the actor timer key of the state timeout. Actors running a
// machine should not use keys starting with "fsm.".
const timerKey = "fsm.timeout"

// Design: a transition runs on the actor's turn, inside whatever message
// caused it (the Started hook, a method handler, a state timeout). The
// machine does not recover panics: they reach the actor's single recover
// point, so the caller gets a *actor.PanicError and the actor's
// supervision applies. The new state is committed only after its state
// function returned, so a panic anywhere before leaves the source state.
// Requests made while a transition runs are queued and drained by the
// outermost call in a loop: run to completion, constant stack, no
// re-entrance.

var _ engine[int] = (*Definition[*Machine[int], int])(nil)

// start enters the initial state; an error, which has no caller, goes
// straight to the dead letters as a failure of the Started hook.
func (d *Definition[S, P]) start(m *Machine[P], ac *actor.Ctx) {
	if err := d.run(m, ac, request[P]{to: d.initial, initial: true}); err != nil {
		ac.Report("started", err)
	}
}

// run runs a request now, with everything it leads to, or queues it behind
// the running transition.
func (d *Definition[S, P]) run(m *Machine[P], ac *actor.Ctx, r request[P]) error {
	if m.running {
		m.push(r)
		return nil
	}
	m.running = true
	defer d.finish(m, ac) // on return and on panic alike
	x := &m.x
	x.ac = ac
	for {
		step, err := d.transition(m, x, r)
		if err != nil {
			if n := m.pending(); n > 0 {
				err = fmt.Errorf("%w (%d queued transition(s) dropped)", err, n)
			}
			return err
		}
		switch step.kind {
		case stepGoto:
			m.push(request[P]{to: step.to, arg: step.arg})
		case stepStop:
			m.halted = true
			ac.Stop()
		}
		var ok bool
		if r, ok = m.pop(); !ok {
			return nil
		}
	}
}

// transition validates r against the current state, runs the guards, the
// callbacks and the target's state function, then commits the target.
func (d *Definition[S, P]) transition(m *Machine[P], x *Ctx[P], r request[P]) (Step[P], error) {
	t := Transition[P]{To: r.to, Initial: r.initial, Timeout: r.timeout}
	if !r.initial {
		if !m.entered {
			return Step[P]{}, fmt.Errorf("%s: %w", d.name, ErrNotStarted)
		}
		t.From = m.cur
		if err := d.allowed(m, r.to); err != nil {
			return Step[P]{}, d.refuse(t, err)
		}
	}
	st := d.states[r.to]
	arg, err := st.arg(r.arg)
	if err != nil {
		return Step[P]{}, d.refuse(t, err)
	}
	t.Arg = arg
	s := m.self.(S)
	if !r.initial {
		for _, g := range d.guards {
			if err := g(s, t); err != nil {
				return Step[P]{}, d.refuse(t, fmt.Errorf("%w: %w", ErrGuard, err))
			}
		}
		for _, f := range d.exit {
			f(s, x.ac, t)
		}
	}
	for _, f := range d.enter {
		f(s, x.ac, t)
	}
	x.t = t
	step := st.fn(s, x, arg)
	m.cur, m.entered = r.to, true
	m.gen++
	return step, nil
}

// allowed checks that the machine may go from its state to to.
func (d *Definition[S, P]) allowed(m *Machine[P], to P) error {
	st := d.states[m.cur]
	switch {
	case m.halted:
		return fmt.Errorf("%w: stopped in state %v", ErrTerminal, m.cur)
	case st.terminal:
		return fmt.Errorf("%w: %v is a terminal state", ErrTerminal, m.cur)
	case !slices.Contains(st.exits, to):
		return ErrInvalidTransition
	}
	return nil
}

func (d *Definition[S, P]) refuse(t Transition[P], err error) error {
	return &TransitionError[P]{Machine: d.name, From: t.From, To: t.To, Err: err}
}

// finish ends a chain: the queue is dropped, and the state timeout and
// admit set of the state the machine is now in are put in force. A
// machine a state function stopped has no timeout, but the admit set of
// the state it stopped in applies like any other's: what it admits runs
// before the actor stops (a state without one admits everything again),
// rather than staying held by the previous state's set until the stop
// fails it.
func (d *Definition[S, P]) finish(m *Machine[P], ac *actor.Ctx) {
	m.reset()
	m.x = Ctx[P]{} // holds nothing past the turn
	if !m.entered || m.armed == m.gen {
		return
	}
	m.armed = m.gen
	st := d.states[m.cur]
	if st.timed && !m.halted {
		// Restarting the key cancels the old timeout, and drops a tick of
		// it already queued; timeout's generation check is the backstop.
		// The timer is periodic: its first tick is the timeout, and a tick
		// lost to a full mailbox (refused, or evicted from a DropOldest
		// one: a dead letter) is followed by another a full timeout later,
		// as a refused transition is retried; with a one-shot timer the
		// machine would wait in the state forever. A tick that runs starts
		// a chain whose finish restarts or cancels the key, so no second
		// tick runs after it, and ticks do not pile up while one is queued.
		err := actor.Every(ac, timerKey, max(st.timeout, time.Nanosecond), d.own.timeout, m.gen)
		m.timed = err == nil // ErrStopped: the actor is stopping anyway
	} else if m.timed {
		ac.CancelTimer(timerKey)
		m.timed = false
	}
	if d.admits {
		if st.admitSet {
			_ = ac.Only(st.admit...) // checked by Define: it cannot fail
		} else {
			ac.AdmitAll()
		}
	}
}

// timeout handles a state timeout's tick: if the machine is still in the
// state that armed it (same generation), it goes to the timeout's target.
// A refusal (by a guard) goes to the dead letters as the tick's failure.
//
// The tick used the state's timeout up, but until a transition commits the
// machine is still in a state that has one: armed is cleared so that
// finish arms it again, a full timeout later, when the chain is refused or
// panics before its first commit (finish runs on panic too). Otherwise a
// machine waiting on its timeout would wait forever.
func (d *Definition[S, P]) timeout(m *Machine[P], ac *actor.Ctx, gen uint64) error {
	if gen != m.gen || m.halted || !m.entered {
		return nil // stale
	}
	st := d.states[m.cur]
	if !st.timed {
		return nil // cannot happen: gen matched a timed state
	}
	m.armed = 0 // no generation: m.gen ≥ 1 once entered
	return d.run(m, ac, request[P]{to: st.timeoutTo, timeout: true})
}
