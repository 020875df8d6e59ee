package actor_test

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

type Worker struct {
	gen  int
	seen []int
}

var (
	workerGens atomic.Int32
	Work       = actor.NewMethod("work", func(w *Worker, _ *actor.Ctx, v int) (int, error) {
		switch v {
		case -1:
			panic("bad work")
		case -2:
			runtime.Goexit()
		case -3:
			panic(nil)
		}
		w.seen = append(w.seen, v)
		return w.gen, nil
	})
	Seen = actor.NewMethod("seen", func(w *Worker, _ *actor.Ctx, _ int) ([]int, error) {
		return append([]int(nil), w.seen...), nil
	})
)

func newWorker() *Worker { return &Worker{gen: int(workerGens.Add(1))} }

// Restart: a fresh state, the mailbox kept, the failing message not
// redelivered, the caller told at once; the backoff is on the timer wheel.
func TestRestartKeepsMailbox(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		ref, err := actor.SpawnFunc(rt, newWorker, actor.WithSupervision(actor.Supervision{
			Directive: actor.Restart, Backoff: 100 * time.Millisecond,
		}))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		gen0, _ := Work.Call(ctx, ref, 0)
		gate := make(chan struct{})
		hold := actor.NewMethod("hold", func(w *Worker, _ *actor.Ctx, _ int) (int, error) { <-gate; return 0, nil })
		_ = hold.Cast(ref, 0)
		synctest.Wait()
		failed := make(chan error, 1)
		go func() { _, err := Work.Call(ctx, ref, -1); failed <- err }()
		synctest.Wait()
		for i := 1; i <= 3; i++ {
			_ = Work.Cast(ref, i)
		}
		start := time.Now()
		close(gate)
		var pe *actor.PanicError
		if err := <-failed; !errors.As(err, &pe) || pe.Value != "bad work" {
			t.Fatalf("failing call = %v; want its *PanicError", err)
		}
		seen, err := Seen.Call(ctx, ref, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(seen) != 3 || seen[0] != 1 || seen[2] != 3 {
			t.Fatalf("new instance saw %v; want [1 2 3] in order (failing message not redelivered)", seen)
		}
		if took := time.Since(start); took < 100*time.Millisecond {
			t.Fatalf("restarted after %v; want the 100ms backoff", took)
		}
		gen1, _ := Work.Call(ctx, ref, 0)
		if gen1 == gen0 {
			t.Fatal("state was not replaced by a fresh one")
		}
	})
}

// The restart budget: at most N restarts within the window, then the actor
// stops for good, pending callers get ErrStopped wrapping the failure, the
// name is freed.
func TestRestartBudget(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		ref, err := actor.SpawnFunc(rt, newWorker, actor.WithName("fragile"), actor.WithSupervision(actor.Supervision{
			Directive: actor.Restart, MaxRestarts: 2, Window: time.Minute, Backoff: time.Millisecond,
		}))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		for i := 0; i < 2; i++ {
			if _, err := Work.Call(ctx, ref, -1); err == nil {
				t.Fatal("want a panic error")
			}
		}
		// Third failure: budget spent. Queue a call behind it.
		gate, pending := failWithCallQueued(ctx, ref)
		close(gate)
		err = <-pending
		var pe *actor.PanicError
		if !errors.Is(err, actor.ErrStopped) || !errors.As(err, &pe) {
			t.Fatalf("pending call = %v; want ErrStopped wrapping the *PanicError", err)
		}
		<-ref.Done()
		if _, err := troupe.Lookup[*Worker](rt, "fragile"); !errors.Is(err, troupe.ErrNotFound) {
			t.Fatalf("name after giving up: %v; want ErrNotFound", err)
		}
		if _, err := actor.SpawnFunc(rt, newWorker, actor.WithName("fragile")); err != nil {
			t.Fatalf("name not freed: %v", err)
		}
	})
}

// Restarts outside the window do not count against the budget.
func TestRestartWindowSlides(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		ref, _ := actor.SpawnFunc(rt, newWorker, actor.WithSupervision(actor.Supervision{
			Directive: actor.Restart, MaxRestarts: 1, Window: time.Second, Backoff: time.Millisecond,
		}))
		for i := 0; i < 5; i++ {
			_, _ = Work.Call(context.Background(), ref, -1)
			time.Sleep(2 * time.Second)
		}
		if ref.Stopped() {
			t.Fatal("stopped although each restart was alone in its window")
		}
	})
}

