package actor_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/engine"
	troupe "github.com/troupe-go/troupe/runtime"
)

// The edges of an actor's life (issue 11). Each test here hung, waited a
// deadline out, or lost an outcome before the lifecycle was rebuilt.

type ticker struct{ ticks int }

var (
	slowTick = actor.NewMethod("tick", func(s *ticker, _ *actor.Ctx, d time.Duration) (struct{}, error) {
		time.Sleep(d) // slower than the period, and deaf to its Context
		s.ticks++
		return struct{}{}, nil
	})
	startEvery = actor.NewMethod("every", func(s *ticker, c *actor.Ctx, d time.Duration) (struct{}, error) {
		err := actor.Every(c, "t", 5*time.Millisecond, slowTick, d)
		return struct{}{}, err
	})
)

// Item 1: a graceful stop ends while an Every handler is slower than its
// period (the timer is cancelled by the stop, its queued tick dropped).
func TestStopWithBusyEvery(t *testing.T) {
	for _, via := range []string{"Ref.Stop", "Runtime.Shutdown"} {
		t.Run(via, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				rt, err := troupe.New()
				if err != nil {
					t.Fatal(err)
				}
				ref, _ := actor.Spawn(rt, &ticker{})
				if _, err := startEvery.Call(context.Background(), ref, 30*time.Millisecond); err != nil {
					t.Fatal(err)
				}
				time.Sleep(100 * time.Millisecond)
				if via == "Ref.Stop" {
					if err := ref.Stop(context.Background()); err != nil {
						t.Fatalf("Stop = %v; want nil", err)
					}
				}
				if err := rt.Shutdown(context.Background()); err != nil {
					t.Fatalf("Shutdown = %v; want nil", err)
				}
				<-ref.Done()
			})
		})
	}
}

// Item 2: Kill, Stop and Shutdown cut a restart's backoff short, and
// Shutdown stops an actor that waits in one.
func TestStopDuringBackoff(t *testing.T) {
	hour := actor.WithSupervision(actor.Supervision{Directive: actor.Restart, Backoff: time.Hour, MaxBackoff: time.Hour})
	newPaused := func(t *testing.T, rt *troupe.Runtime) *actor.Ref[*Account] {
		t.Helper()
		ref, err := actor.SpawnFunc(rt, func() *Account { return &Account{} }, hour)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Boom.Call(context.Background(), ref, "x"); err == nil {
			t.Fatal("Boom did not panic")
		}
		synctest.Wait() // the turn has ended: the backoff is armed
		return ref
	}
	t.Run("Kill", func(t *testing.T) {
		bubble(t, func(t *testing.T) {
			rt := newRuntime(t)
			ref := newPaused(t, rt)
			f := Deposit.Ask(context.Background(), ref, 1)
			start := time.Now()
			ref.Kill()
			<-ref.Done()
			if d := time.Since(start); d != 0 {
				t.Errorf("Kill took %v of the backoff; want 0", d)
			}
			if _, err := f.Await(context.Background()); !errors.Is(err, actor.ErrStopped) {
				t.Errorf("call queued during the backoff = %v; want ErrStopped", err)
			}
		})
	})
	t.Run("Stop", func(t *testing.T) {
		bubble(t, func(t *testing.T) {
			rt := newRuntime(t)
			ref := newPaused(t, rt)
			f := Deposit.Ask(context.Background(), ref, 7)
			start := time.Now()
			if err := ref.Stop(context.Background()); err != nil {
				t.Fatalf("Stop = %v", err)
			}
			if d := time.Since(start); d != 0 {
				t.Errorf("Stop took %v of the backoff; want 0", d)
			}
			// A graceful stop restarts at once and runs what was queued.
			if v, err := f.Await(context.Background()); err != nil || v != 7 {
				t.Errorf("call queued during the backoff = %v, %v; want 7 on a fresh state", v, err)
			}
		})
	})
	t.Run("Shutdown", func(t *testing.T) {
		bubble(t, func(t *testing.T) {
			rt, _ := troupe.New()
			ref := newPaused(t, rt)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if err := rt.Shutdown(ctx); err != nil {
				t.Fatalf("Shutdown = %v; want nil", err)
			}
			select {
			case <-ref.Done():
			default:
				t.Fatal("Done not closed after Shutdown")
			}
		})
	})
}

