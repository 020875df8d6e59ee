package bench

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	proto "github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/router"
	"github.com/troupe-go/troupe/actor"
)

// The pool workloads (issue 13).
//
// BenchmarkPoolCall is one synchronous round trip through a round-robin
// pool of poolWorkers workers, from one caller, with the call workload's
// deadline: troupe's actor.CallPool, protoactor-go's router.NewRoundRobinPool
// with RequestFuture, and for raw Go a goroutine per worker with its own
// channel, picked round robin. BenchmarkPoolCall/direct is the same call
// to one actor directly, the reference of the pool's "≤ 1.2× a direct
// call" target (it is BenchmarkCall/troupe, run again here so that
// `-bench Pool` has both in one run); BenchmarkPoolCall/byhand is the
// caller calling 8 actors in turn itself, without a pool.
//
// The uneven workloads run jobs of uneven size over poolWorkers workers:
// unevenJobs jobs, 90% of 1 ms and 10% of 20 ms (a fixed pseudo-random
// sequence), each a handler sleeping that long (a worker waiting on I/O).
// They arrive as a stream: unevenCallers callers (two per worker) each
// call the pool, one job after another, until the jobs run out. One op is
// the whole workload; x-ideal is its makespan over the ideal, total work /
// workers, where the total work is what the handlers measured (a 1 ms
// sleep takes a little longer: x-nominal divides by the nominal 2.9 s /
// 8 instead); ms/makespan is the makespan itself. Balancing and LeastBusy
// send each job to a free worker; round robin sends it to the next in
// turn, whatever that one is doing. (A burst sent all at once is another
// matter: LeastBusy then balances counts, not durations, and only
// Balancing stays near the ideal; examples/workers shows that case.)
const (
	poolWorkers   = 8
	unevenJobs    = 1000
	unevenCallers = 2 * poolWorkers
)

func BenchmarkPoolCall(b *testing.B) {
	b.Run("troupe", poolCallTroupe)
	b.Run("direct", callTroupe)
	b.Run("byhand", poolCallByHand)
	b.Run("raw", poolCallRaw)
	b.Run("protoactor", poolCallProto)
}

// poolCallByHand is the caller doing the pool's job itself: Method.Call
// to 8 actors in turn. Beside direct (one actor, whose turn is still
// running when the next call comes) it shows what going to an idle actor
// costs (a scheduler hop); beside troupe, what the pool adds to that.
func poolCallByHand(b *testing.B) {
	rt := newRuntime(b)
	refs := make([]*actor.Ref[*echoer], poolWorkers)
	for i := range refs {
		r, err := actor.Spawn(rt, &echoer{})
		if err != nil {
			b.Fatal(err)
		}
		refs[i] = r
	}
	ctx := context.Background()
	next := 0
	report := countAllocs(b)
	for b.Loop() {
		if r, err := echo.Call(ctx, refs[next], payload); err != nil || r != payload {
			b.Fatalf("call: %v, %v", r, err)
		}
		next = (next + 1) % poolWorkers
	}
	report()
}

func poolCallTroupe(b *testing.B) {
	rt := newRuntime(b)
	p, err := actor.NewPool(rt, poolWorkers, func() *echoer { return &echoer{} }, actor.RoundRobin())
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background() // the runtime's call timeout applies
	report := countAllocs(b)
	for b.Loop() {
		if r, err := actor.CallPool(ctx, echo, p, payload); err != nil || r != payload {
			b.Fatalf("call: %v, %v", r, err)
		}
	}
	report()
}

func poolCallRaw(b *testing.B) {
	inboxes := make([]chan<- request, poolWorkers)
	for i := range inboxes {
		inboxes[i] = rawServer(b)
	}
	next := 0
	report := countAllocs(b)
	for b.Loop() {
		r, err := rawCall(inboxes[next], payload)
		if err != nil || r != payload {
			b.Fatalf("call: %v, %v", r, err)
		}
		next = (next + 1) % poolWorkers
	}
	report()
}

func poolCallProto(b *testing.B) {
	sys := protoSystem()
	pid := sys.Root.Spawn(router.NewRoundRobinPool(poolWorkers, proto.WithFunc(func(c proto.Context) {
		if m, ok := c.Message().(*msg); ok {
			c.Respond(m)
		}
	})))
	report := countAllocs(b)
	for b.Loop() {
		r, err := sys.Root.RequestFuture(pid, payload, timeout).Result()
		if err != nil || r != payload {
			b.Fatalf("call: %v, %v", r, err)
		}
	}
	report()
	if err := sys.Root.StopFuture(pid).Wait(); err != nil { // not left stopping beside the next benchmark
		b.Fatalf("protoactor stop: %v", err)
	}
}

func BenchmarkPoolUnevenBalancing(b *testing.B) {
	b.Run("troupe", func(b *testing.B) { uneven(b, actor.Balancing()) })
}

func BenchmarkPoolUnevenLeastBusy(b *testing.B) {
	b.Run("troupe", func(b *testing.B) { uneven(b, actor.LeastBusy()) })
}

func BenchmarkPoolUnevenRoundRobin(b *testing.B) {
	b.Run("troupe", func(b *testing.B) { uneven(b, actor.RoundRobin()) })
}

// jobber is an uneven-job worker; busy adds up the time its jobs took.
type jobber struct{ busy *atomic.Int64 }

var job = actor.NewMethod("job", func(w *jobber, _ *actor.Ctx, d time.Duration) (struct{}, error) {
	start := time.Now()
	time.Sleep(d)
	w.busy.Add(int64(time.Since(start)))
	return struct{}{}, nil
})

// unevenSizes is the workload: a fixed sequence, 10% of jobs long.
func unevenSizes() (sizes []time.Duration, total time.Duration) {
	rng := rand.New(rand.NewPCG(13, 13))
	sizes = make([]time.Duration, unevenJobs)
	for i := range sizes {
		sizes[i] = time.Millisecond
		if rng.IntN(10) == 0 {
			sizes[i] = 20 * time.Millisecond
		}
		total += sizes[i]
	}
	return sizes, total
}

func uneven(b *testing.B, strategy actor.PoolOption) {
	rt := newRuntime(b)
	var busy atomic.Int64
	p, err := actor.NewPool(rt, poolWorkers, func() *jobber { return &jobber{busy: &busy} }, strategy)
	if err != nil {
		b.Fatal(err)
	}
	sizes, total := unevenSizes()
	ctx := context.Background()
	var spans time.Duration
	for b.Loop() {
		start := time.Now()
		var mu sync.Mutex
		next := 0
		var wg sync.WaitGroup
		for range unevenCallers {
			wg.Go(func() {
				for {
					mu.Lock()
					i := next
					next++
					mu.Unlock()
					if i >= len(sizes) {
						return
					}
					if _, err := actor.CallPool(ctx, job, p, sizes[i]); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		spans += time.Since(start)
	}
	n := float64(b.N)
	b.ReportMetric(float64(spans)/float64(busy.Load()/poolWorkers), "x-ideal")
	b.ReportMetric(float64(spans)/n/float64(total/poolWorkers), "x-nominal")
	b.ReportMetric(float64(spans)/n/1e6, "ms/makespan")
}
