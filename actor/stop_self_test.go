package actor_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
)

// stopper's handlers wait for the stop of an actor their own handler's
// stop (or turn) waits for: itself, an ancestor, or an actor that waits
// for them in a sync call.
type stopper struct {
	parent *actor.Ref[*stopper]
	child  *actor.Ref[*stopper]
}

var (
	stopSelf = actor.NewMethod("stopself", func(s *stopper, c *actor.Ctx, _ int) (error, error) {
		return actor.Self[*stopper](c).Stop(c.Context()), nil
	})
	stopParent = actor.NewMethod("stopparent", func(s *stopper, c *actor.Ctx, _ int) (error, error) {
		return s.parent.Stop(c.Context()), nil
	})
	spawnStopKid = actor.NewMethod("spawnkid", func(s *stopper, c *actor.Ctx, _ int) (*actor.Ref[*stopper], error) {
		k, err := actor.Spawn(c, &stopper{parent: actor.Self[*stopper](c)})
		s.child = k
		return k, err
	})
	// callKid calls its child's stopParent: the child stops its caller.
	callKid = actor.NewMethod("callkid", func(s *stopper, c *actor.Ctx, _ int) (error, error) {
		return stopParent.Call(c.Context(), s.child, 0)
	})
)

// Ref.Stop made with a handler's Context cannot wait for a stop that waits
// for that handler: its own actor's, an ancestor's (which waits for its
// children), or that of an actor waiting for it in a sync call. It asks
// for the stop, as Ctx.Stop does, and fails at once with ErrCallCycle,
// instead of holding the turn until the Context's deadline (a Cast's has
// none) while the caller's call times out.
func TestStopWaitsForItself(t *testing.T) {
	cases := []struct {
		name string
		run  func(ctx context.Context, t *testing.T, rt actor.Spawner) (err, stopErr error, target *actor.Ref[*stopper])
	}{
		{"self", func(ctx context.Context, t *testing.T, rt actor.Spawner) (error, error, *actor.Ref[*stopper]) {
			a, _ := actor.Spawn(rt, &stopper{})
			serr, err := stopSelf.Call(ctx, a, 0)
			return err, serr, a
		}},
		{"ancestor", func(ctx context.Context, t *testing.T, rt actor.Spawner) (error, error, *actor.Ref[*stopper]) {
			p, _ := actor.Spawn(rt, &stopper{})
			k, err := spawnStopKid.Call(ctx, p, 0)
			if err != nil {
				t.Fatal(err)
			}
			serr, err := stopParent.Call(ctx, k, 0)
			return err, serr, p
		}},
		{"caller", func(ctx context.Context, t *testing.T, rt actor.Spawner) (error, error, *actor.Ref[*stopper]) {
			// a's handler waits in a call to b (not its child), whose
			// handler stops a: a's stop waits for a's turn to end.
			sa := &stopper{}
			a, _ := actor.Spawn(rt, sa)
			sa.child, _ = actor.Spawn(rt, &stopper{parent: a})
			serr, err := callKid.Call(ctx, a, 0)
			return err, serr, a
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				rt := newRuntime(t)
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				start := time.Now()
				err, serr, target := tc.run(ctx, t, rt)
				if err != nil {
					t.Fatalf("call = %v after %v; want the handler's reply", err, time.Since(start))
				}
				if !errors.Is(serr, actor.ErrCallCycle) {
					t.Errorf("Stop from the handler = %v after %v; want ErrCallCycle at once", serr, time.Since(start))
				}
				<-target.Done() // the stop was asked for
				if d := time.Since(start); d != 0 {
					t.Errorf("stopped after %v; want 0", d)
				}
			})
		})
	}
}
