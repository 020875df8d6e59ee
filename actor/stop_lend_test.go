package actor_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

// slVictim has a Stopping hook, so its stop needs a turn of its own.
type slVictim struct{ stopped *atomic.Int32 }

func (v *slVictim) Stopping(*actor.Ctx) { v.stopped.Add(1) }

// slStopper's handler stops the victim it is handed and waits for it,
// once every slStopper sharing its barrier runs a handler (each holding a
// loop).
type slStopper struct{ barrier *sync.WaitGroup }

var slStop = actor.NewMethod("slStop", func(s *slStopper, c *actor.Ctx, v *actor.Ref[*slVictim]) (int, error) {
	s.barrier.Done()
	s.barrier.Wait()
	return 0, v.Stop(c.Context())
})

// A handler waiting in Ref.Stop waits for another actor, as in a sync
// call: it must lend its loop, or, on a pool of one loop (or of two, with
// two such handlers), the stops it waits for never get the turn they
// need, and the handlers wait until the scheduler's watchdog starts a
// loop or their ctx ends.
func TestStopFromHandlerLendsLoop(t *testing.T) {
	procs(t, 2) // a pool of 2 runs 2 loops
	for _, loops := range []int{1, 2} {
		t.Run(string(rune('0'+loops))+" loops", func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				rt := newRuntime(t, troupe.WithPoolSize(loops), troupe.WithCallTimeout(time.Minute))
				var stopped atomic.Int32
				done := make(chan error, loops)
				var barrier sync.WaitGroup
				barrier.Add(loops)
				start := time.Now()
				for range loops {
					v, err := actor.Spawn(rt, &slVictim{stopped: &stopped})
					if err != nil {
						t.Fatal(err)
					}
					s, err := actor.Spawn(rt, &slStopper{barrier: &barrier})
					if err != nil {
						t.Fatal(err)
					}
					go func() {
						_, err := slStop.Call(context.Background(), s, v)
						done <- err
					}()
				}
				for range loops {
					if err := <-done; err != nil {
						t.Errorf("Stop from a handler: %v", err)
					}
				}
				if took := time.Since(start); took != 0 {
					t.Errorf("the stops took %v of fake time; want none (the victims' stop turns run while the handlers wait)", took)
				}
				if n := stopped.Load(); n != int32(loops) {
					t.Errorf("Stopping hooks run: %d; want %d", n, loops)
				}
			})
		})
	}
}

var slStopPool = actor.NewMethod("slStopPool", func(_ *slStopper, c *actor.Ctx, p *actor.Pool[*slVictim]) (int, error) {
	return 0, p.Stop(c.Context())
})

// So must a handler waiting in Pool.Stop.
func TestPoolStopFromHandlerLendsLoop(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t, troupe.WithPoolSize(1), troupe.WithCallTimeout(time.Minute))
		var stopped atomic.Int32
		p, err := actor.NewPool(rt, 2, func() *slVictim { return &slVictim{stopped: &stopped} })
		if err != nil {
			t.Fatal(err)
		}
		s, err := actor.Spawn(rt, &slStopper{})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if _, err := slStopPool.Call(context.Background(), s, p); err != nil {
			t.Errorf("Pool.Stop from a handler: %v", err)
		}
		if took := time.Since(start); took != 0 {
			t.Errorf("the stop took %v of fake time; want none (the workers' stop turns run while the handler waits)", took)
		}
		if n := stopped.Load(); n != 2 {
			t.Errorf("Stopping hooks run: %d; want 2", n)
		}
	})
}
