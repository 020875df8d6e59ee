package actor_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

// pw is the pool tests' worker. Its id comes from the factory, so a
// restarted worker has a new one; pwSelf tells workers apart across
// restarts (the ref stays).
type pw struct {
	id    int
	n     int           // calls handled since (re)start
	gate  chan struct{} // pwHold waits for it to close
	delay time.Duration // pwSlow's
	log   []int
}

var (
	pwIDs  atomic.Int64
	errPW  = errors.New("pw: refused")
	pwID   = actor.NewMethod("pw.id", func(w *pw, _ *actor.Ctx, _ int) (int, error) { w.n++; return w.id, nil })
	pwSelf = actor.NewMethod("pw.self", func(w *pw, c *actor.Ctx, _ string) (*actor.Ref[*pw], error) {
		return actor.Self[*pw](c), nil
	})
	pwHold = actor.NewMethod("pw.hold", func(w *pw, c *actor.Ctx, _ int) (int, error) {
		select {
		case <-w.gate:
			return w.id, nil
		case <-c.Context().Done():
			return 0, c.Context().Err()
		}
	})
	pwSleep = actor.NewMethod("pw.sleep", func(w *pw, _ *actor.Ctx, d time.Duration) (int, error) {
		time.Sleep(d)
		return w.id, nil
	})
	pwBoom    = actor.NewMethod("pw.boom", func(w *pw, _ *actor.Ctx, _ int) (int, error) { panic("pw boom") })
	pwBoomKey = actor.NewMethod("pw.boomkey", func(w *pw, _ *actor.Ctx, _ string) (int, error) { panic("pw boom") })
	pwFail    = actor.NewMethod("pw.fail", func(w *pw, _ *actor.Ctx, bad int) (int, error) {
		if bad == 0 || w.id%bad == 0 {
			return 0, fmt.Errorf("worker %d: %w", w.id, errPW)
		}
		return w.id, nil
	})
	pwAppend = actor.NewMethod("pw.append", func(w *pw, _ *actor.Ctx, v int) (int, error) {
		w.log = append(w.log, v)
		return len(w.log), nil
	})
	pwLog = actor.NewMethod("pw.log", func(w *pw, _ *actor.Ctx, _ int) ([]int, error) { return slices.Clone(w.log), nil })
)

// pwFactory makes workers sharing gate.
func pwFactory(gate chan struct{}) func() *pw {
	return func() *pw { return &pw{id: int(pwIDs.Add(1)), gate: gate} }
}

func newPool(t testing.TB, rt actor.Spawner, size int, gate chan struct{}, opts ...actor.PoolOption) *actor.Pool[*pw] {
	t.Helper()
	p, err := actor.NewPool(rt, size, pwFactory(gate), opts...)
	if err != nil {
		t.Fatalf("NewPool: %v", err)
	}
	return p
}

// pwStopper counts Stopping hooks, to see that workers stopped.
type pwStopper struct {
	pw
	stopped *atomic.Int32
}

func (s *pwStopper) Stopping(*actor.Ctx) { s.stopped.Add(1) }

