package actor_test

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/troupe-go/troupe/actor"
)

// counter counts the casts it ran; hookCounter is one with a Stopping
// hook, whose stop goes through a turn.
type (
	counter     struct{ ran atomic.Int64 }
	hookCounter struct{ counter }
)

func (*hookCounter) Stopping(*actor.Ctx) {}

var (
	bump  = actor.NewMethod("bump", func(c *counter, _ *actor.Ctx, _ int) (struct{}, error) { c.ran.Add(1); return struct{}{}, nil })
	bumpH = actor.NewMethod("bump", func(c *hookCounter, _ *actor.Ctx, _ int) (struct{}, error) { c.ran.Add(1); return struct{}{}, nil })
)

// TestStopRunsEveryAcceptedCast: casts racing a graceful Stop are either
// refused (ErrStopped) or run; none is accepted only to fail with the
// stop. Before the fix the stop looked at an empty queue, then closed the
// mailbox later (after the Stopping hook): a cast that had passed its
// status check before the stop and landed in between was accepted, then
// failed as a dead letter (the pool model test's seed 354 found it).
func TestStopRunsEveryAcceptedCast(t *testing.T) {
	t.Run("idle stop", func(t *testing.T) { stopRunsAccepted(t, func() *counter { return &counter{} }, bump) })
	t.Run("stopping hook", func(t *testing.T) {
		stopRunsAccepted(t, func() *hookCounter { return &hookCounter{} }, bumpH)
	})
}

func stopRunsAccepted[S interface{ runs() int64 }](t *testing.T, fresh func() S, m *actor.Method[S, int, struct{}]) {
	rt := newRuntime(t)
	ctx := context.Background()
	for round := range 200 {
		s := fresh()
		ref, err := actor.Spawn(rt, s)
		if err != nil {
			t.Fatal(err)
		}
		var accepted atomic.Int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range 4 {
			wg.Go(func() {
				<-start
				for i := 0; ; i++ {
					if err := m.Cast(ref, i); err != nil {
						return
					}
					accepted.Add(1)
				}
			})
		}
		close(start)
		for range round % 7 {
			runtime.Gosched()
		}
		if err := ref.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if got, want := s.runs(), accepted.Load(); got != want {
			t.Fatalf("round %d: %d casts ran of %d accepted before the graceful stop", round, got, want)
		}
	}
}

func (c *counter) runs() int64 { return c.ran.Load() }
