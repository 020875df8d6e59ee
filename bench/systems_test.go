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