// Bad input to NewPool: a documented sentinel, never a panic, and no
// worker left running.
func TestNewPoolBadInput(t *testing.T) {
	rt := newRuntime(t)
	var nilRT *troupe.Runtime
	panicky := func() *pw { panic("factory boom") }
	tests := []struct {
		name    string
		sp      actor.Spawner
		size    int
		factory func() *pw
		opts    []actor.PoolOption
		want    []error
	}{
		{"nil runtime", nil, 2, pwFactory(nil), nil, []error{actor.ErrNilRuntime}},
		{"typed nil runtime", nilRT, 2, pwFactory(nil), nil, []error{actor.ErrNilRuntime}},
		{"size 0", rt, 0, pwFactory(nil), nil, []error{actor.ErrPoolSize}},
		{"size -3", rt, -3, pwFactory(nil), nil, []error{actor.ErrPoolSize}},
		{"nil factory", rt, 2, nil, nil, []error{actor.ErrFactory}},
		{"factory panics", rt, 2, panicky, nil, []error{actor.ErrFactory}},
		{"factory returns nil", rt, 2, func() *pw { return nil }, nil, []error{actor.ErrFactory, actor.ErrNilState}},
		{"nil option", rt, 2, pwFactory(nil), []actor.PoolOption{nil}, []error{actor.ErrInvalidOption}},
		{"two strategies", rt, 2, pwFactory(nil), []actor.PoolOption{actor.RoundRobin(), actor.LeastBusy()}, []error{actor.ErrInvalidOption}},
		{"max queued 0", rt, 2, pwFactory(nil), []actor.PoolOption{actor.WithMaxQueued(0)}, []error{actor.ErrInvalidOption}},
		{"negative stagger", rt, 2, pwFactory(nil), []actor.PoolOption{actor.First(-time.Second)}, []error{actor.ErrInvalidOption, actor.ErrNegativeDuration}},
		{"nil hash key", rt, 2, pwFactory(nil), []actor.PoolOption{actor.Hash[string](nil)}, []error{actor.ErrInvalidOption}},
		{"bad supervision", rt, 2, pwFactory(nil), []actor.PoolOption{actor.WithWorkerSupervision(actor.Supervision{MaxRestarts: -1})}, []error{actor.ErrInvalidOption}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := actor.NewPool(tt.sp, tt.size, tt.factory, tt.opts...)
			if p != nil {
				t.Errorf("got a pool; want nil")
			}
			for _, want := range tt.want {
				if !errors.Is(err, want) {
					t.Errorf("got %v; want %v", err, want)
				}
			}
		})
	}
	t.Run("panic value", func(t *testing.T) {
		_, err := actor.NewPool(rt, 1, panicky)
		var pe *actor.PanicError
		if !errors.As(err, &pe) || pe.Value != "factory boom" {
			t.Errorf("got %v; want a *PanicError with the factory's value", err)
		}
	})
	// With every strategy (First's and Balancing's routers are made
	// before the workers join them).
	for _, s := range strategies() {
		t.Run("fails on the third worker/"+s.name, func(t *testing.T) {
			var stopped atomic.Int32
			n := 0
			p, err := actor.NewPool(rt, 5, func() *pwStopper {
				if n++; n == 3 {
					panic("third")
				}
				return &pwStopper{stopped: &stopped}
			}, s.opt)
			if p != nil || !errors.Is(err, actor.ErrFactory) {
				t.Fatalf("got %v, %v; want no pool, ErrFactory", p, err)
			}
			deadline := time.Now().Add(5 * time.Second)
			for stopped.Load() != 2 && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
			if got := stopped.Load(); got != 2 {
				t.Errorf("got %d workers stopped; want the 2 made before the failure", got)
			}
		})
	}
}

