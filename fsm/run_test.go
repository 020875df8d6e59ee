package fsm_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/fsm"
)

// basic: a ⇄ b, a → c → a, b → c, b → end (terminal).
func basic(t testing.TB, extra ...fsm.Option[*bot, phase]) *fsm.Definition[*bot, phase] {
	t.Helper()
	return define(t, append([]fsm.Option[*bot, phase]{
		fsm.State(A, step, fsm.To(B, C)),
		fsm.State(B, step, fsm.To(A, C, End)),
		fsm.State(C, step, fsm.To(A)),
		fsm.State(End, step, fsm.Terminal()),
	}, extra...)...)
}

// MoveAll moves the machine through several states in one handler and
// returns each Goto's error.
var MoveAll = actor.NewMethod("moveAll", func(b *bot, c *actor.Ctx, tos []phase) ([]error, error) {
	errs := make([]error, len(tos))
	for i, to := range tos {
		errs[i] = b.Goto(c, to)
	}
	return errs, nil
})

var Boom = actor.NewMethod("boom", func(b *bot, c *actor.Ctx, _ int) (int, error) { panic("boom") })

func move(t testing.TB, ref *actor.Ref[*bot], to phase) error {
	t.Helper()
	got, err := Move.Call(context.Background(), ref, to)
	if err == nil && got != to {
		t.Fatalf("Move(%v) returned state %v with no error", to, got)
	}
	return err
}

func TestInitialEntry(t *testing.T) {
	rt := newRuntime(t)
	ref := spawn(t, rt, basic(t), newBot())
	expect(t, ref, A, "enter a", "fn a")
}

func TestGoto(t *testing.T) {
	rt := newRuntime(t)
	ref := spawn(t, rt, basic(t), newBot())
	inspect(t, ref)
	if err := move(t, ref, B); err != nil {
		t.Fatal(err)
	}
	expect(t, ref, B, "exit a", "enter b", "fn b")
}

func TestInvalidTransition(t *testing.T) {
	rt := newRuntime(t)
	ref := spawn(t, rt, basic(t), newBot())
	inspect(t, ref)
	for _, to := range []phase{End, "ghost"} {
		got, err := Move.Call(context.Background(), ref, to)
		if !errors.Is(err, fsm.ErrInvalidTransition) {
			t.Fatalf("Move(%v): got %v; want ErrInvalidTransition", to, err)
		}
		var te *fsm.TransitionError[phase]
		if !errors.As(err, &te) || te.From != A || te.To != to || te.Machine != "bot" {
			t.Fatalf("got %#v; want a *TransitionError bot a → %v", te, to)
		}
		if got != A {
			t.Errorf("state after refusal = %v; want a", got)
		}
		expect(t, ref, A) // no callback ran
	}
	_, err := Move.Call(context.Background(), ref, End)
	if want := "bot: a → end: fsm: invalid transition"; err == nil || err.Error() != want {
		t.Errorf("message %q; want %q", err, want)
	}
}

func TestStepChain(t *testing.T) {
	rt := newRuntime(t)
	b := newBot()
	b.next[B] = C
	ref := spawn(t, rt, basic(t), b)
	inspect(t, ref)
	if got, err := Move.Call(context.Background(), ref, B); err != nil || got != C {
		t.Fatalf("Move(b) = %v, %v; want c, nil", got, err)
	}
	expect(t, ref, C, "exit a", "enter b", "fn b", "exit b", "enter c", "fn c")
}

// A step refused after the handler's own transition: the caller gets the
// error; the machine stays in the last state it reached.
func TestStepRefused(t *testing.T) {
	rt := newRuntime(t)
	b := newBot()
	b.next[C] = End // c → end is not declared
	ref := spawn(t, rt, basic(t), b)
	inspect(t, ref)
	got, err := Move.Call(context.Background(), ref, C)
	var te *fsm.TransitionError[phase]
	if !errors.As(err, &te) || !errors.Is(err, fsm.ErrInvalidTransition) || te.From != C || te.To != End {
		t.Fatalf("got %v; want a refused c → end", err)
	}
	if got != C {
		t.Errorf("state %v; want c", got)
	}
	expect(t, ref, C, "exit a", "enter c", "fn c")
}

