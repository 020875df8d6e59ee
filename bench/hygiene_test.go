package bench

import (
	"flag"
	"math"
	"runtime"
	"testing"
	"time"
	"weak"

	"github.com/troupe-go/troupe/jobs"
)

// The tests here check the benchmarks' own hygiene, not troupe: that a
// round leaves nothing behind that the next round (or the next
// competitor) would pay for. They run benchmark code a fixed number of
// times (-test.benchtime Nx) and assert no speed.

// benchRounds runs f as a benchmark of exactly n iterations.
func benchRounds(t *testing.T, n string, f func(*testing.B)) testing.BenchmarkResult {
	t.Helper()
	bt := flag.Lookup("test.benchtime")
	old := bt.Value.String()
	if err := bt.Value.Set(n); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = bt.Value.Set(old) }()
	return testing.Benchmark(f)
}

// reachable is how many of ps still point to something after the
// collector has run. An object a goroutine that is about to exit still
// holds is kept for a moment, so reachable collects and yields up to 100
// times before it counts one as kept.
func reachable[T any](ps ...weak.Pointer[T]) int {
	n := 0
	for range 100 {
		runtime.GC()
		n = 0
		for _, p := range ps {
			if p.Value() != nil {
				n++
			}
		}
		if n == 0 {
			return 0
		}
		runtime.Gosched()
	}
	return n
}

// TestClosedDispatcherReleased: BenchmarkJobRetained makes a dispatcher
// per round (newDispatcher) and closes it at the round's end; what
// newDispatcher registers for the benchmark's end must not keep a
// closed one (with its retained jobs) reachable, or the live heap, and
// the collector's work in the timed part, grows round by round. No job
// runs here: a finished job arms the dispatcher's retention timer,
// which keeps it reachable for a while of its own accord (see the
// commit that added this test).
func TestClosedDispatcherReleased(t *testing.T) {
	kept := -1
	benchRounds(t, "1x", func(b *testing.B) {
		rt := newRuntime(b)
		var ps []weak.Pointer[jobs.Dispatcher]
		for range 3 {
			d, _, closeD := newDispatcher(b, rt, 1, nil, nil)
			ps = append(ps, weak.Make(d))
			closeD()
		}
		kept = reachable(ps...)
	})
	if kept != 0 {
		t.Errorf("%d of 3 closed dispatchers still reachable before the benchmark ended; want 0", kept)
	}
}

// timerRunning reports whether b's clock runs: b.Elapsed moves while it
// does and stands still while it is stopped.
func timerRunning(b *testing.B) bool {
	e := b.Elapsed()
	time.Sleep(time.Millisecond)
	return b.Elapsed() != e
}

// TestEchoTeardownUntimed: the echo benchmarks time the ping-pongs only;
// closing the clients and the server (troupe's Close waits for every
// connection's actor) must happen with the clock stopped, for both
// systems.
func TestEchoTeardownUntimed(t *testing.T) {
	for _, sys := range []struct {
		name   string
		server echoServer
	}{{"troupe", troupeEcho}, {"raw", rawEcho}} {
		t.Run(sys.name, func(t *testing.T) {
			calls, timed := 0, 0
			benchRounds(t, "10x", func(b *testing.B) {
				benchEcho(b, func(tb testing.TB) (string, func()) {
					addr, stop := sys.server(tb)
					return addr, func() {
						calls++
						if timerRunning(b) {
							timed++
						}
						stop()
					}
				}, 2)
			})
			if calls == 0 || timed != 0 {
				t.Errorf("server stopped %d times, %d of them with the clock running; want none timed", calls, timed)
			}
		})
	}
}

// TestAllocsExact: the per-message workloads report their allocations
// per op exactly (exactAllocs; testing's allocs/op is rounded down to an
// integer, so 0.9 allocations per message would show as 0 and pass a "0
// allocs" target). Their count spans testing's (it starts before the
// clock and ends after it), so it is at least testing's count of
// allocations; it may be a little more, by what other goroutines
// allocated as the clock started or stopped, which depends on the
// machine's load and is only logged.
func TestAllocsExact(t *testing.T) {
	for _, w := range []struct {
		name string
		f    func(*testing.B)
	}{
		{"oneway/troupe", func(b *testing.B) { onewayTroupe(b, 1, count, mkPtr) }},
		{"oneway/raw", func(b *testing.B) { onewayRaw(b, 1, mkPtr) }},
		{"oneway/protoactor", func(b *testing.B) { onewayProto(b, 1, mkPtr) }},
		{"onewayValue8/troupe", func(b *testing.B) { onewayTroupe(b, 8, countVal, mkVal) }},
		{"onewayValue8/raw", func(b *testing.B) { onewayRaw(b, 8, mkVal) }},
		{"onewayValue8/protoactor", func(b *testing.B) { onewayProto(b, 8, mkVal) }},
		{"call/troupe", callTroupe},
		{"call/raw", callRaw},
		{"call/protoactor", callProto},
		{"callCtx/troupe", callCtxTroupe},
		{"callCtx/raw", callCtxRaw},
		{"fanOut/troupe", func(b *testing.B) { fanOutTroupe(b, fanCount, mkPtr) }},
		{"fanOut/raw", func(b *testing.B) { fanOutRaw(b, mkPtr) }},
		{"fanOut/protoactor", func(b *testing.B) { fanOutProto(b, mkPtr) }},
		{"stream/troupe", func(b *testing.B) { streamTroupe(b, 1) }},
		{"stream/raw", func(b *testing.B) { streamRaw(b, 1) }},
		{"stream/protoactor", streamProto},
		{"poolCall/troupe", poolCallTroupe},
		{"poolCall/byhand", poolCallByHand},
		{"poolCall/raw", poolCallRaw},
		{"poolCall/protoactor", poolCallProto},
		{"echo/troupe", func(b *testing.B) { benchEcho(b, troupeEcho, 1) }},
		{"echo/raw", func(b *testing.B) { benchEcho(b, rawEcho, 1) }},
	} {
		t.Run(w.name, func(t *testing.T) {
			res := benchRounds(t, "100x", w.f)
			got, ok := res.Extra[exactAllocs]
			if !ok {
				t.Fatalf("no exact allocs/op reported (testing's: %d, %d allocations over %d ops)", res.AllocsPerOp(), res.MemAllocs, res.N)
			}
			if n := math.Round(got * float64(res.N)); n < float64(res.MemAllocs) {
				t.Errorf("%s %g over %d ops (%g allocations); testing counted %d", exactAllocs, got, res.N, n, res.MemAllocs)
			} else if n > float64(res.MemAllocs) {
				t.Logf("%g allocations counted, testing's %d", n, res.MemAllocs)
			}
		})
	}
}