// Bad input to the calls, and calls to a stopped pool: sentinels.
func TestPoolCallBadInput(t *testing.T) {
	rt := newRuntime(t)
	p := newPool(t, rt, 2, nil)
	stopped := newPool(t, rt, 2, nil)
	if err := stopped.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	hashed := newPool(t, rt, 2, nil, actor.Hash(func(k string) string {
		if k == "bad" {
			panic("bad key")
		}
		return k
	}))
	var nilPool *actor.Pool[*pw]
	zeroPool := &actor.Pool[*pw]{} // not made by NewPool
	var nilGroup *actor.Group[*pw]
	var nilMethod *actor.Method[*pw, int, int]
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	bg := context.Background()
	tests := []struct {
		name string
		ctx  context.Context
		m    *actor.Method[*pw, int, int]
		to   actor.Router[*pw]
		want []error
	}{
		{"nil ctx", nil, pwID, p, []error{actor.ErrNilContext}},
		{"nil router", bg, pwID, nil, []error{actor.ErrNilPool}},
		{"nil pool", bg, pwID, nilPool, []error{actor.ErrNilPool}},
		{"zero pool", bg, pwID, zeroPool, []error{actor.ErrNilPool}},
		{"nil group", bg, pwID, nilGroup, []error{actor.ErrNilPool}},
		{"nil method", bg, nilMethod, p, []error{actor.ErrNilHandler}},
		{"zero method", bg, &actor.Method[*pw, int, int]{}, p, []error{actor.ErrNilHandler}},
		{"bad method", bg, actor.NewMethod[*pw, int, int]("", nil), p, []error{actor.ErrInvalidName}},
		{"cancelled", cancelled, pwID, p, []error{context.Canceled}},
		{"stopped pool", bg, pwID, stopped, []error{actor.ErrPoolStopped, actor.ErrStopped}},
		{"no hash key for int", bg, pwID, hashed, []error{actor.ErrNoHashKey}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := actor.CallPool(tt.ctx, tt.m, tt.to, 1); !isAll(err, tt.want) {
				t.Errorf("CallPool: got %v; want %v", err, tt.want)
			}
			if _, err := actor.AskPool(tt.ctx, tt.m, tt.to, 1).Await(bg); !isAll(err, tt.want) {
				t.Errorf("AskPool: got %v; want %v", err, tt.want)
			}
			if _, err := actor.BroadcastPool(tt.ctx, tt.m, tt.to, 1); tt.name != "no hash key for int" && !isAll(err, tt.want) {
				t.Errorf("BroadcastPool: got %v; want %v", err, tt.want)
			}
			if tt.ctx == bg {
				if err := actor.CastPool(tt.m, tt.to, 1); !isAll(err, tt.want) {
					t.Errorf("CastPool: got %v; want %v", err, tt.want)
				}
			}
		})
	}
	t.Run("hash key panics", func(t *testing.T) {
		_, err := actor.CallPool(bg, pwSelf, hashed, "bad")
		var pe *actor.PanicError
		if !errors.Is(err, actor.ErrHashKey) || !errors.As(err, &pe) || pe.Value != "bad key" {
			t.Errorf("got %v; want ErrHashKey wrapping the *PanicError", err)
		}
		if err := actor.CastPool(pwSelf, hashed, "bad"); !errors.Is(err, actor.ErrHashKey) {
			t.Errorf("CastPool: got %v; want ErrHashKey", err)
		}
		if _, err := actor.CallPool(bg, pwSelf, hashed, "good"); err != nil {
			t.Errorf("after a panicking key: got %v; want the pool working", err)
		}
	})
	t.Run("resize", func(t *testing.T) {
		for _, n := range []int{0, -1} {
			if err := p.Resize(n); !errors.Is(err, actor.ErrPoolSize) {
				t.Errorf("Resize(%d): got %v; want ErrPoolSize", n, err)
			}
		}
		if err := stopped.Resize(3); !errors.Is(err, actor.ErrPoolStopped) {
			t.Errorf("Resize of a stopped pool: got %v; want ErrPoolStopped", err)
		}
		if err := nilPool.Resize(3); !errors.Is(err, actor.ErrNilPool) {
			t.Errorf("Resize of a nil pool: got %v; want ErrNilPool", err)
		}
		if err := nilPool.Stop(bg); !errors.Is(err, actor.ErrNilPool) {
			t.Errorf("Stop of a nil pool: got %v; want ErrNilPool", err)
		}
		if err := p.Stop(nil); !errors.Is(err, actor.ErrNilContext) { //nolint:staticcheck // bad input on purpose
			t.Errorf("Stop(nil): got %v; want ErrNilContext", err)
		}
		nilPool.Kill() // ignored
		if !nilPool.Stopped() || nilPool.Size() != 0 || nilPool.Stats() != (actor.PoolStats{}) {
			t.Errorf("a nil pool: got running or with workers; want stopped and empty")
		}
		if err := zeroPool.Resize(3); !errors.Is(err, actor.ErrNilPool) {
			t.Errorf("Resize of a zero pool: got %v; want ErrNilPool", err)
		}
		if err := zeroPool.Stop(bg); !errors.Is(err, actor.ErrNilPool) {
			t.Errorf("Stop of a zero pool: got %v; want ErrNilPool", err)
		}
		zeroPool.Kill() // ignored
		if !zeroPool.Stopped() || zeroPool.Size() != 0 || zeroPool.Stats() != (actor.PoolStats{}) {
			t.Errorf("a zero pool: got running or with workers; want stopped and empty")
		}
		select {
		case <-zeroPool.Done():
		default:
			t.Errorf("a zero pool: Done not closed")
		}
	})
}

func isAll(err error, wants []error) bool {
	for _, w := range wants {
		if !errors.Is(err, w) {
			return false
		}
	}
	return err != nil
}

// callIDs makes n sequential calls and returns the worker ids.
func callIDs(t *testing.T, p actor.Router[*pw], n int) []int {
	t.Helper()
	ids := make([]int, n)
	for i := range ids {
		id, err := actor.CallPool(context.Background(), pwID, p, i)
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		ids[i] = id
	}
	return ids
}

// RoundRobin: each worker in turn.
func TestPoolRoundRobin(t *testing.T) {
	rt := newRuntime(t)
	p := newPool(t, rt, 4, nil)
	ids := callIDs(t, p, 12)
	if len(distinct(ids[:4])) != 4 {
		t.Fatalf("got %v; want the first 4 calls on 4 workers", ids)
	}
	for i := 4; i < len(ids); i++ {
		if ids[i] != ids[i%4] {
			t.Fatalf("got %v; want the 4 workers in turn", ids)
		}
	}
}

