package actor_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/actor"
)

// deep's actors make a cycle through a stop deeper than TestStopWaitsForItself's:
// P's child K waits in a call to X, and X's handler waits for P's stop,
// which waits for K.
type deep struct {
	p, x *actor.Ref[*deep]
	gate chan struct{}
	got  chan error
}

var (
	deepSpawn = actor.NewMethod("spawn", func(s *deep, c *actor.Ctx, k *deep) (*actor.Ref[*deep], error) {
		return actor.Spawn(c, k)
	})
	// deepStopP (on X) waits for P's stop.
	deepStopP = actor.NewMethod("stop p", func(s *deep, c *actor.Ctx, _ int) (error, error) {
		return s.p.Stop(c.Context()), nil
	})
	// deepCallX (on K) calls X's deepStopP.
	deepCallX = actor.NewMethod("call x", func(s *deep, c *actor.Ctx, _ int) (error, error) {
		return deepStopP.Call(c.Context(), s.x, 0)
	})
	deepPing = actor.NewMethod("ping", func(s *deep, c *actor.Ctx, _ int) (int, error) { return 0, nil })
	// deepGated (on K) waits for its gate, then calls X's ping.
	deepGated = actor.NewMethod("gated", func(s *deep, c *actor.Ctx, _ int) (int, error) {
		<-s.gate
		_, err := deepPing.Call(c.Context(), s.x, 0)
		s.got <- err
		return 0, nil
	})
)

// TestStopWaitsForDescendant: a stop waits for the turns of the stopped
// actor's descendants, and so for what they wait for. Ref.Stop from X's
// handler, while P's child K waits in a call to X, fails at once with
// ErrCallCycle (and asks for the stop); and a call from K to X, while X's
// handler waits for P's stop, fails at once with ErrCallCycle.
func TestStopWaitsForDescendant(t *testing.T) {
	procs(t, 2) // X's handler runs while K waits at its gate
	t.Run("stop", func(t *testing.T) {
		bubble(t, func(t *testing.T) {
			rt := newRuntime(t)
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			start := time.Now()
			p, _ := actor.Spawn(rt, &deep{})
			x, _ := actor.Spawn(rt, &deep{p: p})
			k, err := deepSpawn.Call(ctx, p, &deep{x: x})
			if err != nil {
				t.Fatal(err)
			}
			serr, err := deepCallX.Call(ctx, k, 0)
			if err != nil {
				t.Fatalf("call = %v after %v; want the handler's reply", err, time.Since(start))
			}
			if !errors.Is(serr, actor.ErrCallCycle) {
				t.Errorf("X's Stop of P = %v after %v; want ErrCallCycle at once", serr, time.Since(start))
			}
			<-p.Done() // the stop was asked for
			if d := time.Since(start); d != 0 {
				t.Errorf("P stopped after %v; want 0", d)
			}
		})
	})
	t.Run("call", func(t *testing.T) {
		bubble(t, func(t *testing.T) {
			rt := newRuntime(t)
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			start := time.Now()
			p, _ := actor.Spawn(rt, &deep{})
			x, _ := actor.Spawn(rt, &deep{p: p})
			ks := &deep{x: x, gate: make(chan struct{}), got: make(chan error, 1)}
			k, err := deepSpawn.Call(ctx, p, ks)
			if err != nil {
				t.Fatal(err)
			}
			_ = deepGated.Cast(k, 0)
			synctest.Wait() // K waits at its gate
			stopped := make(chan error, 1)
			go func() {
				serr, err := deepStopP.Call(ctx, x, 0)
				stopped <- errors.Join(serr, err)
			}()
			synctest.Wait() // X waits for P's stop, which waits for K
			close(ks.gate)
			if err := <-ks.got; !errors.Is(err, actor.ErrCallCycle) {
				t.Errorf("K's call to X = %v after %v; want ErrCallCycle at once", err, time.Since(start))
			}
			if err := <-stopped; err != nil {
				t.Errorf("X's Stop of P = %v after %v; want nil", err, time.Since(start))
			}
			<-p.Done()
			if d := time.Since(start); d != 0 {
				t.Errorf("P stopped after %v; want 0", d)
			}
		})
	})
}
