package bench

import (
	"context"
	"log/slog"
	goruntime "runtime"
	"sync"
	"testing"
	"time"

	proto "github.com/asynkron/protoactor-go/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

// timeout is the deadline of every synchronous request in the benchmarks,
// for every system: far enough never to fire, present because real callers
// always have one.
const timeout = 5 * time.Second

// msg is the payload of every message: a pointer, so a oneway send need not
// allocate to box it.
type msg struct{ n int }

// payload is the one message sent everywhere; no handler mutates it.
var payload = &msg{n: 1}

// newRuntime returns a troupe runtime with default options, shut down when
// the (sub-)benchmark ends.
func newRuntime(tb testing.TB) *troupe.Runtime {
	tb.Helper()
	rt, err := troupe.New()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := rt.Shutdown(ctx); err != nil {
			tb.Errorf("troupe shutdown: %v", err)
		}
	})
	return rt
}

// protoSystem is the one protoactor-go actor system of the process, with
// its logger discarded. protoactor-go has no way to stop an actor system's
// goroutines, so making one per benchmark would only pile them up.
var protoSystem = sync.OnceValue(func() *proto.ActorSystem {
	return proto.NewActorSystem(proto.WithLoggerFactory(func(*proto.ActorSystem) *slog.Logger {
		return slog.New(slog.DiscardHandler)
	}))
})

// protoStop stops pid gracefully (after what is queued, like troupe's
// Ref.Stop) and waits until it has stopped.
func protoStop(tb testing.TB, pid *proto.PID) {
	tb.Helper()
	if err := protoSystem().Root.PoisonFuture(pid).Wait(); err != nil {
		tb.Fatalf("protoactor stop: %v", err)
	}
}

// split calls send from k goroutines at once, sharing n sends between
// them, and returns when every send has returned. With k == 1 it calls
// send on the calling goroutine.
func split(n, k int, send func(n int)) {
	if k == 1 {
		send(n)
		return
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range k {
		share := n / k
		if i < n%k {
			share++
		}
		wg.Go(func() {
			<-start
			send(share)
		})
	}
	close(start)
	wg.Wait()
}

// waitTurn yields the processor to the goroutines being waited for.
func waitTurn() { goruntime.Gosched() }

// exactAllocs is the unit of the exact allocation count: testing's
// allocs/op is an integer rounded down (even a figure reported under
// that unit is printed so), so that a workload allocating once every few
// messages (0.1 or 0.9 per message) shows 0 allocs/op and a "0
// allocations" target passes on it. cmd/table prefers this one.
const exactAllocs = "exact-allocs/op"

// countAllocs calls b.ReportAllocs and returns report, which reports
// exactAllocs: the heap allocations made from countAllocs to report,
// over b.N. Call countAllocs once the setup is done (before ResetTimer,
// or before the b.Loop loop) and report once the timed part is over,
// with the clock stopped (after StopTimer, or after the b.Loop loop):
// both read the memory statistics, which stops the world. Not for
// workloads that stop the clock inside the loop: report would count
// their untimed part too.
func countAllocs(b *testing.B) (report func()) {
	b.ReportAllocs()
	start := mallocs()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64(mallocs()-start)/float64(b.N), exactAllocs)
		}
	}
}

// mallocs is how many heap objects the process has allocated so far.
func mallocs() uint64 {
	var ms goruntime.MemStats
	goruntime.ReadMemStats(&ms)
	return ms.Mallocs
}
