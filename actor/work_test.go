package actor_test

import (
	"context"
	"errors"
	"runtime"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

// offTurn runs the functions it is sent with actor.Go and hands their
// results to the test.
type offTurn struct {
	results chan actor.Result[int]
	kid     *actor.Ref[*Account] // a child, for the graceful stop test
}

type workFn = func(ctx context.Context) (int, error)

func newOffTurn(t *testing.T, rt actor.Spawner) (*actor.Ref[*offTurn], *offTurn) {
	t.Helper()
	s := &offTurn{results: make(chan actor.Result[int], actor.MaxWork+8)}
	ref, err := actor.Spawn(rt, s)
	if err != nil {
		t.Fatal(err)
	}
	return ref, s
}

var (
	workStart = actor.NewMethod("start", func(_ *offTurn, c *actor.Ctx, fn workFn) (struct{}, error) {
		return struct{}{}, actor.Go(c, fn, workDone)
	})
	workDone = actor.NewMethod("done", func(s *offTurn, _ *actor.Ctx, res actor.Result[int]) (struct{}, error) {
		s.results <- res
		return struct{}{}, nil
	})
	// workKid spawns a child, whose graceful stop the parent's waits for.
	workKid = actor.NewMethod("kid", func(s *offTurn, c *actor.Ctx, _ int) (struct{}, error) {
		kid, err := actor.Spawn(c, &Account{})
		s.kid = kid
		return struct{}{}, err
	})
	// workAfterStop asks for a stop, then for work.
	workAfterStop = actor.NewMethod("after stop", func(_ *offTurn, c *actor.Ctx, fn workFn) (struct{}, error) {
		c.Stop()
		return struct{}{}, actor.Go(c, fn, workDone)
	})
	// accountResult is a method of another actor type.
	accountResult = actor.NewMethod("account result", func(*Account, *actor.Ctx, actor.Result[int]) (int, error) { return 0, nil })

	errWork = errors.New("work error")
)

// Go's result, error or panic comes back to the actor as a message.
func TestGo(t *testing.T) {
	tests := []struct {
		name      string
		fn        workFn
		want      int
		wantErr   error
		wantPanic bool
	}{
		{"value", func(context.Context) (int, error) { return 7, nil }, 7, nil, false},
		{"value and error", func(context.Context) (int, error) { return 1, errWork }, 1, errWork, false},
		{"panic", func(context.Context) (int, error) { panic(errWork) }, 0, errWork, true},
		{"panic nil", func(context.Context) (int, error) { panic(nil) }, 0, nil, true},
		{"goexit", func(context.Context) (int, error) { runtime.Goexit(); return 0, nil }, 0, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := newRuntime(t)
			ref, s := newOffTurn(t, rt)
			if _, err := workStart.Call(context.Background(), ref, tt.fn); err != nil {
				t.Fatalf("Go = %v; want nil", err)
			}
			res := <-s.results
			var pe *actor.PanicError
			if isPanic := errors.As(res.Err, &pe); isPanic != tt.wantPanic {
				t.Fatalf("got %v; want a *PanicError: %v", res.Err, tt.wantPanic)
			}
			if tt.wantPanic && pe.Method != "done" {
				t.Errorf("PanicError.Method = %q; want done", pe.Method)
			}
			if res.Value != tt.want || (tt.wantErr != nil && !errors.Is(res.Err, tt.wantErr)) || (!tt.wantPanic && tt.wantErr == nil && res.Err != nil) {
				t.Errorf("got %d, %v; want %d, %v", res.Value, res.Err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestGoBadInput(t *testing.T) {
	rt := newRuntime(t)
	ref, _ := newOffTurn(t, rt)
	ctx := context.Background()
	ok := func(context.Context) (int, error) { return 0, nil }
	if err := actor.Go(nil, ok, workDone); !errors.Is(err, actor.ErrNilContext) {
		t.Errorf("nil Ctx: got %v; want ErrNilContext", err)
	}
	tests := []struct {
		name string
		m    *actor.Method[*offTurn, workFn, struct{}]
		fn   workFn
		want error
	}{
		{"nil fn", workStart, nil, actor.ErrNilHandler},
		{"nil then", actor.NewMethod("nil then", func(_ *offTurn, c *actor.Ctx, fn workFn) (struct{}, error) {
			var then *actor.Method[*offTurn, actor.Result[int], struct{}]
			return struct{}{}, actor.Go(c, fn, then)
		}), ok, actor.ErrNilHandler},
		{"invalid then", actor.NewMethod("invalid then", func(_ *offTurn, c *actor.Ctx, fn workFn) (struct{}, error) {
			return struct{}{}, actor.Go(c, fn, actor.NewMethod[*offTurn, actor.Result[int], struct{}]("", nil))
		}), ok, actor.ErrInvalidName},
		{"then of another actor", actor.NewMethod("wrong then", func(_ *offTurn, c *actor.Ctx, fn workFn) (struct{}, error) {
			return struct{}{}, actor.Go(c, fn, accountResult)
		}), ok, actor.ErrWrongActor},
		{"stopping", workAfterStop, ok, actor.ErrStopped},
	}
	for _, tt := range tests {
		if _, err := tt.m.Call(ctx, ref, tt.fn); !errors.Is(err, tt.want) {
			t.Errorf("%s: got %v; want %v", tt.name, err, tt.want)
		}
	}
}

// At most MaxWork functions run per actor; beyond, Go refuses at once
// with ErrWorkLimit; once one returns, Go works again.
func TestGoLimit(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		ref, s := newOffTurn(t, rt)
		ctx := context.Background()
		gate := make(chan struct{})
		var running atomic.Int32
		wait := func(context.Context) (int, error) {
			running.Add(1)
			defer running.Add(-1)
			<-gate
			return 1, nil
		}
		for i := range actor.MaxWork {
			if _, err := workStart.Call(ctx, ref, wait); err != nil {
				t.Fatalf("Go #%d = %v; want nil", i+1, err)
			}
		}
		if _, err := workStart.Call(ctx, ref, wait); !errors.Is(err, actor.ErrWorkLimit) {
			t.Fatalf("Go #%d = %v; want ErrWorkLimit", actor.MaxWork+1, err)
		}
		synctest.Wait()
		if n := running.Load(); n != actor.MaxWork {
			t.Errorf("running = %d; want %d", n, actor.MaxWork)
		}
		gate <- struct{}{} // one returns
		<-s.results
		if _, err := workStart.Call(ctx, ref, wait); err != nil {
			t.Errorf("Go after one returned = %v; want nil", err)
		}
		close(gate)
		for range actor.MaxWork {
			<-s.results
		}
	})
}

// fn's ctx is cancelled when the actor stops; its result then finds the
// actor gone and is a dead letter; its goroutine exits (the bubble would
// report it otherwise).
func TestGoCancelledAtStop(t *testing.T) {
	tests := []struct {
		name string
		stop func(rt *troupe.Runtime, ref *actor.Ref[*offTurn])
	}{
		{"stop", func(_ *troupe.Runtime, ref *actor.Ref[*offTurn]) { _ = ref.Stop(context.Background()) }},
		{"kill", func(_ *troupe.Runtime, ref *actor.Ref[*offTurn]) { ref.Kill(); <-ref.Done() }},
		{"runtime shutdown", func(rt *troupe.Runtime, _ *actor.Ref[*offTurn]) { _ = rt.Shutdown(context.Background()) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				rec := &recorder{}
				rt := newRuntime(t, troupe.WithDeadLetterHook(rec.Hook))
				ref, _ := newOffTurn(t, rt)
				start := time.Now()
				returned := make(chan time.Duration, 1)
				fn := func(ctx context.Context) (int, error) {
					<-ctx.Done()
					returned <- time.Since(start)
					return 0, ctx.Err()
				}
				if _, err := workStart.Call(context.Background(), ref, fn); err != nil {
					t.Fatal(err)
				}
				time.Sleep(time.Second)
				synctest.Wait()
				select {
				case <-returned:
					t.Fatal("fn's ctx ended before the stop")
				default:
				}
				tt.stop(rt, ref)
				if d := <-returned; d != time.Second {
					t.Errorf("fn returned after %v; want 1s (at the stop)", d)
				}
				synctest.Wait() // the result is handed over and the goroutine exits
				letters := rec.All()
				if len(letters) != 1 || letters[0].Reason != troupe.ReasonStopped || letters[0].Method != "done" {
					t.Fatalf("dead letters %v; want one, stopped, of done", letters)
				}
				if res, ok := letters[0].Payload.(actor.Result[int]); !ok || !errors.Is(res.Err, context.Canceled) {
					t.Errorf("payload %#v; want the Result with context.Canceled", letters[0].Payload)
				}
			})
		})
	}
}

// A graceful stop does not cancel work: fn's ctx ends when the actor
// finalizes, and a result that comes before still runs (here while the
// stop waits for a busy child).
func TestGoGracefulStop(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		ref, s := newOffTurn(t, rt)
		ctx := context.Background()
		if _, err := workKid.Call(ctx, ref, 0); err != nil {
			t.Fatal(err)
		}
		if err := Sleep.Cast(s.kid, 10*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		fn := func(ctx context.Context) (int, error) {
			time.Sleep(time.Millisecond)
			return 5, ctx.Err()
		}
		if _, err := workStart.Call(ctx, ref, fn); err != nil {
			t.Fatal(err)
		}
		if err := ref.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		select {
		case res := <-s.results:
			if res.Value != 5 || res.Err != nil {
				t.Errorf("got %d, %v; want 5, nil", res.Value, res.Err)
			}
		default:
			t.Error("the result that came during the stop did not run")
		}
	})
}

// busyKid keeps a child's turn for d, deaf to its Context: a kill of its
// parent waits for it.
var busyKid = actor.NewMethod("busy", func(_ *Account, _ *actor.Ctx, d time.Duration) (int, error) {
	time.Sleep(d)
	return 0, nil
})

// A kill cancels fn's ctx at once, as it does the running handler's
// Context, not when the actor finalizes: a killed actor fails whatever
// reaches it, so work going on meanwhile (here while its child takes 10s
// to stop) would be for nobody.
func TestGoCancelledAtKill(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		ref, s := newOffTurn(t, rt)
		ctx := context.Background()
		if _, err := workKid.Call(ctx, ref, 0); err != nil {
			t.Fatal(err)
		}
		if err := busyKid.Cast(s.kid, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		returned := make(chan time.Duration, 1)
		fn := func(ctx context.Context) (int, error) {
			<-ctx.Done()
			returned <- time.Since(start)
			return 0, ctx.Err()
		}
		if _, err := workStart.Call(ctx, ref, fn); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Second)
		ref.Kill()
		if d := <-returned; d != time.Second {
			t.Errorf("fn's ctx ended %v after it started; want 1s (at the kill)", d)
		}
		<-ref.Done()
	})
}

