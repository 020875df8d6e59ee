package actor_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

// Guarantee 1: one turn at a time.
func TestOneTurnAtATime(t *testing.T) {
	rt := newRuntime(t)
	var inside, overlaps atomic.Int32
	type S struct{ n int }
	work := actor.NewMethod("work", func(s *S, _ *actor.Ctx, _ int) (int, error) {
		if inside.Add(1) != 1 {
			overlaps.Add(1)
		}
		s.n++ // the race detector sees any overlap here too
		inside.Add(-1)
		return s.n, nil
	})
	ref, err := actor.Spawn(rt, &S{})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Go(func() {
			for i := 0; i < 500; i++ {
				if i%2 == 0 {
					_ = work.Cast(ref, i)
				} else if _, err := work.Call(context.Background(), ref, i); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	got, _ := work.Call(context.Background(), ref, 0)
	if overlaps.Load() != 0 || got != 16*500+1 {
		t.Fatalf("overlaps=%d n=%d; want 0, %d", overlaps.Load(), got, 16*500+1)
	}
}

// Guarantee 3: timeout is ErrTimeout and context.DeadlineExceeded; the
// handler's Context is cancelled when the caller gives up.
func TestCallTimeoutCancelsHandlerContext(t *testing.T) {
	rt := newRuntime(t)
	acct := spawnAccount(t, rt)
	cancelled := make(chan struct{})
	wait := actor.NewMethod("wait", func(a *Account, c *actor.Ctx, _ int) (int, error) {
		<-c.Context().Done()
		close(cancelled)
		return 1, nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := wait.Call(ctx, acct, 0)
	if !errors.Is(err, actor.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v; want ErrTimeout matching DeadlineExceeded", err)
	}
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("handler's Context was not cancelled")
	}
}

// Guarantee 7: A→A and A→B→A fail at once.
func TestCallCycle(t *testing.T) {
	rt := newRuntime(t, troupe.WithCallTimeout(time.Minute))
	type Node struct{ peer *actor.Ref[*Node] }
	var ask *actor.Method[*Node, int, int]
	ask = actor.NewMethod("ask", func(n *Node, c *actor.Ctx, hops int) (int, error) {
		if hops == 0 {
			return 0, nil
		}
		target := n.peer
		if target == nil {
			target = actor.Self[*Node](c)
		}
		return ask.Call(c.Context(), target, hops-1)
	})
	self, _ := actor.Spawn(rt, &Node{})
	_, err := ask.Call(context.Background(), self, 1)
	if !errors.Is(err, actor.ErrCallCycle) {
		t.Fatalf("A→A: got %v; want ErrCallCycle", err)
	}
	a, _ := actor.Spawn(rt, &Node{})
	b, _ := actor.Spawn(rt, &Node{peer: a})
	setPeer := actor.NewMethod("set", func(n *Node, _ *actor.Ctx, p *actor.Ref[*Node]) (int, error) { n.peer = p; return 0, nil })
	if _, err := setPeer.Call(context.Background(), a, b); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = ask.Call(context.Background(), a, 3)
	if !errors.Is(err, actor.ErrCallCycle) {
		t.Fatalf("A→B→A: got %v; want ErrCallCycle", err)
	}
	if time.Since(start) > 30*time.Second {
		t.Fatalf("cycle detected only after %v", time.Since(start))
	}
	// A chain without a cycle still works.
	c1, _ := actor.Spawn(rt, &Node{})
	c2, _ := actor.Spawn(rt, &Node{peer: c1})
	if _, err := ask.Call(context.Background(), c2, 1); err != nil {
		t.Fatalf("A→B: %v", err)
	}
}

// Guarantee 7 for futures: a handler that Asks and then Awaits with
// c.Context() waits for the actor it asked as a Call would, and a cycle
// (A→A, A→B→A) fails at once with ErrCallCycle, not at the deadline.
func TestAwaitCycle(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t, troupe.WithCallTimeout(time.Minute))
		type Node struct{ peer *actor.Ref[*Node] }
		var ask *actor.Method[*Node, int, int]
		ask = actor.NewMethod("ask", func(n *Node, c *actor.Ctx, hops int) (int, error) {
			if hops == 0 {
				return 0, nil
			}
			target := n.peer
			if target == nil {
				target = actor.Self[*Node](c)
			}
			if hops%2 == 1 { // Ask and Await, or AwaitAll
				return ask.Ask(c.Context(), target, hops-1).Await(c.Context())
			}
			vs, err := actor.AwaitAll(c.Context(), ask.Ask(c.Context(), target, hops-1))
			if err != nil {
				return 0, err
			}
			return vs[0], nil
		})
		ctx := context.Background()
		self, _ := actor.Spawn(rt, &Node{})
		for _, hops := range []int{1, 2} {
			start := time.Now()
			if _, err := ask.Call(ctx, self, hops); !errors.Is(err, actor.ErrCallCycle) || time.Since(start) > 0 {
				t.Errorf("A→A (hops %d): got %v after %v; want ErrCallCycle at once", hops, err, time.Since(start))
			}
		}
		a, _ := actor.Spawn(rt, &Node{})
		b, _ := actor.Spawn(rt, &Node{peer: a})
		setPeer := actor.NewMethod("set", func(n *Node, _ *actor.Ctx, p *actor.Ref[*Node]) (int, error) { n.peer = p; return 0, nil })
		if _, err := setPeer.Call(ctx, a, b); err != nil {
			t.Fatal(err)
		}
		for _, hops := range []int{3, 4} {
			start := time.Now()
			if _, err := ask.Call(ctx, a, hops); !errors.Is(err, actor.ErrCallCycle) || time.Since(start) > 0 {
				t.Errorf("A→B→A (hops %d): got %v after %v; want ErrCallCycle at once", hops, err, time.Since(start))
			}
		}
		c1, _ := actor.Spawn(rt, &Node{})
		c2, _ := actor.Spawn(rt, &Node{peer: c1})
		if _, err := ask.Call(ctx, c2, 1); err != nil {
			t.Errorf("A→B: %v", err)
		}
		// Through a pool: the only worker of a round-robin pool Asks its
		// own pool (the call goes to a member: itself) and Awaits.
		var pool atomic.Value // actor.Router[*pw]
		poolAsk := actor.NewMethod("pw.askpool", func(w *pw, c *actor.Ctx, _ int) (int, error) {
			return actor.AskPool(c.Context(), pwID, pool.Load().(actor.Router[*pw]), 0).Await(c.Context())
		})
		p := newPool(t, rt, 1, nil, actor.RoundRobin())
		pool.Store(actor.Router[*pw](p))
		start := time.Now()
		if _, err := actor.CallPool(ctx, poolAsk, p, 0); !errors.Is(err, actor.ErrCallCycle) || time.Since(start) > 0 {
			t.Errorf("a worker awaiting its own pool: got %v after %v; want ErrCallCycle at once", err, time.Since(start))
		}
		synctest.Wait() // the abandoned calls are dead letters, not left running
	})
}

// Guarantee 7 for an Ask through a pool that went to another member: the
// asking worker's Await (or AwaitAll) marks it waiting for that member,
// as a sync call would, so that the member closing the cycle (it Asks
// the pool, which routes to the only other worker, the first one, and
// Awaits) is told ErrCallCycle at once, not at the deadline. A chain
// without a cycle (one worker asking the other) still answers.
func TestAwaitPoolCycle(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  actor.PoolOption
	}{
		{"round robin", actor.RoundRobin()},
		{"random", actor.Random()},
		{"least busy", actor.LeastBusy()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				rt := newRuntime(t, troupe.WithCallTimeout(time.Minute))
				var pool atomic.Value // actor.Router[*pw]
				var hop *actor.Method[*pw, int, int]
				hop = actor.NewMethod("pw.hop", func(w *pw, c *actor.Ctx, hops int) (int, error) {
					if hops == 0 {
						return w.id, nil
					}
					f := actor.AskPool(c.Context(), hop, pool.Load().(actor.Router[*pw]), hops-1)
					if hops%2 == 1 {
						return f.Await(c.Context())
					}
					vs, err := actor.AwaitAll(c.Context(), f)
					if err != nil {
						return 0, err
					}
					return vs[0], nil
				})
				ctx := context.Background()
				p := newPool(t, rt, 2, nil, tc.opt)
				pool.Store(actor.Router[*pw](p))
				for _, hops := range []int{2, 3} { // x → y → x: y's Await (2) or AwaitAll (3) closes it
					start := time.Now()
					if _, err := actor.CallPool(ctx, hop, p, hops); !errors.Is(err, actor.ErrCallCycle) || time.Since(start) > 0 {
						t.Errorf("hops %d: got %v after %v; want ErrCallCycle at once", hops, err, time.Since(start))
					}
				}
				synctest.Wait() // the abandoned calls are dead letters, not left running
				// x → y: no cycle, and no mark left from the above.
				for range 4 {
					if _, err := actor.CallPool(ctx, hop, p, 1); err != nil {
						t.Errorf("hops 1: %v", err)
					}
				}
			})
		})
	}
}
