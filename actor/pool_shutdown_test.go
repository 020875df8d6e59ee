package actor_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

// gateKeeper answers each pool worker's hold call (pwWait) when the test
// releases that worker: a worker waiting for it is in a sync call, which
// the scheduler knows of (Block), so every worker's turn and its owner's
// get a loop at once, whatever the number of cores (a handler blocked on
// a channel waits for the scheduler's watchdog, which may not start a
// loop while the machine is busy).
type gateKeeper struct {
	held     map[int]*actor.Reply[int]
	released map[int]bool
	open     bool // every worker released (holdOpen), as by closing a gate
}

var (
	holdWait = actor.NewDeferred("gatekeeper.wait", func(h *gateKeeper, _ *actor.Ctx, id int, r *actor.Reply[int]) {
		if h.open || h.released[id] {
			_ = r.Send(id, nil)
			return
		}
		h.held[id] = r
	})
	holdOpen = actor.NewMethod("gatekeeper.open", func(h *gateKeeper, _ *actor.Ctx, _ struct{}) (struct{}, error) {
		h.open = true
		for id, r := range h.held {
			delete(h.held, id)
			_ = r.Send(id, nil)
		}
		return struct{}{}, nil
	})
	holdRelease = actor.NewMethod("gatekeeper.release", func(h *gateKeeper, _ *actor.Ctx, id int) (struct{}, error) {
		if r := h.held[id]; r != nil {
			delete(h.held, id)
			return struct{}{}, r.Send(id, nil)
		}
		h.released[id] = true
		return struct{}{}, nil
	})
	pwWait = actor.NewMethod("pw.wait", func(w *pw, c *actor.Ctx, h *actor.Ref[*gateKeeper]) (int, error) {
		return holdWait.Call(c.Context(), h, w.id)
	})
)

func spawnGateKeeper(t *testing.T, rt actor.Spawner) *actor.Ref[*gateKeeper] {
	t.Helper()
	h, err := actor.Spawn(rt, &gateKeeper{held: map[int]*actor.Reply[int]{}, released: map[int]bool{}})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestBalancingOwnerStopRunsQueued: the calls a Balancing pool's shared
// queue accepted before its owner began to stop gracefully (the
// runtime's Shutdown, or the Stop of the actor the workers are children
// of) run: each worker is stopped gracefully, and a graceful stop
// finishes what is queued. They used to fail with ErrStopped: the
// workers were stopped one by one while the pool still ran, so each took
// no more calls (as one that stops itself), none could be replaced (the
// owner was stopping), and the last to go failed what waited. Calls
// made once the pool's workers are stopping get ErrPoolStopped.
func TestBalancingOwnerStopRunsQueued(t *testing.T) {
	for _, tc := range []struct {
		name  string
		size  int
		child bool // the workers are children of an actor, stopped gracefully
	}{
		{"shutdown/1 worker", 1, false},
		{"shutdown/3 workers", 3, false},
		{"parent stop/1 worker", 1, true},
		{"parent stop/3 workers", 3, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				rt := newRuntime(t)
				ctx := context.Background()
				// Each worker holds a call until released: the newest
				// first, as the owner stops them, so that the oldest is
				// still held when it is asked to stop.
				h := spawnGateKeeper(t, rt)
				var made int
				p, stop := ownedBalancingPool(t, rt, tc.child, tc.size, func() *pw { made++; return &pw{id: made} })
				var held, queued []*actor.Future[int]
				for range tc.size {
					held = append(held, actor.AskPool(ctx, pwWait, p, h))
				}
				for i := range 5 {
					queued = append(queued, actor.AskPool(ctx, pwID, p, i))
				}
				synctest.Wait()
				wantStats(t, p, actor.PoolStats{Busy: tc.size, Queued: 5})
				stopped := make(chan error, 1)
				go func() { stopped <- stop() }()
				synctest.Wait()
				for i := tc.size; i >= 1; i-- {
					if _, err := holdRelease.Call(ctx, h, i); err != nil {
						t.Fatalf("release %d: %v", i, err)
					}
					synctest.Wait()
				}
				if _, err := actor.AwaitAll(ctx, held...); err != nil {
					t.Fatalf("held calls: %v", err)
				}
				for i, f := range queued {
					if _, err := f.Await(ctx); err != nil {
						t.Errorf("queued call %d: got %v; want it run", i, err)
					}
				}
				if err := <-stopped; err != nil {
					t.Errorf("stop: %v", err)
				}
				<-p.Done()
				if _, err := actor.CallPool(ctx, pwID, p, 0); !errors.Is(err, actor.ErrStopped) {
					t.Errorf("call after the stop: got %v; want ErrStopped", err)
				}
			})
		})
	}
}

