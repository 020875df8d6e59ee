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

// timed: a has a 10 s timeout to c; b has none (or one of an hour).
func timed(t testing.TB, bTimeout bool) *fsm.Definition[*bot, phase] {
	bOpts := []fsm.StateOption{fsm.To(A, C)}
	if bTimeout {
		bOpts = append(bOpts, fsm.Timeout(time.Hour, C))
	}
	return define(t,
		fsm.State(A, step, fsm.To(A, B, C), fsm.Timeout(10*time.Second, C)),
		fsm.State(B, step, bOpts...),
		fsm.State(C, step, fsm.Terminal()),
	)
}

func TestTimeoutFires(t *testing.T) {
	bubble(t, func(t *testing.T, rt *troupe.Runtime) {
		b := newBot()
		var cause fsm.Transition[phase]
		b.hook = func(_ *bot, _ *actor.Ctx, tr fsm.Transition[phase]) { cause = tr }
		ref := spawn(t, rt, timed(t, false), b)
		inspect(t, ref)
		time.Sleep(10*time.Second - time.Millisecond)
		synctest.Wait()
		expect(t, ref, A)
		time.Sleep(5 * time.Millisecond) // the wheel's tick
		synctest.Wait()
		expect(t, ref, C, "exit a", "enter c", "fn c")
		if !cause.Timeout || cause.From != A || cause.To != C {
			t.Errorf("transition %+v; want a → c by timeout", cause)
		}
	})
}

// Leaving the state cancels its timeout; entering it again re-arms it.
// Nothing stale reaches the machine, not even as a dead letter.
func TestTimeoutCancelledOnExit(t *testing.T) {
	for _, bTimeout := range []bool{false, true} {
		var dl letters
		bubble(t, func(t *testing.T, rt *troupe.Runtime) {
			ref := spawn(t, rt, timed(t, bTimeout), newBot())
			inspect(t, ref)
			time.Sleep(5 * time.Second)
			if err := move(t, ref, B); err != nil {
				t.Fatal(err)
			}
			time.Sleep(30 * time.Second)
			synctest.Wait()
			expect(t, ref, B, "exit a", "enter b", "fn b")
			if err := move(t, ref, A); err != nil {
				t.Fatal(err)
			}
			time.Sleep(9 * time.Second)
			synctest.Wait()
			expect(t, ref, A, "exit b", "enter a", "fn a")
			time.Sleep(2 * time.Second)
			synctest.Wait()
			expect(t, ref, C, "exit a", "enter c", "fn c")
			if l := dl.All(); len(l) != 0 {
				t.Errorf("dead letters %v; want none", l)
			}
		}, troupe.WithDeadLetterHook(dl.Hook))
	}
}

// A self transition restarts the state timeout.
func TestTimeoutSelfTransitionRestarts(t *testing.T) {
	bubble(t, func(t *testing.T, rt *troupe.Runtime) {
		ref := spawn(t, rt, timed(t, false), newBot())
		time.Sleep(6 * time.Second)
		if err := move(t, ref, A); err != nil {
			t.Fatal(err)
		}
		time.Sleep(6 * time.Second) // 12 s since the start, 6 since the re-entry
		synctest.Wait()
		if s := inspect(t, ref); s.state != A {
			t.Fatalf("state %v; want a", s.state)
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if s := inspect(t, ref); s.state != C {
			t.Fatalf("state %v; want c", s.state)
		}
	})
}

type blockReq struct {
	release chan struct{}
	to      phase
}

// Block waits for release, then moves the machine.
var Block = actor.NewMethod("block", func(b *bot, c *actor.Ctx, r blockReq) (phase, error) {
	<-r.release
	return b.State(), b.Goto(c, r.to)
})

// A tick of the old state's timeout, already queued when the machine
// leaves the state, never fires in the new one.
func TestStaleQueuedTimeoutNeverFires(t *testing.T) {
	for _, bTimeout := range []bool{false, true} {
		var dl letters
		bubble(t, func(t *testing.T, rt *troupe.Runtime) {
			ref := spawn(t, rt, timed(t, bTimeout), newBot())
			inspect(t, ref)
			release := make(chan struct{})
			if err := Block.Cast(ref, blockReq{release, B}); err != nil {
				t.Fatal(err)
			}
			time.Sleep(11 * time.Second) // a's timeout fires: its tick waits behind block
			synctest.Wait()
			close(release)
			synctest.Wait()
			time.Sleep(time.Minute)
			synctest.Wait()
			expect(t, ref, B, "exit a", "enter b", "fn b")
			if l := dl.All(); len(l) != 0 {
				t.Errorf("dead letters %v; want none", l)
			}
		}, troupe.WithDeadLetterHook(dl.Hook))
	}
}

// A timeout refused by a guard has no caller: it goes to the dead letters.
func TestTimeoutRefusedGoesToDeadLetters(t *testing.T) {
	var dl letters
	bubble(t, func(t *testing.T, rt *troupe.Runtime) {
		b := newBot()
		b.refuse[C] = errors.New("not yet")
		ref := spawn(t, rt, timed(t, false), b)
		time.Sleep(11 * time.Second)
		synctest.Wait()
		if s := inspect(t, ref); s.state != A {
			t.Fatalf("state %v; want a", s.state)
		}
		l := dl.All()
		if len(l) != 1 || l[0].Method != "fsm.timeout" || !errors.Is(l[0].Err, fsm.ErrGuard) {
			t.Fatalf("dead letters %v; want one fsm.timeout refused by the guard", l)
		}
	}, troupe.WithDeadLetterHook(dl.Hook))
}

// A Stop step cancels the state's timeout.
func TestStopCancelsTimeout(t *testing.T) {
	bubble(t, func(t *testing.T, rt *troupe.Runtime) {
		d := define(t,
			fsm.State(A, step, fsm.To(B)),
			fsm.State(B, step, fsm.To(C), fsm.Timeout(time.Second, C)),
			fsm.State(C, step, fsm.Terminal()),
		)
		b := newBot()
		b.stop[B] = true
		ref := spawn(t, rt, d, b)
		if _, err := Move.Call(context.Background(), ref, B); err != nil {
			t.Fatal(err)
		}
		<-ref.Done()
		time.Sleep(time.Minute)
		if b.State() != B || len(b.log) != 5 {
			t.Fatalf("state %v, log %q; want b, no timeout", b.State(), b.log)
		}
	})
}

// A timeout refused by a guard leaves its state with a timeout pending: it
// is retried a full timeout later, and goes once the guard agrees. Before,
// the refused tick left no timeout: the machine waited forever.
func TestTimeoutRefusedIsRetried(t *testing.T) {
	var dl letters
	bubble(t, func(t *testing.T, rt *troupe.Runtime) {
		b := newBot()
		b.refuse[C] = errors.New("not yet")
		ref := spawn(t, rt, timed(t, false), b)
		expect(t, ref, A, "enter a", "fn a")
		time.Sleep(10*time.Second + 5*time.Millisecond) // refused
		synctest.Wait()
		expect(t, ref, A)
		if _, err := Allow.Call(context.Background(), ref, C); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Second) // the retry
		synctest.Wait()
		expect(t, ref, C, "exit a", "enter c", "fn c")
		if l := dl.All(); len(l) != 1 || !errors.Is(l[0].Err, fsm.ErrGuard) {
			t.Fatalf("dead letters %v; want the one refusal", l)
		}
	}, troupe.WithDeadLetterHook(dl.Hook))
}

