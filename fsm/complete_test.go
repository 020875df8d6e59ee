package fsm_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"testing/synctest"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/fsm"
	troupe "github.com/troupe-go/troupe/runtime"
)

// chain hops between a and b, left times, from its state functions.
type chain struct {
	fsm.Machine[phase]
	left     int
	entries  int
	min, max int // stack depth seen by the state functions
}

func hop(ch *chain, c *fsm.Ctx[phase]) fsm.Step[phase] {
	var pcs [4096]uintptr
	d := runtime.Callers(0, pcs[:])
	if ch.min == 0 || d < ch.min {
		ch.min = d
	}
	ch.max = max(ch.max, d)
	if ch.left == 0 {
		return c.Stay()
	}
	ch.left--
	if c.State() == A {
		return c.Goto(B)
	}
	return c.Goto(A)
}

var (
	Hops = actor.NewMethod("hops", func(ch *chain, c *actor.Ctx, n int) ([3]int, error) {
		ch.left, ch.min, ch.max, ch.entries = n, 0, 0, 0
		to := A
		if ch.State() == A {
			to = B
		}
		err := ch.Goto(c, to)
		return [3]int{ch.entries, ch.min, ch.max}, err
	})
	HopStats = actor.NewMethod("hopStats", func(ch *chain, c *actor.Ctx, _ int) ([3]int, error) {
		return [3]int{ch.entries, ch.min, ch.max}, nil
	})
)

// A chain of 10,000 Goto steps runs in a loop: constant stack, no deadlock,
// every entry seen by the callbacks.
func TestRunToCompletionLongChain(t *testing.T) {
	const n = 10_000
	rt := newRuntime(t)
	d, err := fsm.Define("chain", A,
		fsm.State(A, hop, fsm.To(B)),
		fsm.State(B, hop, fsm.To(A)),
		fsm.OnEnter(func(ch *chain, _ *actor.Ctx, _ fsm.Transition[phase]) { ch.entries++ }),
	)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := fsm.Spawn(rt, d, &chain{left: n}) // the initial chain runs in Started
	if err != nil {
		t.Fatal(err)
	}
	st, err := HopStats.Call(context.Background(), ref, 0)
	if err != nil {
		t.Fatal(err)
	}
	if st[0] != n+1 || st[1] != st[2] {
		t.Fatalf("from Started: %d entries, stack depth %d..%d; want %d, constant", st[0], st[1], st[2], n+1)
	}
	st, err = Hops.Call(context.Background(), ref, n)
	if err != nil {
		t.Fatal(err)
	}
	if st[0] != n+1 || st[1] != st[2] {
		t.Fatalf("from a handler: %d entries, stack depth %d..%d; want %d, constant", st[0], st[1], st[2], n+1)
	}
}

// A Goto called from a callback is queued: it runs after the current
// transition, state function included, has completed.
func TestGotoFromCallbackIsQueued(t *testing.T) {
	rt := newRuntime(t)
	b := newBot()
	var queuedErr error = errors.New("unset")
	b.hook = func(b *bot, c *actor.Ctx, tr fsm.Transition[phase]) {
		if tr.To == B {
			queuedErr = b.Goto(c, C)
			b.log = append(b.log, "queued c")
		}
	}
	ref := spawn(t, rt, basic(t), b)
	inspect(t, ref)
	if got, err := Move.Call(context.Background(), ref, B); err != nil || got != C {
		t.Fatalf("Move(b) = %v, %v; want c, nil", got, err)
	}
	expect(t, ref, C, "exit a", "enter b", "queued c", "fn b", "exit b", "enter c", "fn c")
	if queuedErr != nil {
		t.Errorf("Goto while running = %v; want nil (queued)", queuedErr)
	}
}

// A queued request refused later reaches the trigger's caller, with the
// count of the requests dropped after it.
func TestQueuedRefusalReachesTrigger(t *testing.T) {
	rt := newRuntime(t)
	b := newBot()
	b.hook = func(b *bot, c *actor.Ctx, tr fsm.Transition[phase]) {
		if tr.To == B {
			_ = b.Goto(c, "ghost")
			_ = b.Goto(c, A)
		}
	}
	ref := spawn(t, rt, basic(t), b)
	_, err := Move.Call(context.Background(), ref, B)
	var te *fsm.TransitionError[phase]
	if !errors.As(err, &te) || te.From != B || te.To != "ghost" {
		t.Fatalf("got %v; want b → ghost refused", err)
	}
	if want := "bot: b → ghost: fsm: invalid transition (1 queued transition(s) dropped)"; err.Error() != want {
		t.Errorf("message %q; want %q", err, want)
	}
	if s := inspect(t, ref); s.state != B {
		t.Errorf("state %v; want b", s.state)
	}
	if err := move(t, ref, A); err != nil { // the queue was reset
		t.Fatal(err)
	}
}

// The initial chain has no caller: its refusal goes to the dead letters.
func TestInitialRefusalGoesToDeadLetters(t *testing.T) {
	var dl letters
	bubble(t, func(t *testing.T, rt *troupe.Runtime) {
		b := newBot()
		b.next[A] = End
		ref := spawn(t, rt, basic(t), b)
		synctest.Wait() // the report is a self-cast, after Started
		expect(t, ref, A, "enter a", "fn a")
		var found bool
		for _, l := range dl.All() {
			if l.Method == "started" && l.Reason == troupe.ReasonFailed && errors.Is(l.Err, fsm.ErrInvalidTransition) {
				found = true
			}
		}
		if !found {
			t.Fatalf("dead letters %v; want a started failure with ErrInvalidTransition", dl.All())
		}
	}, troupe.WithDeadLetterHook(dl.Hook))
}
