package actor_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/actor"
)

var pwQuit = actor.NewMethod("pw.quit", func(w *pw, c *actor.Ctx, _ int) (int, error) {
	c.Stop()
	return w.id, nil
})

// replacing starts a pool of two pw workers whose third worker made (the
// replacement of the first to quit) is made only once release is closed,
// has a worker quit, and returns once that replacement is being made.
// The fails-th worker made is nil, a failed make (0: none).
func replacing(t *testing.T, fails int32) (p *actor.Pool[*pw], release chan struct{}) {
	t.Helper()
	rt := newRuntime(t)
	var made atomic.Int32
	entered, release := make(chan struct{}), make(chan struct{})
	p, err := actor.NewPool(rt, 2, func() *pw {
		switch n := made.Add(1); n {
		case 3: // the replacement of the worker that quits: slow
			close(entered)
			<-release
			return &pw{id: int(n)}
		case fails:
			return nil
		default:
			return &pw{id: int(n)}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := actor.CallPool(context.Background(), pwQuit, p, 0); err != nil {
		t.Fatal(err)
	}
	<-entered
	return p, release
}

// TestPoolResizeDuringReplacement: a Resize that comes while a stopped
// worker's replacement is being made counts that replacement: the pool
// ends with the size asked for, each worker with its own seed (a Hash key
// on one worker only).
func TestPoolResizeDuringReplacement(t *testing.T) {
	for _, tc := range []struct {
		name string
		to   int
	}{{"same", 2}, {"grow", 3}, {"shrink", 1}} {
		t.Run(tc.name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				p, release := replacing(t, 0)
				ctx := context.Background()
				if err := p.Resize(tc.to); err != nil {
					t.Fatal(err)
				}
				close(release)
				synctest.Wait()
				if got := p.Size(); got != tc.to {
					t.Errorf("Size: got %d; want %d", got, tc.to)
				}
				ids, err := actor.BroadcastPool(ctx, pwID, p, 0)
				if err != nil || len(distinct(ids)) != tc.to {
					t.Errorf("Broadcast: got %v, %v; want %d workers", ids, err, tc.to)
				}
				if err := p.Stop(ctx); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}

// TestPoolLastReplacementFails: when two workers stop and the second's
// replacement cannot be made while the first's is still being made, the
// pool is not lost: it goes on with the first's replacement.
func TestPoolLastReplacementFails(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p, release := replacing(t, 4) // the second quitter's replacement fails
		ctx := context.Background()
		if _, err := actor.CallPool(ctx, pwQuit, p, 0); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		close(release)
		synctest.Wait()
		if p.Stopped() || p.Size() != 1 {
			t.Fatalf("got Stopped %v, Size %d; want the pool running on the replacement made", p.Stopped(), p.Size())
		}
		if id, err := actor.CallPool(ctx, pwID, p, 0); err != nil || id != 3 {
			t.Errorf("got %d, %v; want the replacement's id 3", id, err)
		}
		if err := p.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// TestBalancingWorkerStopsItself: a Balancing worker that stops itself
// while the pool runs takes no more calls from the shared queue: it
// stops (and is replaced) whatever waits there, instead of serving the
// queue for as long as calls keep coming.
func TestBalancingWorkerStopsItself(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		gate := make(chan struct{})
		var made atomic.Int32
		p, err := actor.NewPool(rt, 1, func() *pw { return &pw{id: int(made.Add(1)), gate: gate} }, actor.Balancing())
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		fs := quitWithQueued(t, p, gate, 10)
		ids, err := actor.AwaitAll(ctx, fs...)
		if err != nil {
			t.Fatal(err)
		}
		for i, id := range ids {
			if id == 1 {
				t.Errorf("call %d ran on worker 1 after it stopped itself; want its replacement", i)
			}
		}
		if err := p.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// TestPoolDoneWaitsForReplacement: a pool stopped while a worker's
// replacement is being made returns from Stop and closes Done only once
// that is settled (the replacement made is stopped): no worker of the
// pool starts after Stop or Done.
func TestPoolDoneWaitsForReplacement(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p, release := replacing(t, 0)
		stopped := make(chan error, 1)
		go func() { stopped <- p.Stop(context.Background()) }()
		synctest.Wait()
		select {
		case err := <-stopped:
			t.Errorf("Stop returned %v while the factory was still making a worker", err)
			stopped <- nil
		case <-p.Done():
			t.Error("Done closed while the factory was still making a worker")
		default:
		}
		close(release)
		<-p.Done()
		if err := <-stopped; err != nil {
			t.Fatal(err)
		}
	})
}

// TestPoolStopTimesOutDuringReplacement: a Stop whose ctx ends while a
// worker's replacement is still being made kills the pool and returns a
// *StopError matching ctx's error; the replacement, once made, is killed.
func TestPoolStopTimesOutDuringReplacement(t *testing.T) {
	bubble(t, func(t *testing.T) {
		p, release := replacing(t, 0)
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		err := p.Stop(ctx)
		var se *actor.StopError
		if !errors.As(err, &se) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Stop: got %v; want a *StopError matching DeadlineExceeded", err)
		}
		close(release)
		<-p.Done()
	})
}

// TestPoolStopCtxEndedStoppedAnyway: a Stop whose ctx has ended but whose
// pool stops all the same (its idle workers finalize at once, on Stop's
// goroutine) returns nil, as Ref.Stop and the runtime's Shutdown do: a
// *StopError says workers were left, and Done is closed. Stop used to
// pick at random between its workers' Done and ctx's, and from Done
// between the pool's and ctx's, so the same stop returned nil or a
// *StopError naming no worker.
func TestPoolStopCtxEndedStoppedAnyway(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		ended, cancel := context.WithCancel(context.Background())
		cancel()
		for i := range 50 {
			p := newPool(t, rt, 1, nil)
			synctest.Wait() // the worker is idle
			err := p.Stop(ended)
			select {
			case <-p.Done():
			default:
				t.Fatalf("stop %d: Done not closed", i)
			}
			if err != nil {
				t.Fatalf("stop %d: got %v; want nil (the pool stopped)", i, err)
			}
		}
	})
}

// slowStop is a worker whose Stopping hook waits for its gate (if any).
type slowStop struct {
	id   int
	gate chan struct{}
}

func (s *slowStop) Stopping(*actor.Ctx) {
	if s.gate != nil {
		<-s.gate
	}
}

var (
	ssQuit = actor.NewMethod("ss.quit", func(s *slowStop, c *actor.Ctx, _ int) (int, error) { c.Stop(); return s.id, nil })
	ssID   = actor.NewMethod("ss.id", func(s *slowStop, _ *actor.Ctx, _ int) (int, error) { return s.id, nil })
)

// TestBalancingStopDrainsAfterSelfStop: a Balancing pool's only worker
// stops itself (taking no more calls from the shared queue) and the pool
// is stopped gracefully before that worker has finished: the calls in the
// shared queue still run (a graceful stop drains it), and Stop waits for
// them.
func TestBalancingStopDrainsAfterSelfStop(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		gate := make(chan struct{})
		var made atomic.Int32
		p, err := actor.NewPool(rt, 1, func() *slowStop {
			s := &slowStop{id: int(made.Add(1))}
			if s.id == 1 {
				s.gate = gate
			}
			return s
		}, actor.Balancing())
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		quit := actor.AskPool(ctx, ssQuit, p, 0)
		var fs []*actor.Future[int]
		for i := range 5 {
			fs = append(fs, actor.AskPool(ctx, ssID, p, i))
		}
		synctest.Wait() // worker 1 ran quit and waits in its Stopping hook
		if _, err := quit.Await(ctx); err != nil {
			t.Fatal(err)
		}
		stopped := make(chan error, 1)
		go func() { stopped <- p.Stop(ctx) }()
		synctest.Wait()
		close(gate)
		if err := <-stopped; err != nil {
			t.Fatalf("Stop: %v", err)
		}
		for i, f := range fs {
			select {
			case <-f.Done():
			default:
				t.Fatalf("call %d still waiting once Stop returned", i)
			}
			if id, err := f.Await(ctx); err != nil || id == 1 {
				t.Errorf("call %d: got %d, %v; want it run by a worker other than 1", i, id, err)
			}
		}
		<-p.Done()
	})
}