// Shutdown and Close return with no goroutine of the runtime left: a Go
// function that honours its ctx returns at the stop, and its goroutine
// (ours from then on: it hands the result over, here as a dead letter)
// has ended by the time Shutdown or Close returns. The dead letter of its
// result is reported before, never after: a hook may not run once the
// runtime is closed.
func TestGoEndsBeforeRuntimeStopReturns(t *testing.T) {
	tests := []struct {
		name string
		stop func(rt *troupe.Runtime) error
	}{
		{"shutdown", func(rt *troupe.Runtime) error { return rt.Shutdown(context.Background()) }},
		{"close", func(rt *troupe.Runtime) error { return rt.Close() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				var stopped, late atomic.Bool
				hook := func(troupe.DeadLetter) {
					if stopped.Load() {
						late.Store(true)
					}
				}
				rt := newRuntime(t, troupe.WithDeadLetterHook(hook))
				ref, _ := newOffTurn(t, rt)
				fn := func(ctx context.Context) (int, error) {
					<-ctx.Done()
					time.Sleep(time.Millisecond) // winds down promptly, not at once
					return 0, ctx.Err()
				}
				if _, err := workStart.Call(context.Background(), ref, fn); err != nil {
					t.Fatal(err)
				}
				if err := tt.stop(rt); err != nil {
					t.Fatalf("stop: %v", err)
				}
				stopped.Store(true)
				synctest.Wait()
				time.Sleep(time.Second)
				if late.Load() {
					t.Error("a dead letter of a Go function's result was reported after the runtime's stop returned")
				}
			})
		})
	}
}