func distinct(ids []int) []int {
	s := slices.Clone(ids)
	slices.Sort(s)
	return slices.Compact(s)
}

// Random: every worker gets calls (the chance that one of 4 gets none of
// 400 is (3/4)^400 ≈ 1e-50).
func TestPoolRandom(t *testing.T) {
	rt := newRuntime(t)
	p := newPool(t, rt, 4, nil, actor.Random())
	if got := len(distinct(callIDs(t, p, 400))); got != 4 {
		t.Fatalf("got %d workers used; want 4", got)
	}
}

// LeastBusy sends a call to an idle worker, never behind a busy one; round
// robin sends it to the next in turn, busy or not.
func TestPoolLeastBusy(t *testing.T) {
	tests := []struct {
		name     string
		strategy actor.PoolOption
		waits    bool // some call waits behind the held one
	}{
		{"least busy", actor.LeastBusy(), false},
		{"round robin", actor.RoundRobin(), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				rt := newRuntime(t)
				gate := make(chan struct{})
				p := newPool(t, rt, 3, gate, tt.strategy)
				held := actor.AskPool(context.Background(), pwHold, p, 0)
				synctest.Wait()
				waited := false
				for i := range 6 {
					ctx, cancel := context.WithTimeout(context.Background(), time.Second)
					_, err := actor.CallPool(ctx, pwID, p, i)
					cancel()
					if errors.Is(err, actor.ErrTimeout) {
						waited = true
					} else if err != nil {
						t.Fatal(err)
					}
					synctest.Wait() // the worker's turn has ended
				}
				close(gate)
				if _, err := held.Await(context.Background()); err != nil {
					t.Fatal(err)
				}
				if waited != tt.waits {
					t.Errorf("a call waited behind the busy worker: got %v; want %v", waited, tt.waits)
				}
			})
		})
	}
}

// Hash: a key keeps its worker, across the worker's restarts, and moves
// only when its worker leaves or a new one takes it on resize.
func TestPoolHash(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		p := newPool(t, rt, 4, nil, actor.Hash(func(k string) string { return k }),
			actor.WithWorkerSupervision(actor.Supervision{Backoff: 100 * time.Millisecond}))
		ctx := context.Background()
		keys := make([]string, 200)
		for i := range keys {
			keys[i] = fmt.Sprintf("user-%d", i)
		}
		where := func() map[string]*actor.Ref[*pw] {
			m := make(map[string]*actor.Ref[*pw])
			for _, k := range keys {
				r, err := actor.CallPool(ctx, pwSelf, p, k)
				if err != nil {
					t.Fatal(err)
				}
				m[k] = r
			}
			return m
		}
		before := where()
		if again := where(); !mapsEqual(before, again) {
			t.Fatal("a key changed worker between two calls")
		}
		refs := map[*actor.Ref[*pw]]int{}
		for _, r := range before {
			refs[r]++
		}
		if len(refs) != 4 {
			t.Fatalf("got keys on %d workers; want all 4", len(refs))
		}

		// The key's worker restarts: the key waits for it, it does not move.
		k := keys[7]
		if _, err := actor.CallPool(ctx, pwBoomKey, p, k); !isPanic(err) {
			t.Fatalf("boom: got %v; want a *PanicError", err)
		}
		start := time.Now()
		r, err := actor.CallPool(ctx, pwSelf, p, k)
		if err != nil || r != before[k] {
			t.Fatalf("after its worker restarted: got %v, %v; want the same worker", r, err)
		}
		if d := time.Since(start); d != 100*time.Millisecond {
			t.Errorf("the key's call waited %v; want the 100ms backoff", d)
		}

		// Grow: the keys that move go to the new workers only.
		if err := p.Resize(6); err != nil {
			t.Fatal(err)
		}
		grown := where()
		moved := 0
		for _, k := range keys {
			if grown[k] != before[k] {
				moved++
				if _, old := refs[grown[k]]; old {
					t.Fatalf("key %s moved from one old worker to another", k)
				}
			}
		}
		if moved == 0 || moved > len(keys)/2 {
			t.Errorf("got %d of %d keys moved on growing 4 → 6; want about a third", moved, len(keys))
		}
		// Shrink back: every key is where it was.
		if err := p.Resize(4); err != nil {
			t.Fatal(err)
		}
		if after := where(); !mapsEqual(before, after) {
			t.Error("after shrinking back to 4: keys moved; want every key on its first worker")
		}
	})
}