func TestStopDirective(t *testing.T) {
	rt := newRuntime(t)
	ref, _ := actor.Spawn(rt, newWorker(), actor.WithSupervision(actor.Supervision{Directive: actor.Terminate}))
	_, _ = Work.Call(context.Background(), ref, -1)
	<-ref.Done()
	if _, err := Work.Call(context.Background(), ref, 1); !errors.Is(err, actor.ErrStopped) {
		t.Fatalf("after a panic under Stop: %v; want ErrStopped", err)
	}
}

// runtime.Goexit and panic(nil) in a handler are failures too; the actor
// goes on.
func TestGoexitAndPanicNil(t *testing.T) {
	rt := newRuntime(t)
	ref, _ := actor.Spawn(rt, newWorker())
	ctx := context.Background()
	for _, v := range []int{-2, -3} {
		_, err := Work.Call(ctx, ref, v)
		var pe *actor.PanicError
		if !errors.As(err, &pe) {
			t.Fatalf("Work(%d) = %v; want *PanicError", v, err)
		}
		if _, err := Work.Call(ctx, ref, 1); err != nil {
			t.Fatalf("after Work(%d): %v; the actor must go on", v, err)
		}
	}
}

// A panic in a hook is reported and does not resurrect the actor.
type badHooks struct{}

func (badHooks) Started(*actor.Ctx)  { panic("start hook") }
func (badHooks) Stopping(*actor.Ctx) { panic("stop hook") }

func TestHookPanicsReported(t *testing.T) {
	rec := &recorder{}
	rt := newRuntime(t, troupe.WithDeadLetterHook(rec.Hook))
	ping := actor.NewMethod("ping", func(*badHooks, *actor.Ctx, int) (int, error) { return 1, nil })
	ref, err := actor.Spawn(rt, &badHooks{})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := ping.Call(context.Background(), ref, 0); err != nil || v != 1 {
		t.Fatalf("ping = %d, %v", v, err)
	}
	if err := ref.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rec.Count(troupe.ReasonFailed, "started") != 1 || rec.Count(troupe.ReasonFailed, "stopping") != 1 {
		t.Fatalf("dead letters = %v; want the two hook panics", rec.All())
	}
	if !ref.Stopped() {
		t.Fatal("a stopping-hook panic resurrected the actor")
	}
}

// 200 create/shutdown cycles of a runtime with restarting actors leave no
// goroutine behind (goleak checks at the end of the package).
func TestRuntimeCycles(t *testing.T) {
	n := 200
	if testing.Short() {
		n = 20
	}
	for i := 0; i < n; i++ {
		rt, err := troupe.New()
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for j := 0; j < 4; j++ {
			ref, err := actor.SpawnFunc(rt, newWorker, actor.WithSupervision(actor.Supervision{Directive: actor.Restart, Backoff: time.Millisecond}))
			if err != nil {
				t.Fatal(err)
			}
			wg.Go(func() {
				_, _ = Work.Call(context.Background(), ref, -1)
				_ = Work.Cast(ref, 1)
			})
		}
		wg.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := rt.Shutdown(ctx); err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
		cancel()
	}
}

// Under Resume, messages that panic in the middle of one turn are each
// reported and the turn goes on with the rest, in order: one recover
// covers the whole turn, so it must resume the loop after each panic.
func TestResumeWithinOneTurn(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rec := &recorder{}
		rt := newRuntime(t, troupe.WithDeadLetterHook(rec.Hook))
		ref, err := actor.Spawn(rt, newWorker()) // Spawn's default: Resume
		if err != nil {
			t.Fatal(err)
		}
		gate := make(chan struct{})
		hold := actor.NewMethod("hold", func(w *Worker, _ *actor.Ctx, _ int) (int, error) { <-gate; return 0, nil })
		_ = hold.Cast(ref, 0)
		synctest.Wait() // the turn runs hold; the rest queue behind it
		for _, v := range []int{1, -1, 2, -3, 3, -1, 4} {
			if err := Work.Cast(ref, v); err != nil {
				t.Fatal(err)
			}
		}
		close(gate)
		seen, err := Seen.Call(context.Background(), ref, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(seen, []int{1, 2, 3, 4}) {
			t.Fatalf("seen = %v; want [1 2 3 4]", seen)
		}
		if n := rec.Count(troupe.ReasonFailed, "work"); n != 3 {
			t.Fatalf("failed-work dead letters = %d (%v); want 3", n, rec.All())
		}
	})
}