// A Go function that ignores its ctx holds Close up for the call timeout
// only, as a handler that ignores its Context does, and is named.
func TestGoIgnoringCtxNamedByClose(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt, err := troupe.New(troupe.WithCallTimeout(time.Second)) // not newRuntime: its cleanup wants a nil Shutdown
		if err != nil {
			t.Fatal(err)
		}
		ref, err := actor.Spawn(rt, &offTurn{results: make(chan actor.Result[int], 1)}, actor.WithName("worker"))
		if err != nil {
			t.Fatal(err)
		}
		fn := func(context.Context) (int, error) {
			time.Sleep(time.Minute)
			return 0, nil
		}
		if _, err := workStart.Call(context.Background(), ref, fn); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		err = rt.Close()
		var se *actor.StopError
		if !errors.As(err, &se) || len(se.Actors) != 1 || se.Actors[0] != "worker" {
			t.Errorf("Close = %v; want a *StopError naming worker", err)
		}
		if d := time.Since(start); d != time.Second {
			t.Errorf("Close took %v; want 1s (the call timeout)", d)
		}
		time.Sleep(time.Minute) // fn returns; its goroutine exits
	})
}

// A result that waits for room in a full Block-policy mailbox when the
// actor is killed is a dead letter of the stop (ReasonStopped, ErrStopped),
// not of a full mailbox: the kill cancels the wait.
func TestWorkResultAtKillIsStopped(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rec := &recorder{}
		rt := newRuntime(t, troupe.WithDeadLetterHook(rec.Hook))
		s := &offTurn{results: make(chan actor.Result[int], 1)}
		ref, err := actor.Spawn(rt, s, actor.WithMailbox(1, actor.Block))
		if err != nil {
			t.Fatal(err)
		}
		gate, fnGo := make(chan struct{}), make(chan struct{})
		hold := actor.NewMethod("hold", func(_ *offTurn, c *actor.Ctx, _ int) (struct{}, error) {
			err := actor.Go(c, func(context.Context) (int, error) { <-fnGo; return 1, nil }, workDone)
			<-gate
			return struct{}{}, err
		})
		if err := hold.Cast(ref, 0); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if err := hold.Cast(ref, 0); err != nil { // fills the mailbox
			t.Fatal(err)
		}
		close(fnGo)
		synctest.Wait() // the result waits for room
		ref.Kill()
		synctest.Wait()
		close(gate)
		<-ref.Done()
		synctest.Wait()
		var got []troupe.DeadLetter
		for _, d := range rec.All() {
			if d.Method == "done" {
				got = append(got, d)
			}
		}
		if len(got) != 1 || got[0].Reason != troupe.ReasonStopped || !errors.Is(got[0].Err, actor.ErrStopped) {
			t.Fatalf("the result's dead letters: %v; want one, stopped, ErrStopped", got)
		}
	})
}

