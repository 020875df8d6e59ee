package actor_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
)

// TestPoolWorkerKilledMidFlight: with each seed, a pool of each strategy
// has a worker stopped from outside, through a leaked Ref (Kill, or a
// Stop bounded by an ended ctx), while a BroadcastPool waits on every
// worker and streams opened through the pool go on off the workers'
// turns. Every worker of the broadcast gives exactly one outcome (the
// stopped one's an error naming it, joined), every reader ends (whole,
// or with an error if its worker stopped), the stopped worker is
// replaced, and the pool's stop ends with nothing left running.
func TestPoolWorkerKilledMidFlight(t *testing.T) {
	strategies := []struct {
		name string
		opt  actor.PoolOption
	}{
		{"round robin", actor.RoundRobin()},
		{"least busy", actor.LeastBusy()},
		{"hash", actor.Hash(func(n int) string { return strconv.Itoa(n) })},
		{"balancing", actor.Balancing()},
		{"first", actor.First(time.Millisecond)},
	}
	for seed := range testkit.Seeds(8) {
		for _, st := range strategies {
			t.Run(fmt.Sprintf("%s/seed=%d", st.name, seed), func(t *testing.T) {
				bubble(t, func(t *testing.T) {
					rng := rand.New(rand.NewPCG(seed, 0x9e3779b9))
					rt := newRuntime(t)
					gate := make(chan struct{})
					const size = 3
					p := newPool(t, rt, size, gate, st.opt)
					ctx := context.Background()
					refs, err := actor.BroadcastPool(ctx, pwSelf, p, "")
					if err != nil || len(refs) != size {
						t.Fatalf("BroadcastPool(self): %d refs, %v", len(refs), err)
					}
					var readers []*actor.Follow[pwItem]
					for i := range 1 + rng.IntN(5) {
						f, err := actor.OpenPool(ctx, pwLater, p, i+2)
						if err != nil {
							t.Fatalf("OpenPool: %v", err)
						}
						readers = append(readers, f)
					}
					type result struct {
						vals []int
						err  error
					}
					bc := make(chan result, 1)
					go func() {
						v, err := actor.BroadcastPool(ctx, pwHold, p, 0)
						bc <- result{v, err}
					}()
					var asks []*actor.Future[int]
					for i := range rng.IntN(4) {
						asks = append(asks, actor.AskPool(ctx, pwHold, p, i))
					}
					synctest.Wait() // every worker holds the broadcast
					victim := refs[rng.IntN(size)]
					if rng.IntN(2) == 0 {
						victim.Kill()
					} else {
						ended, cancel := context.WithCancel(ctx)
						cancel()
						var se *actor.StopError
						if err := victim.Stop(ended); err != nil && !errors.As(err, &se) {
							t.Errorf("Stop: %v", err)
						}
					}
					synctest.Wait()
					close(gate)
					res := <-bc
					if len(res.vals) != size {
						t.Errorf("broadcast: %d values; want %d", len(res.vals), size)
					}
					var joined interface{ Unwrap() []error }
					if !errors.As(res.err, &joined) || len(joined.Unwrap()) != 1 {
						t.Errorf("broadcast: got %v; want one error, the stopped worker's", res.err)
					}
					for i, f := range asks {
						// Its worker's reply, or its failure: the stopped
						// worker's handler saw its Context end.
						if _, err := f.Await(ctx); err != nil && !errors.Is(err, actor.ErrStopped) && !errors.Is(err, context.Canceled) {
							t.Errorf("ask %d: %v", i, err)
						}
					}
					for i, f := range readers {
						n := 0
						var end error
						for it, err := range f.All() {
							if err != nil {
								end = err
								break
							}
							if it.V.N != n {
								t.Errorf("reader %d: item %d is %d", i, n, it.V.N)
							}
							n++
						}
						if end == nil && n != i+2 {
							t.Errorf("reader %d: %d items and no error; want %d", i, n, i+2)
						}
					}
					synctest.Wait() // the replacement has joined
					if got := p.Size(); got != size {
						t.Errorf("Size = %d; want %d (the stopped worker replaced)", got, size)
					}
					if _, err := actor.BroadcastPool(ctx, pwID, p, 0); err != nil {
						t.Errorf("a broadcast after: %v", err)
					}
					if err := p.Stop(ctx); err != nil {
						t.Errorf("Stop: %v", err)
					}
				})
			})
		}
	}
}