func mapsEqual[K comparable, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

func isPanic(err error) bool {
	var pe *actor.PanicError
	return errors.As(err, &pe)
}

// First: the first reply wins and the others are cancelled; with a
// stagger, one more worker is asked each stagger (tail-chopping).
func TestPoolFirst(t *testing.T) {
	delays := []time.Duration{30 * time.Millisecond, 10 * time.Millisecond, 20 * time.Millisecond}
	tests := []struct {
		name    string
		stagger time.Duration
		took    time.Duration
		fastest int // index in delays of the worker that wins
	}{
		{"scatter-gather", 0, 10 * time.Millisecond, 1},
		// t=0 ask #0 (30ms), t=5ms ask #1 (10ms), t=10ms ask #2 (20ms):
		// #1's reply at 15ms.
		{"tail-chopping", 5 * time.Millisecond, 15 * time.Millisecond, 1},
		// t=0 ask #0 (30ms), nobody else within 40ms.
		{"long stagger", 40 * time.Millisecond, 30 * time.Millisecond, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				rt := newRuntime(t)
				var started, cancelled atomic.Int32
				// Each worker waits off its turn, so that no loop does: a
				// handler blocked in its turn holds a loop, and the third
				// worker then waits for the scheduler's stall watchdog,
				// which reads the machine's real load (on a busy machine
				// the 10 ms worker started late enough to lose to the
				// 20 ms one: half of 200 runs failed).
				slow := actor.NewDeferred("pw.slow", func(w *pw, _ *actor.Ctx, _ int, r *actor.Reply[int]) {
					started.Add(1)
					go func() {
						select {
						case <-time.After(w.delay):
							_ = r.Send(w.id, nil)
						case <-r.Context().Done():
							cancelled.Add(1)
							_ = r.Send(0, r.Context().Err())
						}
					}()
				})
				i := 0
				ids := make([]int, len(delays))
				p, err := actor.NewPool(rt, len(delays), func() *pw {
					w := &pw{id: int(pwIDs.Add(1)), delay: delays[i%len(delays)]}
					ids[i%len(delays)] = w.id
					i++
					return w
				}, actor.First(tt.stagger))
				if err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				id, err := actor.CallPool(context.Background(), slow, p, 0)
				if err != nil || id != ids[tt.fastest] {
					t.Fatalf("got %v, %v; want worker %d", id, err, ids[tt.fastest])
				}
				if d := time.Since(start); d < tt.took || d > tt.took+5*time.Millisecond {
					t.Errorf("took %v; want %v", d, tt.took)
				}
				time.Sleep(time.Second)
				if got, want := cancelled.Load(), started.Load()-1; got != want {
					t.Errorf("got %d handlers cancelled; want every loser that started (%d)", got, want)
				}
			})
		})
	}
	t.Run("all fail", func(t *testing.T) {
		rt := newRuntime(t)
		p := newPool(t, rt, 3, nil, actor.First(0))
		_, err := actor.CallPool(context.Background(), pwFail, p, 0)
		if !errors.Is(err, errPW) {
			t.Fatalf("got %v; want the workers' errors joined", err)
		}
		if j, ok := err.(interface{ Unwrap() []error }); !ok || len(j.Unwrap()) != 3 {
			t.Errorf("got %v; want 3 errors joined", err)
		}
	})
	t.Run("a panic loses to a success", func(t *testing.T) {
		bubble(t, func(t *testing.T) {
			rt := newRuntime(t)
			n := 0
			mixed := actor.NewMethod("pw.mixed", func(w *pw, _ *actor.Ctx, _ int) (int, error) {
				if w.delay == 0 {
					panic("first one")
				}
				time.Sleep(w.delay)
				return w.id, nil
			})
			p, err := actor.NewPool(rt, 2, func() *pw {
				n++
				return &pw{id: n, delay: time.Duration(n-1) * time.Millisecond}
			}, actor.First(0))
			if err != nil {
				t.Fatal(err)
			}
			if id, err := actor.CallPool(context.Background(), mixed, p, 0); err != nil || id != 2 {
				t.Fatalf("got %v, %v; want worker 2's reply", id, err)
			}
		})
	})
	t.Run("ask and cancel", func(t *testing.T) {
		bubble(t, func(t *testing.T) {
			rt := newRuntime(t)
			gate := make(chan struct{})
			p := newPool(t, rt, 2, gate, actor.First(0))
			ctx, cancel := context.WithCancel(context.Background())
			f := actor.AskPool(ctx, pwHold, p, 0)
			synctest.Wait()
			cancel()
			if _, err := f.Await(context.Background()); !errors.Is(err, context.Canceled) {
				t.Errorf("got %v; want context.Canceled", err)
			}
			ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			if _, err := actor.AskPool(ctx, pwHold, p, 0).Await(context.Background()); !errors.Is(err, actor.ErrTimeout) {
				t.Errorf("got %v; want ErrTimeout", err)
			}
			close(gate)
		})
	})
}