// Item 3: a dead-letter hook that panics wedges nothing, and its panic is
// reported with its stack.
func TestPanickingDeadLetterHook(t *testing.T) {
	var mu sync.Mutex
	var reported []error
	rt := newRuntime(t,
		troupe.WithDeadLetterHook(func(troupe.DeadLetter) { panic("hook") }),
		troupe.WithErrorHook(func(err error) { mu.Lock(); reported = append(reported, err); mu.Unlock() }))
	acct := spawnAccount(t, rt)
	for range 3 {
		_ = Deposit.Cast(acct, -1) // fails: a dead letter
		_ = Boom.Cast(acct, "x")   // panics: a dead letter
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if v, err := Deposit.Call(ctx, acct, 5); err != nil || v != 5 {
		t.Fatalf("Call after panicking hooks = %v, %v; want 5", v, err)
	}
	if acct.Stopped() {
		t.Fatal("actor stopped by a hook's panic")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reported) != 6 {
		t.Fatalf("%d hook panics reported; want 6", len(reported))
	}
	var pe *actor.PanicError
	if !errors.As(reported[0], &pe) || pe.Value != "hook" || len(pe.Stack) == 0 {
		t.Fatalf("reported %v; want a *PanicError of the hook with its stack", reported[0])
	}
}

// Item 3 (the other kinds of user code): panics in Started, Stopping and a
// timer's method are reported as dead letters and leave the actor sound.
type fragile struct{ started int }

func (f *fragile) Started(*actor.Ctx) {
	f.started++
	panic("started")
}
func (f *fragile) Stopping(*actor.Ctx) { panic("stopping") }

var (
	fragileGet  = actor.NewMethod("get", func(f *fragile, _ *actor.Ctx, _ int) (int, error) { return f.started, nil })
	fragileTick = actor.NewMethod("tick", func(*fragile, *actor.Ctx, int) (int, error) { panic("tick") })
	fragileArm  = actor.NewMethod("arm", func(f *fragile, c *actor.Ctx, _ int) (int, error) {
		err := actor.After(c, "t", time.Millisecond, fragileTick, 0)
		return 0, err
	})
)

func TestPanickingHooksReported(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rec := &recorder{}
		rt := newRuntime(t, troupe.WithDeadLetterHook(rec.Hook))
		ref, _ := actor.Spawn(rt, &fragile{})
		if _, err := fragileArm.Call(context.Background(), ref, 0); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		if v, err := fragileGet.Call(context.Background(), ref, 0); err != nil || v != 1 {
			t.Fatalf("get = %v, %v; want 1", v, err)
		}
		if err := ref.Stop(context.Background()); err != nil {
			t.Fatalf("Stop = %v", err)
		}
		for _, m := range []string{"started", "stopping", "tick"} {
			if n := rec.Count(troupe.ReasonFailed, m); n != 1 {
				t.Errorf("%d dead letters for %s's panic; want 1", n, m)
			}
		}
	})
}

// Item 4: killing a parent whose child is in a sync call to it does not
// wait for the call's timeout: the child's call fails at once.
type family struct{ gate chan struct{} }

var (
	parentWork = actor.NewMethod("work", func(f *family, c *actor.Ctx, _ int) (int, error) {
		select {
		case <-f.gate:
		case <-c.Context().Done():
		}
		return 0, nil
	})
	kidCalls = actor.NewMethod("call-parent", func(_ *family, c *actor.Ctx, parent *actor.Ref[*family]) (int, error) {
		return parentWork.Call(c.Context(), parent, 0)
	})
	spawnKid = actor.NewMethod("spawn", func(f *family, c *actor.Ctx, _ int) (*actor.Ref[*family], error) {
		return actor.Spawn(c, &family{})
	})
)

func TestKillParentWithChildInCall(t *testing.T) {
	procs(t, 2) // the child's call starts while the parent waits at its gate
	bubble(t, func(t *testing.T) {
		rec := &recorder{}
		rt := newRuntime(t, troupe.WithCallTimeout(2*time.Second), troupe.WithDeadLetterHook(rec.Hook))
		parent, _ := actor.Spawn(rt, &family{gate: make(chan struct{})})
		kid, err := spawnKid.Call(context.Background(), parent, 0)
		if err != nil {
			t.Fatal(err)
		}
		_ = parentWork.Cast(parent, 0) // the parent is busy
		_ = kidCalls.Cast(kid, parent)
		synctest.Wait() // the child waits in its call, queued at the parent
		start := time.Now()
		parent.Kill()
		<-parent.Done()
		if d := time.Since(start); d != 0 {
			t.Fatalf("Kill took %v; want 0 (no call timeout waited out)", d)
		}
		if n := rec.Count(troupe.ReasonFailed, "call-parent"); n != 1 {
			t.Fatalf("%d failures of the child's call reported; want 1 (ErrStopped)", n)
		}
	})
}

