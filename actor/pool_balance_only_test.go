package actor_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/actor"
)

// pwOnly makes its worker admit only direct pw.id calls (Ctx.Only): a
// Balancing pool's calls are held by it as a whole.
var (
	pwOnly = actor.NewMethod("pw.only", func(w *pw, c *actor.Ctx, _ int) (int, error) {
		return w.id, c.Only(pwID, pwAll)
	})
	pwAll = actor.NewMethod("pw.all", func(w *pw, c *actor.Ctx, _ int) (int, error) {
		c.AdmitAll()
		return w.id, nil
	})
)

// A Balancing worker whose whitelist holds the pool's calls takes none
// from the shared queue, and the others take them (Balancing's doc): a
// call is never left waiting for its deadline behind the held worker
// while another worker is idle.
func TestPoolBalancingOnlyWorkerPassedOver(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		p := newPool(t, rt, 2, nil, actor.Balancing())
		ctx := context.Background()
		locked, err := actor.CallPool(ctx, pwOnly, p, 0)
		if err != nil {
			t.Fatalf("pw.only: %v", err)
		}
		for i := range 4 {
			cctx, cancel := context.WithTimeout(ctx, time.Second)
			id, err := actor.CallPool(cctx, pwID, p, 0)
			cancel()
			if err != nil {
				t.Fatalf("call %d with worker %d holding the pool's calls: %v; want the other worker's reply", i, locked, err)
			}
			if id == locked {
				t.Fatalf("call %d ran on worker %d, whose whitelist holds it", i, id)
			}
		}
	})
}

// A Balancing worker passed over while its whitelist held the pool's
// calls takes those that wait once it admits them again.
func TestPoolBalancingOnlyWorkerTakesAgain(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		p := newPool(t, rt, 1, nil, actor.Balancing())
		ctx := context.Background()
		w, err := actor.CallPool(ctx, pwSelf, p, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := actor.CallPool(ctx, pwOnly, p, 0); err != nil {
			t.Fatal(err)
		}
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		f := actor.AskPool(cctx, pwID, p, 0)
		synctest.Wait()
		if _, err := pwAll.Call(ctx, w, 0); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if _, err := f.Await(cctx); err != nil {
			t.Fatalf("pool call once its worker admits it again: %v", err)
		}
		if d := time.Since(start); d != 0 {
			t.Fatalf("pool call ran %v after its worker admitted it; want at once", d)
		}
	})
}
