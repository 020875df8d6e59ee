package runtime_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

// Shutdown and Close keep net/http.Server's contract (issue 11, item 5):
// one stop sequence; every caller bounded by its own terms; Close forces
// from any state and returns with nothing of ours left, reporting what it
// could not stop. Each case runs in a synctest bubble: durations are exact.

// work holds its turn for d, or until its Context ends if polite.
type work struct {
	d      time.Duration
	polite bool
}

var hold = actor.NewMethod("hold", func(_ *Counter, c *actor.Ctx, w work) (int, error) {
	if !w.polite {
		time.Sleep(w.d)
		return 0, nil
	}
	select {
	case <-time.After(w.d):
	case <-c.Context().Done():
	}
	return 0, nil
})

// busyRuntime returns a runtime with one actor, "busy", holding its turn.
func busyRuntime(t *testing.T, w work, opts ...troupe.Option) (*troupe.Runtime, *actor.Ref[*Counter]) {
	t.Helper()
	rt, err := troupe.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := actor.Spawn(rt, &Counter{}, actor.WithName("busy"))
	if err := hold.Cast(ref, w); err != nil {
		t.Fatal(err)
	}
	synctest.Wait()
	return rt, ref
}

func within(t *testing.T, what string, start time.Time, want time.Duration) {
	t.Helper()
	if got := time.Since(start); got != want {
		t.Errorf("%s returned after %v; want %v", what, got, want)
	}
}

func TestShutdownMatrix(t *testing.T) {
	t.Run("concurrent Shutdowns with their own deadlines", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rt, ref := busyRuntime(t, work{d: 2 * time.Second, polite: true})
			start := time.Now()
			var wg sync.WaitGroup
			var long error
			wg.Go(func() { long = rt.Shutdown(context.Background()) })
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			err := rt.Shutdown(ctx)
			within(t, "the 50 ms Shutdown", start, 50*time.Millisecond)
			var se *actor.StopError
			if !errors.As(err, &se) || !errors.Is(err, context.DeadlineExceeded) || len(se.Actors) != 1 || se.Actors[0] != "busy" {
				t.Errorf("50 ms Shutdown = %v; want a StopError naming busy", err)
			}
			wg.Wait() // its expiry forced the stop: the polite handler returned
			within(t, "the unbounded Shutdown", start, 50*time.Millisecond)
			if long != nil {
				t.Errorf("unbounded Shutdown = %v; want nil (everything stopped)", long)
			}
			<-ref.Done()
		})
	})
	t.Run("Close during Shutdown is immediate", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rt, _ := busyRuntime(t, work{d: time.Hour, polite: true})
			shut := make(chan error, 1)
			go func() { shut <- rt.Shutdown(context.Background()) }()
			time.Sleep(time.Second)
			start := time.Now()
			if err := rt.Close(); err != nil {
				t.Errorf("Close = %v; want nil", err)
			}
			within(t, "Close", start, 0)
			if err := <-shut; err != nil {
				t.Errorf("Shutdown = %v; want nil", err)
			}
		})
	})
	t.Run("Close after a timed-out Shutdown waits for the rest", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rt, ref := busyRuntime(t, work{d: 3 * time.Second}, troupe.WithCallTimeout(10*time.Second))
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			if err := rt.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Shutdown = %v; want DeadlineExceeded", err)
			}
			start := time.Now()
			if err := rt.Close(); err != nil {
				t.Errorf("Close = %v; want nil", err)
			}
			// The handler ignores its Context: Close waits it out (2 s
			// left), within the call timeout, and returns with every
			// goroutine gone (the bubble would not end otherwise).
			within(t, "Close", start, 2*time.Second)
			<-ref.Done()
		})
	})
	t.Run("Close reports what it could not stop", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rt, _ := busyRuntime(t, work{d: time.Minute}, troupe.WithCallTimeout(time.Second))
			start := time.Now()
			err := rt.Close()
			within(t, "Close", start, time.Second)
			var se *actor.StopError
			if !errors.As(err, &se) || len(se.Actors) != 1 || se.Actors[0] != "busy" {
				t.Errorf("Close = %v; want a StopError naming busy", err)
			}
			if err2 := rt.Close(); err2 != err {
				t.Errorf("second Close = %v; want the same result %v", err2, err)
			}
			time.Sleep(time.Minute) // let the deaf handler return
		})
	})
	t.Run("repeated calls and refusals afterwards", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rt, ref := busyRuntime(t, work{d: time.Second})
			for range 3 {
				if err := rt.Shutdown(context.Background()); err != nil {
					t.Fatalf("Shutdown = %v", err)
				}
			}
			if err := rt.Close(); err != nil {
				t.Fatalf("Close after Shutdown = %v", err)
			}
			if _, err := actor.Spawn(rt, &Counter{}); !errors.Is(err, actor.ErrStopped) {
				t.Errorf("Spawn after Close = %v; want ErrStopped", err)
			}
			if _, err := Inc.Call(context.Background(), ref, 1); !errors.Is(err, actor.ErrStopped) {
				t.Errorf("Call after Close = %v; want ErrStopped", err)
			}
			if _, err := troupe.Lookup[*Counter](rt, "busy"); !errors.Is(err, troupe.ErrNotFound) {
				t.Errorf("Lookup after Close = %v; want ErrNotFound", err)
			}
		})
	})
}

