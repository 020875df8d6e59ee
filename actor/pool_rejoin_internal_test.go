package actor

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/troupe-go/troupe/internal/engine"
)

// rejoinWorker is TestPoolReplacementStoppedBeforeAdded's worker.
type rejoinWorker struct{}

var (
	rejoinKill = NewMethod("rejoin.kill", func(_ *rejoinWorker, c *Ctx, _ int) (int, error) {
		Self[*rejoinWorker](c).Kill()
		return 0, nil
	})
	rejoinNop = NewMethod("rejoin.nop", func(*rejoinWorker, *Ctx, int) (int, error) { return 1, nil })
)

// TestPoolReplacementStoppedBeforeAdded: a Balancing pool's replacement
// worker joins the shared queue before it is one of the pool's workers
// (Pool.add), and may take a call from it at once: one that stops it (a
// Kill, a panic under Terminate) finalizes it before add counts it. Its
// own gone did not replace it (it was no worker yet), and add dropped it,
// so the pool was left with no worker and no replacement under way: it
// declared itself killed ("lost its last worker and could not replace
// it") though its factory works, and every later call failed with
// ErrPoolStopped. A replacement that stops before it is added is
// replaced in its turn, as any worker that stops is.
func TestPoolReplacementStoppedBeforeAdded(t *testing.T) {
	sched, wheel := newSchedWheel(t)
	defer func() {
		sched.Close()
		wheel.Stop()
		<-wheel.Done()
	}()
	sys, err := engine.New(engine.Config{Scheduler: sched, Wheel: wheel, CallTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer sys.Close(context.Background())
	p, err := NewPool(testSpawner{sys}, 1, func() *rejoinWorker { return &rejoinWorker{} }, Balancing())
	if err != nil {
		t.Fatal(err)
	}
	q := p.r.shared
	first := true
	q.test.joined = func() { // on the replacement's join, before add counts it
		if !first {
			return
		}
		first = false
		q.mu.Lock()
		nm := q.joined[len(q.joined)-1]
		q.mu.Unlock()
		// As if it had taken from the queue a call that killed it (the
		// pool's model test saw that): it is killed and, idle as it
		// nearly always is here, finalizes at once, before add. Not
		// waited for: this hook runs on a scheduler loop, inside the
		// first worker's finalize, and a replacement already armed with
		// a pull token finalizes on a turn of its own, which that wait
		// held up (2 runs in 40 hung so); it is then replaced as any
		// worker that stops is.
		nm.c.requestStop(true)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := CallPool(ctx, rejoinKill, p, 0); err != nil {
		t.Fatal(err)
	}
	// The first worker is replaced, the replacement killed before it was
	// added: the pool makes another.
	deadline := time.Now().Add(10 * time.Second)
	for p.Size() != 1 && !p.Stopped() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if p.Stopped() {
		t.Fatal("the pool stopped: its replacement was killed before it was added, and not replaced")
	}
	if v, err := CallPool(ctx, rejoinNop, p, 0); err != nil || v != 1 {
		t.Fatalf("a call once the replacement's replacement runs: %v, %v; want 1", v, err)
	}
	if err := p.Stop(ctx); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatal("timed out")
	}
}
