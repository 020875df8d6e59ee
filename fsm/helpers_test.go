package fsm_test

import (
	"context"
	"slices"
	"testing"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/fsm"
	"github.com/troupe-go/troupe/internal/testkit"
	troupe "github.com/troupe-go/troupe/runtime"
)

var (
	newRuntime = testkit.NewRuntime
	shutdown   = testkit.Shutdown
)

// bubble runs f in a synctest bubble (with testkit's fake-time watchdog)
// with a runtime made and shut down inside it.
func bubble(t *testing.T, f func(t *testing.T, rt *troupe.Runtime), opts ...troupe.Option) {
	t.Helper()
	testkit.Bubble(t, func(t *testing.T) {
		rt, err := troupe.New(opts...)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		defer shutdown(t, rt)
		f(t, rt)
	})
}

// letters collects dead letters.
type letters = testkit.Letters

type phase string

const (
	A   phase = "a"
	B   phase = "b"
	C   phase = "c"
	End phase = "end"
)

// bot is the test machines' actor state: its state functions log and do
// what its fields say.
type bot struct {
	fsm.Machine[phase]
	log     []string        // callbacks and state functions, in order
	next    map[phase]phase // the state function of a key goes to its value
	stop    map[phase]bool  // the state function of a key returns Stop
	panicIn map[string]bool // "fn b", "enter b", "exit a", "guard b" panic
	refuse  map[phase]error // a guard refuses transitions to a key
	hook    func(b *bot, c *actor.Ctx, t fsm.Transition[phase])
}

func newBot() *bot {
	return &bot{next: map[phase]phase{}, stop: map[phase]bool{}, panicIn: map[string]bool{}, refuse: map[phase]error{}}
}

func (b *bot) note(s string) {
	if b.panicIn[s] {
		delete(b.panicIn, s) // once
		panic("boom: " + s)
	}
	b.log = append(b.log, s)
}

// step is every test state's function.
func step(b *bot, c *fsm.Ctx[phase]) fsm.Step[phase] {
	p := c.State()
	b.note("fn " + string(p))
	if b.stop[p] {
		return c.Stop()
	}
	if to, ok := b.next[p]; ok {
		delete(b.next, p)
		return c.Goto(to)
	}
	return c.Stay()
}

// callbacks are the machine-wide callbacks every test definition has.
func callbacks() []fsm.Option[*bot, phase] {
	return []fsm.Option[*bot, phase]{
		fsm.OnExit(func(b *bot, c *actor.Ctx, t fsm.Transition[phase]) { b.note("exit " + string(t.From)) }),
		fsm.OnEnter(func(b *bot, c *actor.Ctx, t fsm.Transition[phase]) {
			b.note("enter " + string(t.To))
			if b.hook != nil {
				b.hook(b, c, t)
			}
		}),
		fsm.Guard(func(b *bot, t fsm.Transition[phase]) error {
			if g := "guard " + string(t.To); b.panicIn[g] {
				delete(b.panicIn, g) // once
				panic("boom: " + g)
			}
			return b.refuse[t.To]
		}),
	}
}

// define makes a test definition of states a, b, c, end plus callbacks,
// failing the test on error.
func define(t testing.TB, states ...fsm.Option[*bot, phase]) *fsm.Definition[*bot, phase] {
	t.Helper()
	d, err := fsm.Define("bot", A, append(states, callbacks()...)...)
	if err != nil {
		t.Fatalf("Define: %v", err)
	}
	return d
}

func spawn(t testing.TB, rt actor.Spawner, d *fsm.Definition[*bot, phase], b *bot, opts ...actor.Option) *actor.Ref[*bot] {
	t.Helper()
	ref, err := fsm.Spawn(rt, d, b, opts...)
	if err != nil {
		t.Fatalf("Spawn: %v", err)
	}
	return ref
}

// snapshot is a bot as seen from outside.
type snapshot struct {
	state phase
	log   []string
}

var (
	// Move asks the machine to go to a state.
	Move = actor.NewMethod("move", func(b *bot, c *actor.Ctx, to phase) (phase, error) {
		err := b.Goto(c, to)
		return b.State(), err
	})
	// MoveArg is Move with an argument.
	MoveArg = actor.NewMethod("moveArg", func(b *bot, c *actor.Ctx, r moveReq) (phase, error) {
		err := b.Goto(c, r.to, r.args...)
		return b.State(), err
	})
	// Inspect returns the state and the log so far, and clears the log.
	Inspect = actor.NewMethod("inspect", func(b *bot, c *actor.Ctx, _ struct{}) (snapshot, error) {
		s := snapshot{b.State(), b.log}
		b.log = nil
		return s, nil
	})
	// Note logs a line (a method an admit set may hold).
	Note = actor.NewMethod("note", func(b *bot, c *actor.Ctx, s string) (int, error) {
		b.log = append(b.log, s)
		return len(b.log), nil
	})
)

type moveReq struct {
	to   phase
	args []any
}

func inspect(t testing.TB, ref *actor.Ref[*bot]) snapshot {
	t.Helper()
	s, err := Inspect.Call(context.Background(), ref, struct{}{})
	if err != nil {
		t.Fatalf("inspect: %v", err)
	}
	return s
}

// expect checks the state and the log since the last inspect.
func expect(t testing.TB, ref *actor.Ref[*bot], state phase, log ...string) {
	t.Helper()
	s := inspect(t, ref)
	if s.state != state || !slices.Equal(s.log, log) {
		t.Fatalf("state %v, log %q; want %v, %q", s.state, s.log, state, log)
	}
}