// Once the stop has finished, every Shutdown returns its result, even one
// whose ctx has ended too: there is nothing left to force.
func TestShutdownAfterStopIgnoresEndedCtx(t *testing.T) {
	rt, err := troupe.New()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := actor.Spawn(rt, &Counter{}, actor.WithName("c")); err != nil {
		t.Fatal(err)
	}
	if err := rt.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for i := range 64 {
		if err := rt.Shutdown(ctx); err != nil {
			t.Fatalf("Shutdown %d with an ended ctx after the stop = %v; want nil (the stop's result)", i, err)
		}
	}
}

var expire = actor.NewMethod("expire", func(_ *Counter, c *actor.Ctx, _ struct{}) (struct{}, error) {
	c.Stop()
	return struct{}{}, nil
})

// Spawns racing Close: each either fails with ErrStopped or returns an
// actor that Close stopped, whose Done is closed when Close returns — also
// one with an idle timeout, whose timer is armed after the actor joined
// the runtime.
func TestSpawnRacingClose(t *testing.T) {
	for range 200 {
		rt, err := troupe.New()
		if err != nil {
			t.Fatal(err)
		}
		var refs []*actor.Ref[*Counter]
		spawned := make(chan struct{})
		go func() {
			defer close(spawned)
			for {
				ref, err := actor.Spawn(rt, &Counter{}, actor.WithIdleTimeout(time.Hour, expire, struct{}{}))
				if err != nil {
					if !errors.Is(err, actor.ErrStopped) {
						t.Errorf("Spawn = %v; want ErrStopped", err)
					}
					return
				}
				refs = append(refs, ref)
			}
		}()
		if err := rt.Close(); err != nil {
			t.Fatal(err)
		}
		<-spawned
		for _, ref := range refs {
			select {
			case <-ref.Done():
			default:
				t.Fatalf("%v spawned before Close returned is not done after it (stopped: %v)", ref, ref.Stopped())
			}
		}
	}
}

// slowStop's Stopping hook takes d, ignoring its Context.
type slowStop struct{ d time.Duration }

func (s *slowStop) Stopping(*actor.Ctx) { time.Sleep(s.d) }

// A Stopping hook that will not return holds Close no longer than a
// handler would (the call timeout): Close names its actor. Likewise a
// Ref.Stop is bounded by its ctx. The actors here are idle when asked to
// stop, so the stop is theirs to finish at once — but not on the asker's
// goroutine, which would wait for the hook whatever its bound.
func TestStopBoundedDespiteStoppingHook(t *testing.T) {
	stopBoundedDespiteStoppingHook(t, func(rt *troupe.Runtime) (*actor.Ref[*slowStop], error) {
		return actor.Spawn(rt, &slowStop{d: time.Minute}, actor.WithName("slow"))
	})
}

// The same for an owner-driven actor (actor.Handler) whose owner is away:
// the stop is not its owner's to run, but neither is it the asker's
// goroutine's, which would wait for the hook whatever its bound.
func TestHandlerStopBoundedDespiteStoppingHook(t *testing.T) {
	stopBoundedDespiteStoppingHook(t, func(rt *troupe.Runtime) (*actor.Ref[*slowStop], error) {
		h, err := actor.NewHandler(rt, &slowStop{d: time.Minute}, actor.WithName("slow"))
		if err != nil {
			return nil, err
		}
		return h.Ref(), nil
	})
}

