package actor_test

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/actor"
)

// Only the worker that failed restarts: the others keep their state, and
// while it waits out its backoff the pool routes around it (akka.net
// #6295: one failing worker restarted the whole pool). With every
// strategy that picks one worker per call (First asks several: each one
// that panics restarts, alone).
func TestPoolRestartsOnlyTheFailedWorker(t *testing.T) {
	for _, s := range []namedStrategy{
		{"round robin", actor.RoundRobin()},
		{"random", actor.Random()},
		{"least busy", actor.LeastBusy()},
		{"balancing", actor.Balancing()},
	} {
		t.Run(s.name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				rt := newRuntime(t)
				p := newPool(t, rt, 3, nil, s.opt, actor.WithWorkerSupervision(actor.Supervision{Backoff: 100 * time.Millisecond}))
				ctx := context.Background()
				before, err := actor.BroadcastPool(ctx, pwID, p, 0)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := actor.CallPool(ctx, pwBoom, p, 0); !isPanic(err) {
					t.Fatalf("got %v; want the caller to get a *PanicError", err)
				}
				synctest.Wait()
				if st := p.Stats(); st.Restarting != 1 || st.Ready != 2 {
					t.Fatalf("Stats: got %+v; want 1 restarting, 2 ready", st)
				}
				// During the backoff: no call waits for the restarting
				// worker, none goes to it.
				start := time.Now()
				ids := callIDs(t, p, 12)
				if d := time.Since(start); d != 0 {
					t.Errorf("calls during the restart took %v; want no wait", d)
				}
				time.Sleep(100 * time.Millisecond)
				synctest.Wait()
				if st := p.Stats(); st.Restarting != 0 || st.Ready != 3 {
					t.Fatalf("after the backoff, Stats: got %+v; want 3 ready", st)
				}
				after, err := actor.BroadcastPool(ctx, pwID, p, 0)
				if err != nil {
					t.Fatal(err)
				}
				var failed []int
				for i := range after {
					if after[i] != before[i] {
						failed = append(failed, before[i])
					}
				}
				if len(failed) != 1 {
					t.Fatalf("workers %v became %v; want 2 kept and 1 fresh", before, after)
				}
				if got := distinct(ids); !contains(before, got...) || slices.Contains(got, failed[0]) {
					t.Errorf("during the restart: got calls on %v; want none on the restarting worker %d", got, failed[0])
				}
			})
		})
	}
}

func contains(s []int, vs ...int) bool {
	for _, v := range vs {
		if !slices.Contains(s, v) {
			return false
		}
	}
	return true
}

// A worker that stops on its own (Terminate, or its restart budget spent)
// is replaced, and no call goes to it once it has stopped (protoactor-go
// #316: a pool kept routing to a stopped worker).
func TestPoolReplacesAStoppedWorker(t *testing.T) {
	tests := []struct {
		name string
		sup  actor.Supervision
		boom int // panics to stop a worker
	}{
		{"terminate", actor.Supervision{Directive: actor.Terminate}, 1},
		{"budget spent", actor.Supervision{MaxRestarts: 1, Backoff: time.Millisecond}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				rt := newRuntime(t)
				p := newPool(t, rt, 2, nil, actor.Hash(func(k string) string { return k }), actor.WithWorkerSupervision(tt.sup))
				ctx := context.Background()
				victim, err := actor.CallPool(ctx, pwSelf, p, "k")
				if err != nil {
					t.Fatal(err)
				}
				for range tt.boom {
					if _, err := actor.CallPool(ctx, pwBoomKey, p, "k"); !isPanic(err) {
						t.Fatalf("got %v; want a *PanicError", err)
					}
				}
				<-victim.Done()
				synctest.Wait()
				if p.Size() != 2 {
					t.Fatalf("Size: got %d; want 2 (the stopped worker replaced)", p.Size())
				}
				for range 20 {
					r, err := actor.CallPool(ctx, pwSelf, p, "k")
					if err != nil {
						t.Fatalf("got %v; want no call to reach the stopped worker", err)
					}
					if r == victim || r.Stopped() {
						t.Fatal("got a call on the stopped worker")
					}
				}
			})
		})
	}
}