// Item 6: a handler's Context first asked for after its actor was killed
// is already cancelled, also for a oneway.
func TestContextAfterKill(t *testing.T) {
	rt := newRuntime(t)
	gate, started, seen := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	late := actor.NewMethod("late", func(_ *Account, c *actor.Ctx, _ int) (int, error) {
		close(started)
		<-gate
		select {
		case <-c.Context().Done():
			seen <- context.Cause(c.Context())
		default:
			seen <- nil
		}
		return 0, nil
	})
	acct := spawnAccount(t, rt)
	_ = late.Cast(acct, 0)
	<-started
	acct.Kill()
	close(gate)
	if err := <-seen; err == nil {
		t.Fatal("Context asked for after Kill is live; want cancelled")
	}
}

// Item 7: expired calls purged by a full bounded mailbox are dead letters
// (the counters add up).
func TestPurgedExpiredCallsCounted(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		acct := spawnAccount(t, rt, actor.WithMailbox(2, actor.Reject))
		release := busy(t, acct)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		f1, f2 := Deposit.Ask(ctx, acct, 1), Deposit.Ask(ctx, acct, 2)
		time.Sleep(2 * time.Second) // both expire, still queued
		if err := Deposit.Cast(acct, 3); err != nil {
			t.Fatalf("Cast on a mailbox of expired calls = %v; want room made", err)
		}
		for _, f := range []*actor.Future[int]{f1, f2} {
			if _, err := f.Await(context.Background()); !errors.Is(err, actor.ErrTimeout) {
				t.Fatalf("expired call = %v; want ErrTimeout", err)
			}
		}
		if n := rt.DeadLetters().ByReason[troupe.ReasonExpired]; n != 2 {
			t.Fatalf("%d expired dead letters; want 2", n)
		}
		release()
	})
}

// Item 8: a zero Ref is refused with ErrNilRef by every operation; nothing
// panics or hangs.
func TestZeroRef(t *testing.T) {
	zero := &actor.Ref[*Account]{}
	ctx := context.Background()
	if _, err := Deposit.Call(ctx, zero, 1); !errors.Is(err, actor.ErrNilRef) {
		t.Errorf("Call = %v; want ErrNilRef", err)
	}
	if err := Deposit.Cast(zero, 1); !errors.Is(err, actor.ErrNilRef) {
		t.Errorf("Cast = %v; want ErrNilRef", err)
	}
	if _, err := Deposit.Ask(ctx, zero, 1).Await(ctx); !errors.Is(err, actor.ErrNilRef) {
		t.Errorf("Ask = %v; want ErrNilRef", err)
	}
	if err := zero.Stop(ctx); !errors.Is(err, actor.ErrNilRef) {
		t.Errorf("Stop = %v; want ErrNilRef", err)
	}
	zero.Kill()
	<-zero.Done()
	if !zero.Stopped() || zero.Queued() != 0 || len(zero.Held()) != 0 {
		t.Error("a zero Ref looks alive")
	}
}

// Item 9: the zero Supervision is the default (SpawnFunc restarts), and a
// negative MaxRestarts is an invalid option.
func TestSupervisionZeroValue(t *testing.T) {
	rt := newRuntime(t)
	ref, err := actor.SpawnFunc(rt, func() *Account { return &Account{} }, actor.WithSupervision(actor.Supervision{}))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, _ = Deposit.Call(ctx, ref, 10)
	_, _ = Boom.Call(ctx, ref, "x")
	if v, err := Balance.Call(ctx, ref, struct{}{}); err != nil || v != 0 {
		t.Fatalf("balance after a panic = %v, %v; want 0 (restarted)", v, err)
	}
	_, err = actor.SpawnFunc(rt, func() *Account { return &Account{} }, actor.WithSupervision(actor.Supervision{MaxRestarts: -1}))
	if !errors.Is(err, actor.ErrInvalidOption) {
		t.Fatalf("MaxRestarts -1 = %v; want ErrInvalidOption", err)
	}
	_, err = actor.SpawnFunc(rt, func() *Account { return &Account{} }, actor.WithSupervision(actor.Supervision{Backoff: -1}))
	if !errors.Is(err, actor.ErrInvalidOption) || !errors.Is(err, actor.ErrNegativeDuration) {
		t.Fatalf("Backoff -1 = %v; want ErrInvalidOption and ErrNegativeDuration", err)
	}
}

// A Stopping hook that calls runtime.Goexit (t.FailNow in a hook, say)
// cannot be recovered, but it must not leave the stop half-done: the
// actor still ends (Done closes, queued calls have their outcome, the
// runtime shuts down), and the hook's exit is reported. On an idle actor
// the hook runs on the goroutine that asks for the stop, which exits.
type exiter struct{ gate chan struct{} }