// stopBoundedDespiteStoppingHook checks that Close and Ref.Stop keep to
// their bounds with an actor, made by spawn, whose Stopping hook takes a
// minute.
func stopBoundedDespiteStoppingHook(t *testing.T, spawn func(*troupe.Runtime) (*actor.Ref[*slowStop], error)) {
	t.Run("Close", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rt, err := troupe.New(troupe.WithCallTimeout(time.Second))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := spawn(rt); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			err = rt.Close()
			within(t, "Close", start, time.Second)
			var se *actor.StopError
			if !errors.As(err, &se) || len(se.Actors) != 1 || se.Actors[0] != "slow" {
				t.Errorf("Close = %v; want a StopError naming slow", err)
			}
			time.Sleep(time.Minute) // let the hook return
		})
	})
	t.Run("Ref.Stop", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rt, err := troupe.New()
			if err != nil {
				t.Fatal(err)
			}
			ref, err := spawn(rt)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			start := time.Now()
			err = ref.Stop(ctx)
			within(t, "Stop", start, time.Second)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Stop = %v; want a StopError matching DeadlineExceeded", err)
			}
			<-ref.Done()
			within(t, "the hook", start, time.Minute)
			if err := rt.Close(); err != nil {
				t.Errorf("Close = %v", err)
			}
		})
	})
}

var holdAll = actor.NewMethod("hold all", func(_ *Counter, c *actor.Ctx, _ struct{}) (struct{}, error) {
	return struct{}{}, c.Only()
})

// The dead-letter hook is user code: the runtime's stop must not run it on
// its own goroutine, where a slow hook would hold Close past the call
// timeout, and a hook calling Close (or Shutdown) would wait for itself.
// "a", idle, holds a oneway (Only with no methods); "b", newer, is busy, so
// the forced stop kills "a" without having asked it to stop gracefully:
// its held oneway becomes a dead letter. The hook must run on a's turn,
// which the stop bounds by the call timeout, as it does a handler.
func TestStopBoundedDespiteDeadLetterHook(t *testing.T) {
	for _, tc := range []struct {
		name string
		hook func(rt *troupe.Runtime) error // called for the held oneway
	}{
		{"slow hook", func(*troupe.Runtime) error { time.Sleep(time.Minute); return nil }},
		{"hook calls Close", func(rt *troupe.Runtime) error { return rt.Close() }},
		{"hook calls Shutdown", func(rt *troupe.Runtime) error { return rt.Shutdown(context.Background()) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var rt *troupe.Runtime
				hooked := make(chan error, 1)
				rt, err := troupe.New(troupe.WithCallTimeout(time.Second), troupe.WithDeadLetterHook(func(d troupe.DeadLetter) {
					if d.Reason == troupe.ReasonStopped && d.Actor == "a" {
						hooked <- tc.hook(rt)
					}
				}))
				if err != nil {
					t.Fatal(err)
				}
				a, _ := actor.Spawn(rt, &Counter{}, actor.WithName("a"))
				if _, err := holdAll.Call(context.Background(), a, struct{}{}); err != nil {
					t.Fatal(err)
				}
				if err := Inc.Cast(a, 1); err != nil {
					t.Fatal(err)
				}
				b, _ := actor.Spawn(rt, &Counter{}, actor.WithName("b"))
				if err := hold.Cast(b, work{d: time.Hour, polite: true}); err != nil {
					t.Fatal(err)
				}
				synctest.Wait()
				closed := make(chan error, 1)
				start := time.Now()
				go func() { closed <- rt.Close() }()
				select {
				case err = <-closed:
				case <-time.After(time.Hour):
					t.Fatal("Close did not return within an hour")
				}
				within(t, "Close", start, time.Second)
				var se *actor.StopError
				if !errors.As(err, &se) || len(se.Actors) != 1 || se.Actors[0] != "a" {
					t.Errorf("Close = %v; want a StopError naming a (its turn is in the hook)", err)
				}
				<-hooked
				<-a.Done()
			})
		})
	}
}