// incarnation is a restarting actor's state for TestWorkEndsAtRestart.
type incarnation struct {
	gen     int
	results []actor.Result[int]
}

var (
	incStart = actor.NewMethod("start", func(_ *incarnation, c *actor.Ctx, fn workFn) (struct{}, error) {
		return struct{}{}, actor.Go(c, fn, incDone)
	})
	incDone = actor.NewMethod("inc done", func(s *incarnation, _ *actor.Ctx, res actor.Result[int]) (struct{}, error) {
		s.results = append(s.results, res)
		return struct{}{}, nil
	})
	incPanic = actor.NewMethod("panic", func(*incarnation, *actor.Ctx, int) (struct{}, error) { panic("boom") })
	incGet   = actor.NewMethod("get", func(s *incarnation, _ *actor.Ctx, _ int) (incarnation, error) { return *s, nil })
)

// A restart ends the incarnation that started work with Go as a stop
// would: the work's ctx is cancelled, and its result (here one that comes
// before the restart is done, queued behind the panic, and one that comes
// after) never reaches the fresh state: it is a dead letter of the stop.
func TestWorkEndsAtRestart(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rec := &recorder{}
		rt := newRuntime(t, troupe.WithDeadLetterHook(rec.Hook))
		gen := 0
		ref, err := actor.SpawnFunc(rt, func() *incarnation { gen++; return &incarnation{gen: gen} },
			actor.WithSupervision(actor.Supervision{Backoff: time.Second}))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		cancelled := make(chan struct{})
		early := make(chan struct{})
		if _, err := incStart.Call(ctx, ref, func(ctx context.Context) (int, error) {
			<-ctx.Done()
			close(cancelled)
			return 0, ctx.Err()
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := incStart.Call(ctx, ref, func(ctx context.Context) (int, error) {
			<-early
			return 2, nil
		}); err != nil {
			t.Fatal(err)
		}
		_ = incPanic.Cast(ref, 0)
		synctest.Wait() // the old state panicked; the restart waits its backoff
		close(early)    // its result is queued before the restart
		synctest.Wait()
		time.Sleep(2 * time.Second) // the backoff: the fresh state runs
		select {
		case <-cancelled:
		case <-time.After(time.Minute):
			t.Fatal("the old incarnation's work ctx is not cancelled a minute after its restart")
		}
		synctest.Wait()
		s, err := incGet.Call(ctx, ref, 0)
		if err != nil {
			t.Fatal(err)
		}
		if s.gen != 2 || len(s.results) != 0 {
			t.Fatalf("fresh state: gen %d, results %v; want gen 2 and none of the old incarnation's", s.gen, s.results)
		}
		if n := rec.Count(troupe.ReasonStopped, "inc done"); n != 2 {
			t.Fatalf("%d stopped dead letters for the old results; want 2 (all: %v)", n, rec.All())
		}
	})
}