func TestTerminal(t *testing.T) {
	rt := newRuntime(t)
	ref := spawn(t, rt, basic(t), newBot())
	errs, err := MoveAll.Call(context.Background(), ref, []phase{B, End, A, End})
	if err != nil {
		t.Fatal(err)
	}
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("a → b → end: %v", errs)
	}
	for _, err := range errs[2:] {
		var te *fsm.TransitionError[phase]
		if !errors.Is(err, fsm.ErrTerminal) || !errors.As(err, &te) || te.From != End {
			t.Errorf("got %v; want ErrTerminal from end", err)
		}
	}
}

// A Stop step halts the machine and stops the actor.
func TestStopStep(t *testing.T) {
	rt := newRuntime(t)
	b := newBot()
	b.stop[C] = true
	ref := spawn(t, rt, basic(t), b)
	errs, err := MoveAll.Call(context.Background(), ref, []phase{C, A})
	if err != nil {
		t.Fatal(err)
	}
	if errs[0] != nil || !errors.Is(errs[1], fsm.ErrTerminal) {
		t.Fatalf("got %v; want [nil, ErrTerminal]", errs)
	}
	<-ref.Done()
	if _, err := Move.Call(context.Background(), ref, A); !errors.Is(err, actor.ErrStopped) {
		t.Fatalf("after stop: got %v; want actor.ErrStopped", err)
	}
}

func TestGuardRefuses(t *testing.T) {
	rt := newRuntime(t)
	errNo := errors.New("not now")
	b := newBot()
	b.refuse[B] = errNo
	ref := spawn(t, rt, basic(t), b)
	inspect(t, ref)
	_, err := Move.Call(context.Background(), ref, B)
	var te *fsm.TransitionError[phase]
	if !errors.Is(err, fsm.ErrGuard) || !errors.Is(err, errNo) || !errors.As(err, &te) || te.To != B {
		t.Fatalf("got %v; want a guard refusal of a → b wrapping errNo", err)
	}
	expect(t, ref, A) // no callback ran
	if err := move(t, ref, C); err != nil {
		t.Fatal(err)
	}
}

func TestStateArgument(t *testing.T) {
	rt := newRuntime(t)
	d := define(t,
		fsm.State(A, step, fsm.To(B)),
		fsm.StateArg(B, func(b *bot, c *fsm.Ctx[phase], n int) fsm.Step[phase] {
			b.note(fmt.Sprintf("fn b %d %v", n, c.Transition().Arg))
			return c.Stay()
		}, fsm.To(A)),
	)
	ref := spawn(t, rt, d, newBot())
	inspect(t, ref)
	for _, args := range [][]any{{"seven"}, {7, 8}, {nil}} {
		_, err := MoveArg.Call(context.Background(), ref, moveReq{B, args})
		if !errors.Is(err, fsm.ErrBadArgument) {
			t.Errorf("Goto(b, %v): got %v; want ErrBadArgument", args, err)
		}
	}
	expect(t, ref, A)
	if _, err := MoveArg.Call(context.Background(), ref, moveReq{B, []any{7}}); err != nil {
		t.Fatal(err)
	}
	expect(t, ref, B, "exit a", "enter b", "fn b 7 7")
	if _, err := MoveArg.Call(context.Background(), ref, moveReq{A, []any{1}}); !errors.Is(err, fsm.ErrBadArgument) {
		t.Errorf("Goto(a, 1): got %v; want ErrBadArgument (a takes none)", err)
	}
	if _, err := MoveArg.Call(context.Background(), ref, moveReq{A, nil}); err != nil {
		t.Fatal(err)
	}
	if _, err := MoveArg.Call(context.Background(), ref, moveReq{B, nil}); err != nil {
		t.Fatal(err)
	}
	expect(t, ref, B, "exit b", "enter a", "fn a", "exit a", "enter b", "fn b 0 0")
}

// Started called again while the initial entry runs (from a callback or
// the initial state's function) does nothing: the machine is started, and
// a second initial entry would re-enter the initial state from wherever
// the chain is, with no exit checked and no guard run.
func TestStartedDuringInitialEntry(t *testing.T) {
	rt := newRuntime(t)
	b := newBot()
	again := true
	b.hook = func(b *bot, c *actor.Ctx, tr fsm.Transition[phase]) {
		if tr.Initial && again {
			again = false
			b.Started(c)
		}
	}
	b.next[A] = B
	ref := spawn(t, rt, basic(t), b)
	expect(t, ref, B, "enter a", "fn a", "exit a", "enter b", "fn b")
}