// A factory that panics (or returns nil) when a restart calls it ends the
// actor as a spent budget does: the calls queued behind the failure get
// ErrStopped wrapping the cause at once, not their deadline, and the stop
// ends. The panic must not escape the turn, which would leave the actor
// holding its scheduled flag forever.
func TestRestartFactoryFails(t *testing.T) {
	for _, tc := range []struct {
		name string
		bad  func() *Worker
		want func(error) bool
	}{
		{"panic", func() *Worker { panic("factory broke") }, func(err error) bool {
			var pe *actor.PanicError
			return errors.As(err, &pe) && pe.Value == "factory broke"
		}},
		{"nil", func() *Worker { return nil }, func(err error) bool { return errors.Is(err, actor.ErrNilState) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				rt := newRuntime(t)
				first := true
				factory := func() *Worker {
					if first {
						first = false
						return newWorker()
					}
					return tc.bad()
				}
				ref, err := actor.SpawnFunc(rt, factory, actor.WithSupervision(actor.Supervision{
					Directive: actor.Restart, Backoff: 10 * time.Millisecond,
				}))
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
				defer cancel()
				gate, pending := failWithCallQueued(ctx, ref)
				start := time.Now()
				close(gate)
				err = <-pending
				if !errors.Is(err, actor.ErrStopped) || !tc.want(err) {
					t.Fatalf("call queued behind the restart = %v; want ErrStopped wrapping the factory's failure", err)
				}
				if took := time.Since(start); took > time.Second {
					t.Fatalf("call failed after %v; want at the restart (10ms)", took)
				}
				<-ref.Done()
			})
		})
	}
}

// failWithCallQueued, in a synctest bubble, holds ref's turn on a gate and
// queues a failing Work call, then a good one behind it: closing the gate
// lets the failure run; pending gets the good call's outcome.
func failWithCallQueued(ctx context.Context, ref *actor.Ref[*Worker]) (gate chan struct{}, pending <-chan error) {
	gate = make(chan struct{})
	hold := actor.NewMethod("hold", func(w *Worker, _ *actor.Ctx, _ int) (int, error) { <-gate; return 0, nil })
	_ = hold.Cast(ref, 0)
	synctest.Wait()
	go Work.Call(ctx, ref, -1)
	synctest.Wait()
	p := make(chan error, 1)
	go func() { _, err := Work.Call(ctx, ref, 7); p <- err }()
	synctest.Wait()
	return gate, p
}

// The backoff doubles each restart up to MaxBackoff and stays there: it
// never wraps around to a short one, whatever the shift. (synctest.Test,
// not bubble: the backoffs add up to more than its watchdog's hour.)
func TestRestartBackoffNeverWraps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newRuntime(t)
		const (
			backoff = 1<<40 + 1 // about 18 min: doubled 24 times, it passes 2^64
			maxB    = 1 << 41   // about 37 min
		)
		ref, err := actor.SpawnFunc(rt, newWorker, actor.WithSupervision(actor.Supervision{
			Directive: actor.Restart, MaxRestarts: 30, Window: 1 << 62, Backoff: backoff, MaxBackoff: maxB,
		}))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 1<<62)
		defer cancel()
		var last time.Duration
		for i := range 26 {
			if _, err := Work.Call(ctx, ref, -1); err == nil {
				t.Fatal("want a panic error")
			}
			start := time.Now()
			if _, err := Work.Call(ctx, ref, 0); err != nil { // waits out the backoff
				t.Fatal(err)
			}
			wait := time.Since(start)
			if wait < last || wait < min(time.Duration(backoff), maxB) {
				t.Fatalf("restart %d waited %v, after %v; want the backoff doubled, capped at %v", i+1, wait, last, time.Duration(maxB))
			}
			last = wait
		}
		ref.Kill()
		<-ref.Done()
	})
}
