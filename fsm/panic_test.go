package fsm_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/fsm"
	troupe "github.com/troupe-go/troupe/runtime"
)

// A panic in a state function, guard or callback reaches the caller as a
// *actor.PanicError and leaves the machine in its source state, working.
func TestPanicLeavesSourceState(t *testing.T) {
	for _, where := range []string{"guard b", "exit a", "enter b", "fn b"} {
		t.Run(where, func(t *testing.T) {
			rt := newRuntime(t)
			b := newBot()
			b.panicIn[where] = true
			ref := spawn(t, rt, basic(t), b)
			inspect(t, ref)
			_, err := Move.Call(context.Background(), ref, B)
			var pe *actor.PanicError
			if !errors.As(err, &pe) || pe.Method != "move" {
				t.Fatalf("got %v; want a *actor.PanicError of move", err)
			}
			if s := inspect(t, ref); s.state != A {
				t.Fatalf("state %v; want a", s.state)
			}
			if err := move(t, ref, B); err != nil {
				t.Fatalf("after the panic: %v", err)
			}
		})
	}
}

// A panic mid-chain keeps what the chain committed before it, with that
// state's timeout armed.
func TestPanicMidChain(t *testing.T) {
	bubble(t, func(t *testing.T, rt *troupe.Runtime) {
		d := define(t,
			fsm.State(A, step, fsm.To(B)),
			fsm.State(B, step, fsm.To(C), fsm.Timeout(time.Minute, C)),
			fsm.State(C, step, fsm.Terminal()),
		)
		b := newBot()
		b.next[B] = C
		b.panicIn["fn c"] = true
		ref := spawn(t, rt, d, b)
		inspect(t, ref)
		_, err := Move.Call(context.Background(), ref, B)
		var pe *actor.PanicError
		if !errors.As(err, &pe) {
			t.Fatalf("got %v; want a *actor.PanicError", err)
		}
		expect(t, ref, B, "exit a", "enter b", "fn b", "exit b", "enter c")
		time.Sleep(time.Minute)
		synctest.Wait()
		expect(t, ref, C, "exit b", "enter c", "fn c") // b's timeout was armed
	})
}

// A panic in the initial state function: the machine never starts; the
// actor reports the panic; Goto says ErrNotStarted.
func TestPanicInInitialState(t *testing.T) {
	var dl letters
	rt := newRuntime(t, troupe.WithDeadLetterHook(dl.Hook))
	b := newBot()
	b.panicIn["fn a"] = true
	ref := spawn(t, rt, basic(t), b)
	if _, err := Move.Call(context.Background(), ref, B); !errors.Is(err, fsm.ErrNotStarted) {
		t.Fatalf("got %v; want ErrNotStarted", err)
	}
	var pe *actor.PanicError
	if l := dl.All(); len(l) == 0 || !errors.As(l[0].Err, &pe) {
		t.Fatalf("dead letters %v; want the Started panic", l)
	}
}

// With SpawnFunc, a panic restarts the actor with a fresh state that enters
// the initial state again; the old state's timeout does not follow it.
func TestSpawnFuncRestart(t *testing.T) {
	var dl letters
	bubble(t, func(t *testing.T, rt *troupe.Runtime) {
		d := define(t,
			fsm.State(A, step, fsm.To(B)),
			fsm.State(B, step, fsm.To(C), fsm.Timeout(10*time.Second, C)),
			fsm.State(C, step, fsm.Terminal()),
		)
		made := 0
		ref, err := fsm.SpawnFunc(rt, d, func() *bot { made++; return newBot() })
		if err != nil {
			t.Fatal(err)
		}
		if err := move(t, ref, B); err != nil {
			t.Fatal(err)
		}
		if _, err := Boom.Call(context.Background(), ref, 0); err == nil {
			t.Fatal("Boom did not fail")
		}
		time.Sleep(time.Second) // the restart backoff, in fake time
		synctest.Wait()
		expect(t, ref, A, "enter a", "fn a")
		if made != 2 {
			t.Errorf("factory called %d times; want 2", made)
		}
		time.Sleep(time.Minute)
		synctest.Wait()
		expect(t, ref, A)
		for _, l := range dl.All() {
			if l.Method != "boom" {
				t.Errorf("dead letter %v; want only boom's", l)
			}
		}
	}, troupe.WithDeadLetterHook(dl.Hook))
}