// A factory that fails at a restart: the worker stops (its queued calls
// fail with ErrStopped wrapping ErrFactory), no replacement can be made,
// and once no worker is left the pool is stopped.
func TestPoolFactoryFailsAtRestart(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		n := 0
		gate := make(chan struct{})
		p, err := actor.NewPool(rt, 2, func() *pw {
			if n++; n > 2 {
				panic("no more workers")
			}
			return &pw{id: n, gate: gate}
		}, actor.Hash(func(k string) string { return k }), actor.WithWorkerSupervision(actor.Supervision{Backoff: 10 * time.Millisecond}))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if _, err := actor.CallPool(ctx, pwBoomKey, p, "k"); !isPanic(err) {
			t.Fatal(err)
		}
		// Queued during the backoff, at the key's worker.
		f := actor.AskPool(ctx, pwSelf, p, "k")
		if _, err := f.Await(ctx); !errors.Is(err, actor.ErrStopped) || !errors.Is(err, actor.ErrFactory) {
			t.Fatalf("queued call: got %v; want ErrStopped wrapping ErrFactory", err)
		}
		synctest.Wait()
		if p.Size() != 1 || p.Stopped() {
			t.Fatalf("got %d workers, stopped %v; want 1 running", p.Size(), p.Stopped())
		}
		for p.Size() == 1 {
			_, _ = actor.CallPool(ctx, pwBoomKey, p, "k")
			time.Sleep(20 * time.Millisecond)
		}
		<-p.Done()
		if !p.Stopped() {
			t.Error("got a running pool with no worker; want it stopped")
		}
		if _, err := actor.CallPool(ctx, pwSelf, p, "k"); !errors.Is(err, actor.ErrPoolStopped) {
			t.Errorf("got %v; want ErrPoolStopped", err)
		}
	})
}

// pwArmBoom arms a timer whose method panics: the worker fails on its own,
// not in a routed call.
var pwArmBoom = actor.NewMethod("pw.armboom", func(w *pw, c *actor.Ctx, d time.Duration) (int, error) {
	return w.id, actor.After(c, "boom", d, pwBoom, 0)
})

// TestPoolWorkerTimerPanic: a worker that panics in its own timer's
// method is flagged restarting too, and routed around until its fresh
// state is made.
func TestPoolWorkerTimerPanic(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		p := newPool(t, rt, 2, nil, actor.WithWorkerSupervision(actor.Supervision{Backoff: 100 * time.Millisecond}))
		ctx := context.Background()
		armed, err := actor.CallPool(ctx, pwArmBoom, p, 10*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
		synctest.Wait()
		if st := p.Stats(); st.Restarting != 1 || st.Ready != 1 {
			t.Fatalf("Stats after the timer's panic: got %+v; want 1 restarting, 1 ready", st)
		}
		for _, id := range callIDs(t, p, 6) {
			if id == armed {
				t.Fatalf("a call went to worker %d during its restart", id)
			}
		}
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		if st := p.Stats(); st.Restarting != 0 || st.Ready != 2 {
			t.Fatalf("after the backoff, Stats: got %+v; want 2 ready", st)
		}
	})
}

// pwStarter counts its Started hooks.
type pwStarter struct {
	pw
	started *atomic.Int32
}

func (s *pwStarter) Started(*actor.Ctx) { s.started.Add(1) }

// TestPoolFactoryFailsAtRestartNoStarted: a worker whose fresh state
// cannot be made at its restart is killed, and its Started hook does not
// run again on the state that panicked (it is no fresh state).
func TestPoolFactoryFailsAtRestartNoStarted(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		var made, started atomic.Int32
		p, err := actor.NewPool(rt, 1, func() *pwStarter {
			if made.Add(1) > 1 {
				panic("no more workers")
			}
			return &pwStarter{started: &started}
		}, actor.WithWorkerSupervision(actor.Supervision{Backoff: 10 * time.Millisecond}))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		boom := actor.NewMethod("boom", func(*pwStarter, *actor.Ctx, int) (int, error) { panic("boom") })
		if _, err := actor.CallPool(ctx, boom, p, 0); !isPanic(err) {
			t.Fatal(err)
		}
		<-p.Done()
		if n := started.Load(); n != 1 {
			t.Errorf("Started ran %d times; want 1 (the first state's start only)", n)
		}
	})
}