// A timeout whose transition panics leaves its state with a timeout
// pending: the actor resumes (Spawn's default) in the source state, and
// the timeout is retried a full timeout later. Before, the machine waited
// forever.
func TestTimeoutPanicIsRetried(t *testing.T) {
	for _, where := range []string{"guard c", "exit a", "enter c", "fn c"} {
		t.Run(where, func(t *testing.T) {
			var dl letters
			bubble(t, func(t *testing.T, rt *troupe.Runtime) {
				b := newBot()
				b.panicIn[where] = true // once
				ref := spawn(t, rt, timed(t, false), b)
				inspect(t, ref)
				time.Sleep(10*time.Second + 5*time.Millisecond) // panics
				synctest.Wait()
				if s := inspect(t, ref); s.state != A {
					t.Fatalf("state %v; want a", s.state)
				}
				time.Sleep(10 * time.Second) // the retry
				synctest.Wait()
				if s := inspect(t, ref); s.state != C {
					t.Fatalf("state %v after the retry; want c", s.state)
				}
				var pe *actor.PanicError
				if l := dl.All(); len(l) != 1 || !errors.As(l[0].Err, &pe) || l[0].Method != "fsm.timeout" {
					t.Fatalf("dead letters %v; want the one panic of fsm.timeout", l)
				}
			}, troupe.WithDeadLetterHook(dl.Hook))
		})
	}
}

// Allow lifts the guard's refusal of a state.
var Allow = actor.NewMethod("allow", func(b *bot, c *actor.Ctx, p phase) (struct{}, error) {
	delete(b.refuse, p)
	return struct{}{}, nil
})

// Under SpawnFunc's Restart, a timeout whose transition panics restarts the
// actor: the fresh state enters the initial state and arms its own timeout;
// the old state's, re-armed as the panic unwound, goes with the old state.
func TestTimeoutPanicRestart(t *testing.T) {
	var dl letters
	bubble(t, func(t *testing.T, rt *troupe.Runtime) {
		made := 0
		ref, err := fsm.SpawnFunc(rt, timed(t, false), func() *bot {
			made++
			b := newBot()
			if made == 1 {
				b.panicIn["enter c"] = true
			}
			return b
		}, actor.WithSupervision(actor.Supervision{Backoff: 3 * time.Second, MaxBackoff: 3 * time.Second}))
		if err != nil {
			t.Fatal(err)
		}
		inspect(t, ref)
		time.Sleep(10*time.Second + 5*time.Millisecond) // panics: restart in 3 s
		synctest.Wait()
		time.Sleep(11 * time.Second) // the old timeout, re-armed, would have fired
		synctest.Wait()
		expect(t, ref, A, "enter a", "fn a")
		time.Sleep(2 * time.Second) // 10 s since the restart
		synctest.Wait()
		expect(t, ref, C, "exit a", "enter c", "fn c")
		if made != 2 || len(dl.All()) != 1 {
			t.Fatalf("factory called %d times, dead letters %v; want 2, the panic", made, dl.All())
		}
	}, troupe.WithDeadLetterHook(dl.Hook))
}