// TestBalancingShutdownForcedFailsQueued: if the runtime's Shutdown is
// forced (its ctx ends) before a Balancing pool's calls could run, the
// calls waiting in the shared queue fail with ErrStopped: none hangs.
func TestBalancingShutdownForcedFailsQueued(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		ctx := context.Background()
		h := spawnGateKeeper(t, rt) // never releases: the workers are held until the kill
		p := newPool(t, rt, 2, nil, actor.Balancing())
		var held, queued []*actor.Future[int]
		for range 2 {
			held = append(held, actor.AskPool(ctx, pwWait, p, h))
		}
		for i := range 5 {
			queued = append(queued, actor.AskPool(ctx, pwID, p, i))
		}
		synctest.Wait()
		wantStats(t, p, actor.PoolStats{Busy: 2, Queued: 5})
		short, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if err := rt.Shutdown(short); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Shutdown: got %v; want it forced at its deadline", err)
		}
		if err := rt.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		for i, f := range held {
			if _, err := f.Await(ctx); err == nil {
				t.Errorf("held call %d: got no error; want it cancelled", i)
			}
		}
		for i, f := range queued {
			if _, err := f.Await(ctx); !errors.Is(err, actor.ErrStopped) {
				t.Errorf("queued call %d: got %v; want ErrStopped", i, err)
			}
		}
		<-p.Done()
	})
}

// quitter is a Balancing worker that stops itself in one of two ways that
// keep it from finalizing at once, each held by a gatekeeper (see
// qtQuitInHook, qtQuitWithChild).
type quitter struct {
	id   int
	hook *actor.Ref[*gateKeeper] // if set, the Stopping hook holds on it
}

func (q *quitter) Stopping(c *actor.Ctx) {
	if q.hook != nil {
		_, _ = holdWait.Call(c.Context(), q.hook, q.id)
	}
}

// heldKid is a quitter's child, held by the gatekeeper (id 100): a
// stopping quitter waits for it.
type heldKid struct{}

var (
	// qtQuitInHook: the worker stops itself and, once its queue is
	// settled, is held in its Stopping hook (finalizing: it takes nothing
	// more).
	qtQuitInHook = actor.NewMethod("qt.quitInHook", func(q *quitter, c *actor.Ctx, h *actor.Ref[*gateKeeper]) (int, error) {
		q.hook = h
		c.Stop()
		return q.id, nil
	})
	// qtQuitWithChild: the worker spawns a child held by the gatekeeper
	// and stops itself: it stays stopping (alive, its mailbox open) until
	// the child stops.
	qtQuitWithChild = actor.NewMethod("qt.quitWithChild", func(q *quitter, c *actor.Ctx, h *actor.Ref[*gateKeeper]) (int, error) {
		kid, err := actor.Spawn(c, &heldKid{})
		if err != nil {
			return 0, err
		}
		if err := kidWait.Cast(kid, h); err != nil {
			return 0, err
		}
		c.Stop()
		return q.id, nil
	})
	qtID = actor.NewMethod("qt.id", func(q *quitter, _ *actor.Ctx, _ int) (int, error) { return q.id, nil })

	kidWait = actor.NewMethod("kid.wait", func(_ *heldKid, c *actor.Ctx, h *actor.Ref[*gateKeeper]) (int, error) {
		return holdWait.Call(c.Context(), h, 100)
	})
)

