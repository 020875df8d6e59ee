package actor

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/troupe-go/troupe/internal/engine"
)

// goneWorker is a Balancing worker of TestPoolGoneSchedulerClosed; goneKid
// is the child one of them waits for while it stops.
type (
	goneWorker struct{}
	goneKid    struct{}
	goneGate   struct{ started, hold chan struct{} }
)

var (
	// goneQuit: the worker spawns a child held on hold and stops itself:
	// it stays stopping (alive, its mailbox open) until the child ends.
	goneQuit = NewMethod("gone.quit", func(_ *goneWorker, c *Ctx, hold chan struct{}) (struct{}, error) {
		kid, err := Spawn(c, &goneKid{})
		if err != nil {
			return struct{}{}, err
		}
		if err := goneKidHold.Cast(kid, hold); err != nil {
			return struct{}{}, err
		}
		c.Stop()
		return struct{}{}, nil
	})
	// goneHold tells it started, then holds the worker until hold
	// closes, whatever its Context.
	goneHold = NewMethod("gone.hold", func(_ *goneWorker, _ *Ctx, g goneGate) (struct{}, error) {
		close(g.started)
		<-g.hold
		return struct{}{}, nil
	})
	goneNop     = NewMethod("gone.nop", func(*goneWorker, *Ctx, int) (int, error) { return 0, nil })
	goneKidHold = NewMethod("gonekid.hold", func(_ *goneKid, _ *Ctx, hold chan struct{}) (struct{}, error) {
		<-hold
		return struct{}{}, nil
	})
)

// TestPoolGoneSchedulerClosed: a Balancing worker that finalizes once its
// owner (here the runtime) stops and the scheduler has closed marks the
// pool stopping (Pool.gone), which puts back a worker still stopping and
// arms it for the calls waiting; arming schedules its turn, which with the
// scheduler closed finalizes that worker on the spot, and its own gone
// runs on the same goroutine. gone used to hold the pool's mu across that
// (self-deadlock: the pool never finished, the waiting calls never got an
// outcome). Here worker A stopped itself and waits for its child, worker
// B is killed in a call while calls wait; the runtime closes, then the
// scheduler, then B's call returns.
func TestPoolGoneSchedulerClosed(t *testing.T) {
	sched, wheel := newSchedWheel(t)
	hung := false
	kidHold, workerHold := make(chan struct{}), make(chan struct{})
	defer func() {
		if hung {
			return // the goroutines left are deadlocked: waiting would hang
		}
		sched.Close()
		wheel.Stop()
		<-wheel.Done()
	}()
	sys, err := engine.New(engine.Config{Scheduler: sched, Wheel: wheel, CallTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPool(testSpawner{sys}, 2, func() *goneWorker { return &goneWorker{} }, Balancing())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := CallPool(ctx, goneQuit, p, kidHold); err != nil {
		t.Fatal(err)
	}
	gate := goneGate{started: make(chan struct{}), hold: workerHold}
	held := AskPool(ctx, goneHold, p, gate)
	<-gate.started // B took it (A takes none: it stopped itself)
	var a, b *member
	for _, m := range p.workers() {
		if m.c.status.Load() == statusStopping {
			a = m
		} else {
			b = m
		}
	}
	if a == nil || b == nil {
		t.Fatal("want one worker stopping (waiting for its child) and one running")
	}
	var queued []*Future[int]
	for i := range 3 {
		queued = append(queued, AskPool(ctx, goneNop, p, i))
	}
	if n := p.r.shared.len(); n != 3 {
		t.Fatalf("queued: got %d; want 3", n)
	}
	b.c.requestStop(true) // B is killed in its call: it takes no more
	closed := make(chan struct{})
	go func() { // the runtime stops: every worker is orphaned
		defer close(closed)
		sys.Close(ctx)
	}()
	for !sys.Closed() { // Close marks it at once, then waits for A and B
		time.Sleep(time.Millisecond)
	}
	short, cancel := context.WithCancel(ctx)
	cancel()
	_ = sched.Shutdown(short) // closed: a schedule now finalizes on the spot
	close(workerHold)         // B's call returns, and B finalizes
	bound := time.After(30 * time.Second)
	select {
	case <-p.Done():
	case <-bound:
		hung = true
		t.Fatal("the pool's Done not closed: Pool.gone deadlocked")
	}
	if _, err := held.Await(ctx); err != nil {
		t.Errorf("held call: %v; want it run", err)
	}
	for i, f := range queued {
		if _, err := f.Await(ctx); !errors.Is(err, ErrStopped) {
			t.Errorf("queued call %d: got %v; want ErrStopped (no worker left alive)", i, err)
		}
	}
	close(kidHold)
	<-closed
}