// Broadcast: every worker, replies in worker order, failures joined.
func TestPoolBroadcast(t *testing.T) {
	rt := newRuntime(t)
	p := newPool(t, rt, 3, nil, actor.Balancing())
	ctx := context.Background()
	ids, err := actor.BroadcastPool(ctx, pwID, p, 0)
	if err != nil || len(distinct(ids)) != 3 {
		t.Fatalf("got %v, %v; want 3 distinct workers", ids, err)
	}
	again, _ := actor.BroadcastPool(ctx, pwID, p, 0)
	if !slices.Equal(ids, again) {
		t.Errorf("got %v then %v; want the same worker order", ids, again)
	}
	// Fail on the worker whose id is a multiple of the largest.
	bad := slices.Max(ids)
	vals, err := actor.BroadcastPool(ctx, pwFail, p, bad)
	if !errors.Is(err, errPW) {
		t.Fatalf("got %v; want the failing worker's error", err)
	}
	for i, id := range ids {
		want := id
		if id%bad == 0 {
			want = 0
		}
		if vals[i] != want {
			t.Errorf("worker %d: got %d; want %d", id, vals[i], want)
		}
	}
}

// CastPool: a handler's error or panic is a dead letter, never silent.
func TestPoolCastFailures(t *testing.T) {
	var letters recorder
	rt := newRuntime(t, troupe.WithDeadLetterHook(letters.Hook))
	p := newPool(t, rt, 2, nil)
	if err := actor.CastPool(pwFail, p, 0); err != nil {
		t.Fatal(err)
	}
	if err := actor.CastPool(pwBoom, p, 0); err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := letters.Count(troupe.ReasonFailed, "pw.fail"); got != 1 {
		t.Errorf("got %d dead letters for the error; want 1", got)
	}
	if got := letters.Count(troupe.ReasonFailed, "pw.boom"); got != 1 {
		t.Errorf("got %d dead letters for the panic; want 1", got)
	}
	if err := actor.CastPool(pwID, p, 0); !errors.Is(err, actor.ErrPoolStopped) {
		t.Errorf("cast to a stopped pool: got %v; want ErrPoolStopped", err)
	}
	if got := letters.Count(troupe.ReasonStopped, "pw.id"); got != 1 {
		t.Errorf("got %d dead letters for the refused cast; want 1", got)
	}
}

// First with a deferred method: a worker that stops still owing its Reply
// to a request another worker already answered lost nothing, and reports
// no dead letter (as a plain call's owed Reply whose caller has its
// outcome does not); one that owed the request's last hope failed its
// caller, and reports it.
func TestPoolFirstDeferredDrop(t *testing.T) {
	replies := make(chan *actor.Reply[int], 2)
	owe := actor.NewDeferred("pw.owe", func(_ *pw, _ *actor.Ctx, _ int, r *actor.Reply[int]) { replies <- r })
	ctx := context.Background()
	t.Run("answered by another", func(t *testing.T) {
		var letters recorder
		rt := newRuntime(t, troupe.WithDeadLetterHook(letters.Hook))
		p := newPool(t, rt, 2, nil, actor.First(0))
		f := actor.AskPool(ctx, owe, p, 0)
		first, second := <-replies, <-replies
		if err := first.Send(7, nil); err != nil {
			t.Fatalf("Send = %v; want nil", err)
		}
		if v, err := f.Await(ctx); v != 7 || err != nil {
			t.Fatalf("got %d, %v; want 7, nil", v, err)
		}
		if err := p.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if err := second.Context().Err(); err == nil {
			t.Error("the dropped Reply's Context is not cancelled")
		}
		if got := letters.Count(troupe.ReasonStopped, "pw.owe"); got != 0 {
			t.Errorf("got %d stopped dead letters; want 0 (the caller had its reply): %v", got, letters.All())
		}
	})
	t.Run("the only one", func(t *testing.T) {
		var letters recorder
		rt := newRuntime(t, troupe.WithDeadLetterHook(letters.Hook))
		p := newPool(t, rt, 1, nil, actor.First(0))
		f := actor.AskPool(ctx, owe, p, 0)
		<-replies
		if err := p.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Await(ctx); !errors.Is(err, actor.ErrStopped) {
			t.Fatalf("got %v; want ErrStopped", err)
		}
		if got := letters.Count(troupe.ReasonStopped, "pw.owe"); got != 1 {
			t.Errorf("got %d stopped dead letters; want 1: %v", got, letters.All())
		}
	})
}