// TestBalancingOwnerStopRearmsStoppingWorker: a Balancing worker that
// stopped itself while the pool ran takes no calls from the shared queue
// (it is to be replaced); if its owner (the runtime, the parent) then
// stops, no replacement can be made, and the calls waiting must be run by
// the workers still alive. Here worker A stopped itself and waits for its
// child (alive, stopping), worker B stopped itself and is held in its
// Stopping hook, and 5 calls wait; the owner stops, then B finishes. A
// must be handed the queue and run the calls; they used to fail with
// ErrStopped once A finalized, A being on no list of workers waiting for
// calls.
func TestBalancingOwnerStopRearmsStoppingWorker(t *testing.T) {
	for _, tc := range []struct {
		name  string
		child bool // the workers are children of an actor, stopped gracefully
	}{
		{"shutdown", false},
		{"parent stop", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				rt := newRuntime(t)
				ctx := context.Background()
				h := spawnGateKeeper(t, rt)
				var made int
				p, stop := ownedBalancingPool(t, rt, tc.child, 2, func() *quitter { made++; return &quitter{id: made} })
				a, err := actor.CallPool(ctx, qtQuitWithChild, p, h)
				if err != nil {
					t.Fatal(err)
				}
				b, err := actor.CallPool(ctx, qtQuitInHook, p, h)
				if err != nil {
					t.Fatal(err)
				}
				if a == b {
					t.Fatalf("both quits ran on worker %d; want one each", a)
				}
				synctest.Wait() // A waits for its child, B is in its Stopping hook
				var queued []*actor.Future[int]
				for i := range 5 {
					queued = append(queued, actor.AskPool(ctx, qtID, p, i))
				}
				synctest.Wait()
				if got := p.Stats().Queued; got != 5 {
					t.Fatalf("queued: got %d; want 5", got)
				}
				stopped := make(chan error, 1)
				go func() { stopped <- stop() }()
				synctest.Wait()
				if _, err := holdRelease.Call(ctx, h, b); err != nil { // B finalizes
					t.Fatal(err)
				}
				synctest.Wait()
				if _, err := holdRelease.Call(ctx, h, 100); err != nil { // A's child, then A
					t.Fatal(err)
				}
				for i, f := range queued {
					if id, err := f.Await(ctx); err != nil || id != a {
						t.Errorf("queued call %d: got %d, %v; want it run by worker %d", i, id, err, a)
					}
				}
				if err := <-stopped; err != nil {
					t.Errorf("stop: %v", err)
				}
				<-p.Done()
			})
		})
	}
}

// ownedBalancingPool makes a Balancing pool of size workers, owned by the
// runtime, or, if child, by an actor of its own (the workers are its
// children), and returns it with its owner's graceful stop: rt.Shutdown,
// or that actor's Stop.
func ownedBalancingPool[S any](t *testing.T, rt *troupe.Runtime, child bool, size int, factory func() S) (*actor.Pool[S], func() error) {
	t.Helper()
	ctx := context.Background()
	if !child {
		p, err := actor.NewPool(rt, size, factory, actor.Balancing())
		if err != nil {
			t.Fatal(err)
		}
		return p, func() error { return rt.Shutdown(ctx) }
	}
	type owner struct{}
	mk := actor.NewMethod("mkpool", func(_ *owner, c *actor.Ctx, n int) (*actor.Pool[S], error) {
		return actor.NewPool(c, n, factory, actor.Balancing())
	})
	own, err := actor.Spawn(rt, &owner{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := mk.Call(ctx, own, size)
	if err != nil {
		t.Fatal(err)
	}
	return p, func() error { return own.Stop(ctx) }
}
