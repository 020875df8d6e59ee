package actor_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/actor"
)

// Balancing: a free worker takes the next call; it never waits behind a
// long one, as with round robin it does.
func TestPoolBalancingFreeWorkerTakesNext(t *testing.T) {
	tests := []struct {
		name     string
		strategy actor.PoolOption
		waits    bool // the short calls wait for the long one
	}{
		{"balancing", actor.Balancing(), false},
		{"round robin", actor.RoundRobin(), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				rt := newRuntime(t)
				gate := make(chan struct{})
				p := newPool(t, rt, 2, gate, tt.strategy)
				ctx := context.Background()
				start := time.Now()
				long := actor.AskPool(ctx, pwHold, p, 0)
				time.AfterFunc(100*time.Millisecond, func() { close(gate) })
				var short []*actor.Future[int]
				for range 5 {
					short = append(short, actor.AskPool(ctx, pwSleep, p, time.Millisecond))
				}
				if _, err := actor.AwaitAll(ctx, short...); err != nil {
					t.Fatal(err)
				}
				// 5 ms of work, plus maybe a few for the scheduler's
				// watchdog to give the free worker a loop.
				if d := time.Since(start); (d >= 100*time.Millisecond) != tt.waits {
					t.Errorf("short calls done after %v; want waiting for the long one: %v", d, tt.waits)
				}
				if _, err := long.Await(ctx); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}

// The shared queue is taken in arrival order.
func TestPoolBalancingOrder(t *testing.T) {
	rt := newRuntime(t)
	p := newPool(t, rt, 1, nil, actor.Balancing())
	want := make([]int, 200)
	for i := range want {
		want[i] = i
		if err := actor.CastPool(pwAppend, p, i); err != nil {
			t.Fatal(err)
		}
	}
	got, err := actor.CallPool(context.Background(), pwLog, p, 0)
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("got %v, %v; want 0..199 in order", got, err)
	}
}

// Under concurrent callers and panicking calls, every call gets exactly
// one outcome and none is lost, whatever the strategy.
func TestPoolNoCallLost(t *testing.T) {
	for _, s := range strategies() {
		t.Run(s.name, func(t *testing.T) {
			rt := newRuntime(t)
			p, err := actor.NewPool(rt, 4, pwFactory(nil), s.opt,
				actor.WithWorkerSupervision(actor.Supervision{MaxRestarts: 1000, Backoff: time.Millisecond, MaxBackoff: time.Millisecond}))
			if err != nil {
				t.Fatal(err)
			}
			const callers, calls = 8, 100
			var wg sync.WaitGroup
			errs := make(chan error, callers*calls)
			for g := range callers {
				wg.Go(func() {
					ctx := context.Background()
					for i := range calls {
						var err error
						switch {
						case i%17 == 3:
							_, err = actor.CallPool(ctx, pwBoom, p, i)
							if isPanic(err) {
								err = nil
							} else {
								err = errors.Join(errors.New("boom without a *PanicError"), err)
							}
						case i%5 == 0:
							_, err = actor.AskPool(ctx, pwID, p, i).Await(ctx)
						case i%7 == 0:
							err = actor.CastPool(pwID, p, i)
						case g == 0 && i%25 == 0:
							err = p.Resize(2 + i%5)
						default:
							_, err = actor.CallPool(ctx, pwID, p, i)
						}
						errs <- err
					}
				})
			}
			wg.Wait()
			close(errs)
			n := 0
			for err := range errs {
				n++
				if err != nil {
					t.Error(err)
				}
			}
			if n != callers*calls {
				t.Errorf("got %d outcomes; want %d", n, callers*calls)
			}
			if err := p.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

type namedStrategy struct {
	name string
	opt  actor.PoolOption
}

func strategies() []namedStrategy {
	return []namedStrategy{
		{"round robin", actor.RoundRobin()},
		{"random", actor.Random()},
		{"least busy", actor.LeastBusy()},
		{"hash", actor.Hash(func(int) string { return "one key" })},
		{"balancing", actor.Balancing()},
		{"first", actor.First(0)},
		{"first staggered", actor.First(time.Millisecond)},
	}
}

// A full shared queue makes room by dropping calls whose callers gave up
// (they would never run): a new call is taken, not refused.
func TestPoolBalancingPurgesAbandonedCalls(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		gate := make(chan struct{})
		p := newPool(t, rt, 1, gate, actor.Balancing(), actor.WithMaxQueued(1))
		ctx := context.Background()
		held := actor.AskPool(ctx, pwHold, p, 0)
		settle()
		short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
		defer cancel()
		abandoned := actor.AskPool(short, pwID, p, 0) // fills the queue
		if _, err := abandoned.Await(ctx); !errors.Is(err, actor.ErrTimeout) {
			t.Fatalf("got %v; want ErrTimeout", err)
		}
		next := actor.AskPool(ctx, pwID, p, 1)
		select {
		case <-next.Done():
			_, err := next.Await(ctx)
			t.Fatalf("got %v; want the call taken in the abandoned one's place", err)
		default:
		}
		if st := p.Stats(); st.Queued != 1 {
			t.Errorf("Stats: got %+v; want 1 queued", st)
		}
		close(gate)
		if _, err := actor.AwaitAll(ctx, held, next); err != nil {
			t.Fatal(err)
		}
	})
}

// TestBalancingCallAcceptedBeforeStopRuns: a call the shared queue took
// before a graceful Stop began runs, even when the worker it armed was
// stopped before that call's submit had woken it. Here that worker is
// the replacement of the only worker (which stopped itself), joined just
// before the call and added to the pool just after Stop began (so it
// stops at once, as a retiring worker): the call used to fail with
// ErrStopped once the stopped worker left the queue.
func TestBalancingCallAcceptedBeforeStopRuns(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		var made atomic.Int32
		p, err := actor.NewPool(rt, 1, func() *pw { return &pw{id: int(made.Add(1))} }, actor.Balancing())
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		joined, proceed := make(chan struct{}), make(chan struct{})
		var joins, arms atomic.Int32
		stopped := make(chan error, 1)
		actor.SetBalancingHooks(p,
			func() { // the replacement has joined the queue, idle
				if joins.Add(1) == 1 {
					close(joined)
					<-proceed
				}
			},
			func() { // the call is queued and the replacement armed
				if arms.Add(1) == 2 { // the first: pwQuit's
					go func() { stopped <- p.Stop(ctx) }()
					synctest.Wait() // Stop has begun: it waits for the replacement
					close(proceed)  // which is added now, and stopped
					synctest.Wait()
				}
			})
		if _, err := actor.CallPool(ctx, pwQuit, p, 0); err != nil {
			t.Fatal(err)
		}
		<-joined
		id, err := actor.CallPool(ctx, pwID, p, 0)
		if err != nil || id != 2 {
			t.Errorf("got %d, %v; want the call run by the replacement, 2", id, err)
		}
		if err := <-stopped; err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
}

// pwVia calls the pool it is given from the worker's handler, as a worker
// calls its own pool for a sub-task.
var pwVia = actor.NewMethod("pw.via", func(w *pw, c *actor.Ctx, p *actor.Pool[*pw]) (int, error) {
	return actor.CallPool(c.Context(), pwID, p, 0)
})

// Balancing: a worker that calls its own pool from a handler it runs
// outside the shared queue (here a direct call; also a timer, a
// BroadcastPool) is not armed for that call: it would hold it queued
// behind its own wait, while the other worker idles, until the deadline.
func TestPoolBalancingCallerNotArmed(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		p := newPool(t, rt, 2, nil, actor.Balancing())
		ctx := context.Background()
		refs, err := actor.BroadcastPool(ctx, pwSelf, p, "")
		if err != nil {
			t.Fatal(err)
		}
		for i, ref := range refs {
			cctx, cancel := context.WithTimeout(ctx, time.Second)
			if _, err := pwVia.Call(cctx, ref, p); err != nil {
				t.Errorf("worker %d calling its pool: %v; want the other worker's reply", i, err)
			}
			cancel()
		}
	})
}