// First with an ordinary method: a sub-call failed because its worker
// stopped, while its request still waited, is a dead letter (as a plain
// call's, and as a deferred sub-call's dropped Reply, TestPoolFirstDeferredDrop);
// one whose request another worker already answered lost nothing, and is
// not.
func TestPoolFirstStoppedDeadLetter(t *testing.T) {
	ctx := context.Background()
	spawn := func(t *testing.T, rt actor.Spawner, gate chan struct{}) *actor.Ref[*pw] {
		t.Helper()
		ref, err := actor.Spawn(rt, &pw{id: int(pwIDs.Add(1)), gate: gate})
		if err != nil {
			t.Fatal(err)
		}
		return ref
	}
	t.Run("the only one", func(t *testing.T) {
		var letters recorder
		rt := newRuntime(t, troupe.WithDeadLetterHook(letters.Hook))
		gate := make(chan struct{})
		busy := spawn(t, rt, gate)
		if err := pwHold.Cast(busy, 0); err != nil {
			t.Fatal(err)
		}
		g, err := actor.NewGroup([]*actor.Ref[*pw]{busy}, actor.First(0))
		if err != nil {
			t.Fatal(err)
		}
		defer g.Close()
		f := actor.AskPool(ctx, pwID, g, 0) // queued behind pw.hold
		busy.Kill()
		<-busy.Done()
		if _, err := f.Await(ctx); !errors.Is(err, actor.ErrStopped) {
			t.Fatalf("got %v; want ErrStopped", err)
		}
		if got := letters.Count(troupe.ReasonStopped, "pw.id"); got != 1 {
			t.Errorf("got %d stopped dead letters; want 1 (the request failed with ErrStopped): %v", got, letters.All())
		}
	})
	t.Run("answered by another", func(t *testing.T) {
		var letters recorder
		rt := newRuntime(t, troupe.WithDeadLetterHook(letters.Hook))
		gate := make(chan struct{})
		busy, free := spawn(t, rt, gate), spawn(t, rt, gate)
		if err := pwHold.Cast(busy, 0); err != nil {
			t.Fatal(err)
		}
		g, err := actor.NewGroup([]*actor.Ref[*pw]{busy, free}, actor.First(0))
		if err != nil {
			t.Fatal(err)
		}
		defer g.Close()
		if _, err := actor.CallPool(ctx, pwID, g, 0); err != nil {
			t.Fatal(err)
		}
		busy.Kill()
		<-busy.Done()
		if got := letters.Count(troupe.ReasonStopped, "pw.id"); got != 0 {
			t.Errorf("got %d stopped dead letters; want 0 (the caller had its reply): %v", got, letters.All())
		}
	})
}

// First with a stagger: a request already settled (its caller gave up)
// asks no further worker when the one it asked fails: that sub-call would
// only hold a WithMaxQueued slot there, refusing real calls.
func TestPoolFirstSettledAsksNoMore(t *testing.T) {
	rt := newRuntime(t)
	gate := make(chan struct{})
	defer close(gate)
	var refs []*actor.Ref[*pw]
	for range 2 {
		ref, err := actor.Spawn(rt, &pw{id: int(pwIDs.Add(1)), gate: gate})
		if err != nil {
			t.Fatal(err)
		}
		// Busy in a direct cast (not counted by the group), so that
		// routed calls queue.
		if err := pwHold.Cast(ref, 0); err != nil {
			t.Fatal(err)
		}
		refs = append(refs, ref)
	}
	first := refs[0]
	g, err := actor.NewGroup(refs, actor.First(time.Hour), actor.WithMaxQueued(1))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	ctx, cancel := context.WithCancel(context.Background())
	f := actor.AskPool(ctx, pwID, g, 0) // asks first only, for an hour
	cancel()
	if _, err := f.Await(context.Background()); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v; want context.Canceled", err)
	}
	first.Kill() // fails the settled request's sub-call
	<-first.Done()
	if err := actor.CastPool(pwID, g, 0); err != nil {
		t.Errorf("CastPool = %v; want nil (second has room: nobody asked it)", err)
	}
}