func (exiter) Stopping(*actor.Ctx) { runtime.Goexit() }

// exiterGet holds the actor's turn until gate is closed.
var exiterGet = actor.NewMethod("get", func(e exiter, _ *actor.Ctx, _ int) (int, error) {
	<-e.gate
	return 1, nil
})

func TestGoexitInStoppingHook(t *testing.T) {
	for _, busy := range []bool{false, true} {
		t.Run(fmt.Sprintf("busy=%v", busy), func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				rec := &recorder{}
				rt := newRuntime(t, troupe.WithDeadLetterHook(rec.Hook))
				gate := make(chan struct{})
				ref, _ := actor.Spawn(rt, exiter{gate: gate})
				var f *actor.Future[int]
				if busy {
					f = exiterGet.Ask(context.Background(), ref, 0)
					synctest.Wait() // the actor is in its call: the stop queues, and runs on its turn
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				stopped := make(chan error, 1)
				go func() { stopped <- ref.Stop(ctx) }()
				synctest.Wait()
				close(gate)
				<-ref.Done()
				if busy {
					if err := <-stopped; err != nil {
						t.Fatalf("Stop = %v; want nil", err)
					}
					if v, err := f.Await(ctx); err != nil || v != 1 {
						t.Fatalf("queued call = %v, %v; want 1", v, err)
					}
				}
				if n := rec.Count(troupe.ReasonFailed, "stopping"); n != 1 {
					t.Fatalf("%d reports of the hook's Goexit; want 1", n)
				}
			})
		})
	}
}

// A kill that finds its actor idle while a graceful stop waits for a
// child reaches the child: here Stop's ctx ends while the child runs a
// long call (its handler watches its Context), the stop turns into a
// kill, and parent and child end at once, not when the child's call does.
func TestKillDuringGracefulStopReachesChild(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		parent := spawnAccount(t, rt)
		spawn := actor.NewMethod("spawn", func(_ *Account, c *actor.Ctx, _ int) (*actor.Ref[*Account], error) {
			return actor.Spawn(c, &Account{})
		})
		kid, err := spawn.Call(context.Background(), parent, 0)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		f := Sleep.Ask(ctx, kid, time.Hour)
		synctest.Wait() // the child runs its call
		stopCtx, stopCancel := context.WithTimeout(context.Background(), time.Second)
		defer stopCancel()
		start := time.Now()
		var se *actor.StopError
		if err := parent.Stop(stopCtx); !errors.As(err, &se) {
			t.Fatalf("Stop = %v; want a *StopError", err)
		}
		<-parent.Done()
		if d := time.Since(start); d != time.Second {
			t.Fatalf("parent stopped after %v; want 1s (the kill reaches the child)", d)
		}
		if !kid.Stopped() {
			t.Fatal("child still running after its parent stopped")
		}
		if _, err := f.Await(ctx); !errors.Is(err, context.Canceled) {
			t.Fatalf("child's call = %v; want its handler's Context cancelled by the kill", err)
		}
	})
}

// selfKill is a state whose Started hook kills its actor once a message
// is queued behind it: that message never runs.
type selfKill struct{}

func (selfKill) Started(c *actor.Ctx) {
	self := actor.Self[selfKill](c)
	for self.Queued() == 0 {
		runtime.Gosched()
	}
	self.Kill()
}

var never = actor.NewMethod("never", func(selfKill, *actor.Ctx, struct{}) (struct{}, error) {
	panic("a killed actor ran a queued message")
})

// Ref.AtStop's hook runs once the actor stops, before Done closes, even
// when the actor is killed by its Started hook with a message queued; it
// is refused once the actor has stopped, and for a zero Ref.
func TestAtStop(t *testing.T) {
	rt := newRuntime(t)
	ref, err := actor.Spawn(rt, selfKill{})
	if err != nil {
		t.Fatal(err)
	}
	ran := make(chan struct{})
	if !ref.AtStop(engine.Seal{}, func() { close(ran) }) {
		t.Fatal("AtStop refused on a running actor")
	}
	_ = never.Cast(ref, struct{}{})
	<-ref.Done()
	select {
	case <-ran:
	default:
		t.Fatal("the hook had not run when Done closed")
	}
	if ref.AtStop(engine.Seal{}, func() { t.Error("a hook registered after the stop ran") }) {
		t.Fatal("AtStop accepted on a stopped actor")
	}
	if (&actor.Ref[selfKill]{}).AtStop(engine.Seal{}, func() {}) {
		t.Fatal("AtStop accepted on a zero Ref")
	}
}
