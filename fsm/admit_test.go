package fsm_test

import (
	"context"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/fsm"
	troupe "github.com/troupe-go/troupe/runtime"
)

// In a state with an admit set, other methods are held, in order, until a
// state admits them.
func TestAdmitHoldsUntilAdmitted(t *testing.T) {
	rt := newRuntime(t)
	d := define(t,
		fsm.State(A, step, fsm.To(B), fsm.Admit(Move)),
		fsm.State(B, step, fsm.To(C)),
		fsm.State(C, step, fsm.To(A), fsm.Admit(Inspect, Move)),
	)
	ref := spawn(t, rt, d, newBot())
	for _, s := range []string{"x", "y"} {
		if err := Note.Cast(ref, s); err != nil {
			t.Fatal(err)
		}
	}
	inspected := Inspect.Ask(context.Background(), ref, struct{}{}) // held too
	if got, err := Move.Call(context.Background(), ref, B); err != nil || got != B {
		t.Fatalf("Move(b) = %v, %v", got, err)
	}
	s, err := inspected.Await(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"enter a", "fn a", "exit a", "enter b", "fn b", "x", "y"}
	if s.state != B || !slices.Equal(s.log, want) {
		t.Fatalf("state %v, log %q; want b, %q", s.state, s.log, want)
	}
	if err := move(t, ref, C); err != nil {
		t.Fatal(err)
	}
	if err := Note.Cast(ref, "z"); err != nil {
		t.Fatal(err)
	}
	expect(t, ref, C, "exit b", "enter c", "fn c") // z is held in c
	if held := ref.Held(); held["note"] != 1 {
		t.Fatalf("held %v; want note:1", held)
	}
	if err := move(t, ref, A); err != nil {
		t.Fatal(err)
	}
	if held := ref.Held(); held["note"] != 1 { // a holds it too
		t.Fatalf("held %v; want note:1", held)
	}
}

// The machine's own timeout is admitted in every state.
func TestAdmitLetsTimeoutThrough(t *testing.T) {
	bubble(t, func(t *testing.T, rt *troupe.Runtime) {
		d := define(t,
			fsm.State(A, step, fsm.To(B), fsm.Admit(), fsm.Timeout(10*time.Second, B)),
			fsm.State(B, step, fsm.Terminal()),
		)
		ref := spawn(t, rt, d, newBot())
		time.Sleep(11 * time.Second)
		synctest.Wait()
		expect(t, ref, B, "enter a", "fn a", "exit a", "enter b", "fn b")
	})
}

// Lock restricts the actor to Inspect and Move by hand.
var Lock = actor.NewMethod("lock", func(b *bot, c *actor.Ctx, _ int) (int, error) {
	return 0, c.Only(Inspect, Move)
})

// A definition without admit sets leaves the actor's whitelist alone.
func TestNoAdmitSetsLeavesWhitelist(t *testing.T) {
	rt := newRuntime(t)
	ref := spawn(t, rt, basic(t), newBot())
	if _, err := Lock.Call(context.Background(), ref, 0); err != nil {
		t.Fatal(err)
	}
	if err := move(t, ref, B); err != nil {
		t.Fatal(err)
	}
	if err := Note.Cast(ref, "x"); err != nil {
		t.Fatal(err)
	}
	expect(t, ref, B, "enter a", "fn a", "exit a", "enter b", "fn b")
	if held := ref.Held(); held["note"] != 1 {
		t.Fatalf("held %v; want note:1", held)
	}
}

// A state function that stops the machine enters its state like any
// other: a state without an admit set admits everything again, so calls
// held by the previous state's set run before the actor stops, as the
// graceful stop promises for what is queued.
func TestStopStepAppliesAdmitSet(t *testing.T) {
	rt := newRuntime(t)
	d := define(t,
		fsm.State(A, step, fsm.To(End), fsm.Admit(Move)),
		fsm.State(End, step, fsm.Terminal()),
	)
	b := newBot()
	b.stop[End] = true
	ref := spawn(t, rt, d, b)
	inspected := Inspect.Ask(context.Background(), ref, struct{}{}) // held in a
	if got, err := Move.Call(context.Background(), ref, End); err != nil || got != End {
		t.Fatalf("Move(end) = %v, %v", got, err)
	}
	s, err := inspected.Await(context.Background())
	if err != nil {
		t.Fatalf("the call held in a: %v; want it to run before the actor stops", err)
	}
	want := []string{"enter a", "fn a", "exit a", "enter end", "fn end"}
	if s.state != End || !slices.Equal(s.log, want) {
		t.Fatalf("state %v, log %q; want end, %q", s.state, s.log, want)
	}
}
