package actor_test

import (
	"context"
	"sync"
	"testing"

	"github.com/troupe-go/troupe/actor"
)

// startStop records its hooks: how many times Started ran, whether its
// Context was already cancelled, and whether Stopping ran with a cancelled
// Context.
type startStop struct {
	mu             sync.Mutex
	started        int
	startCancelled bool
	stopping       int
	stopCancelled  bool
}

func (s *startStop) Started(c *actor.Ctx) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.started++
	s.startCancelled = c.Context().Err() != nil
}

func (s *startStop) Stopping(c *actor.Ctx) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopping++
	s.stopCancelled = c.Context().Err() != nil
}

// TestKilledBeforeStartNoStarted: an actor killed before its first turn
// does not run its Started hook (as one killed while a restart makes its
// fresh state does not): the hook would start work, with a cancelled
// Context, for an actor that will run nothing. Its Stopping hook still
// runs, once, with a cancelled Context. An owner-driven Handler never
// processed is such an actor, deterministically (its stop runs on a
// scheduler loop without its owner). A graceful stop before the first
// turn still runs Started, then the queue, then Stopping.
func TestKilledBeforeStartNoStarted(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		s := &startStop{}
		h, err := actor.NewHandler(rt, s)
		if err != nil {
			t.Fatal(err)
		}
		h.Ref().Kill()
		<-h.Ref().Done()
		s.mu.Lock()
		if s.started != 0 {
			t.Errorf("Started ran %d times (Context cancelled: %v); want 0 on an actor killed before its first turn", s.started, s.startCancelled)
		}
		if s.stopping != 1 || !s.stopCancelled {
			t.Errorf("Stopping ran %d times, Context cancelled %v; want once, cancelled", s.stopping, s.stopCancelled)
		}
		s.mu.Unlock()

		g := &startStop{}
		h2, err := actor.NewHandler(rt, g)
		if err != nil {
			t.Fatal(err)
		}
		if err := h2.Ref().Stop(context.Background()); err != nil {
			t.Fatalf("Stop = %v", err)
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.started != 1 || g.startCancelled || g.stopping != 1 || g.stopCancelled {
			t.Errorf("graceful stop before the first turn: started %d (cancelled %v), stopping %d (cancelled %v); want 1, false, 1, false",
				g.started, g.startCancelled, g.stopping, g.stopCancelled)
		}
	})
}