// First: a worker whose handler panics after its request was settled (by
// another worker's reply) reports the panic as a dead letter, as a plain
// call's handler that panics after its caller gave up does: nobody else
// sees it.
func TestPoolFirstLatePanic(t *testing.T) {
	var letters recorder
	rt := newRuntime(t, troupe.WithDeadLetterHook(letters.Hook))
	ctx := context.Background()
	lateBoom := actor.NewMethod("pw.lateboom", func(w *pw, _ *actor.Ctx, _ int) (int, error) {
		if w.gate != nil {
			<-w.gate
			panic("too late")
		}
		return w.id, nil
	})
	gate := make(chan struct{})
	slow, err := actor.Spawn(rt, &pw{id: int(pwIDs.Add(1)), gate: gate})
	if err != nil {
		t.Fatal(err)
	}
	fast, err := actor.Spawn(rt, &pw{id: int(pwIDs.Add(1))})
	if err != nil {
		t.Fatal(err)
	}
	g, err := actor.NewGroup([]*actor.Ref[*pw]{slow, fast}, actor.First(0))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if _, err := actor.CallPool(ctx, lateBoom, g, 0); err != nil {
		t.Fatal(err)
	}
	close(gate)
	if _, err := pwID.Call(ctx, slow, 0); err != nil { // after the panic's turn
		t.Fatal(err)
	}
	if got := letters.Count(troupe.ReasonLate, "pw.lateboom"); got != 1 {
		t.Errorf("got %d late dead letters; want 1 (the panic nobody saw): %v", got, letters.All())
	}
}

// A call the router refuses (here: a group whose only member stopped) is
// a dead letter, whatever the strategy: First's too.
func TestPoolFirstRefusedDeadLetter(t *testing.T) {
	for _, tt := range []struct {
		name string
		opt  actor.PoolOption
	}{{"round robin", actor.RoundRobin()}, {"first", actor.First(0)}} {
		t.Run(tt.name, func(t *testing.T) {
			var letters recorder
			rt := newRuntime(t, troupe.WithDeadLetterHook(letters.Hook))
			ctx := context.Background()
			ref, err := actor.Spawn(rt, &pw{id: int(pwIDs.Add(1))})
			if err != nil {
				t.Fatal(err)
			}
			g, err := actor.NewGroup([]*actor.Ref[*pw]{ref}, tt.opt)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			if err := ref.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := actor.CallPool(ctx, pwID, g, 0); !errors.Is(err, actor.ErrEmptyGroup) {
				t.Fatalf("CallPool: got %v; want ErrEmptyGroup", err)
			}
			if _, err := actor.AskPool(ctx, pwID, g, 0).Await(ctx); !errors.Is(err, actor.ErrEmptyGroup) {
				t.Fatalf("AskPool: got %v; want ErrEmptyGroup", err)
			}
			if got := letters.Count(troupe.ReasonStopped, "pw.id"); got != 2 {
				t.Errorf("got %d stopped dead letters; want 2 (one per refused call): %v", got, letters.All())
			}
		})
	}
}

// BroadcastPool with no worker left to reach is refused by the router: a
// dead letter, as a CallPool the router refuses is.
func TestPoolBroadcastRefusedDeadLetter(t *testing.T) {
	var letters recorder
	rt := newRuntime(t, troupe.WithDeadLetterHook(letters.Hook))
	ctx := context.Background()
	ref, err := actor.Spawn(rt, &pw{id: int(pwIDs.Add(1))})
	if err != nil {
		t.Fatal(err)
	}
	g, err := actor.NewGroup([]*actor.Ref[*pw]{ref})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if err := ref.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := actor.BroadcastPool(ctx, pwID, g, 0); !errors.Is(err, actor.ErrEmptyGroup) {
		t.Fatalf("got %v; want ErrEmptyGroup", err)
	}
	if got := letters.Count(troupe.ReasonStopped, "pw.id"); got != 1 {
		t.Errorf("got %d stopped dead letters; want 1: %v", got, letters.All())
	}
}