// TestBalancingStopDuringReplacement: a Balancing pool's only worker stops
// itself with calls waiting in the shared queue, and the pool is stopped
// gracefully while that worker's replacement is being made: the
// replacement, made into a pool now stopping, runs the calls waiting (a
// graceful stop drains the queue) and then stops, instead of being killed
// and failing them with ErrStopped.
func TestBalancingStopDuringReplacement(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		gate := make(chan struct{})
		entered, release := make(chan struct{}), make(chan struct{})
		var made atomic.Int32
		p, err := actor.NewPool(rt, 1, func() *pw {
			n := made.Add(1)
			if n == 2 { // the replacement: made once release is closed
				close(entered)
				<-release
			}
			return &pw{id: int(n), gate: gate}
		}, actor.Balancing())
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		fs := quitWithQueued(t, p, gate, 5)
		<-entered
		stopped := make(chan error, 1)
		go func() { stopped <- p.Stop(ctx) }()
		synctest.Wait() // the pool is stopping
		select {
		case err := <-stopped:
			t.Errorf("Stop returned %v while the replacement that is to run the queued calls was still being made", err)
			stopped <- nil
		default:
		}
		close(release)
		for i, f := range fs {
			if id, err := f.Await(ctx); err != nil || id != 2 {
				t.Errorf("call %d: got %d, %v; want it run by the replacement, 2", i, id, err)
			}
		}
		if err := <-stopped; err != nil {
			t.Fatalf("Stop: %v", err)
		}
		<-p.Done()
	})
}

// quitWithQueued has worker 1 of Balancing pool p, held by gate, stop
// itself with n calls queued behind it in the shared queue, and returns
// those calls' futures once it ran its hold and quit calls.
func quitWithQueued(t *testing.T, p *actor.Pool[*pw], gate chan struct{}, n int) []*actor.Future[int] {
	t.Helper()
	ctx := context.Background()
	hold := actor.AskPool(ctx, pwHold, p, 0)
	quit := actor.AskPool(ctx, pwQuit, p, 0)
	var fs []*actor.Future[int]
	for i := range n {
		fs = append(fs, actor.AskPool(ctx, pwID, p, i))
	}
	synctest.Wait()
	close(gate) // worker 1 runs hold and quit, then stops: the rest wait in the shared queue
	if _, err := actor.AwaitAll(ctx, hold, quit); err != nil {
		t.Fatal(err)
	}
	return fs
}
