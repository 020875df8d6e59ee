package bench

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	protostream "github.com/asynkron/protoactor-go/stream"
	"github.com/troupe-go/troupe/actor"
)

// The stream workloads: one producer goroutine hands b.N pointer items to
// readers; ns/op is the cost of one item, the clock stopped once every
// reader has read the last. Each system blocks its producer when its
// reader lags (troupe: Out.SendWait on a default journal of 4096 items;
// raw Go: a channel of capacity 64), so nothing is dropped.
//
// protoactor-go's typed stream (stream.NewTypedStream) is an actor that
// forwards each message to an unbuffered channel: its producer sends to the
// actor's PID, its reader receives from C(). It has no fan-out, so it has
// no row for 1,000 readers.

func BenchmarkStream1to1(b *testing.B) {
	b.Run("troupe", func(b *testing.B) { streamTroupe(b, 1) })
	b.Run("raw", func(b *testing.B) { streamRaw(b, 1) })
	b.Run("protoactor", streamProto)
}

// BenchmarkStream1000Readers: 1,000 readers follow one stream; raw Go
// sends each item to 1,000 channels. troupe also reports the heap each
// reader holds (B/reader).
func BenchmarkStream1000Readers(b *testing.B) {
	b.Run("troupe", func(b *testing.B) { streamTroupe(b, 1000) })
	b.Run("raw", func(b *testing.B) { streamRaw(b, 1000) })
}

type producer struct{ out *actor.Out[*msg] }

// produce is the benchmarks' stream method: the handler keeps the stream's
// producer end, for the benchmark's goroutine.
var produce = actor.NewStream("produce", func(p *producer, _ *actor.Ctx, _ struct{}, out *actor.Out[*msg]) error {
	p.out = out
	return nil
})

func streamTroupe(b *testing.B, readers int) {
	rt := newRuntime(b)
	p := &producer{}
	ref, err := actor.Spawn(rt, p)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	first, err := produce.Open(ctx, ref, struct{}{})
	if err != nil {
		b.Fatal(err)
	}
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	follows := []*actor.Follow[*msg]{first}
	for range readers - 1 {
		f, err := produce.Follow(ctx, ref, first.ID())
		if err != nil {
			b.Fatal(err)
		}
		follows = append(follows, f)
	}
	var wg sync.WaitGroup
	counts := make([]int, readers)
	for i, f := range follows {
		wg.Go(func() {
			for it, err := range f.All() {
				if err != nil {
					b.Error(err)
					return
				}
				counts[i] += it.V.n
			}
		})
	}
	report := countAllocs(b)
	b.ResetTimer()
	for range b.N {
		if err := p.out.SendWait(ctx, payload); err != nil {
			b.Fatal(err)
		}
	}
	_ = p.out.Close(nil)
	wg.Wait()
	b.StopTimer()
	report()
	if readers > 1 {
		// What the readers hold once they have read (their buffers are
		// made on the first read), and a thousandth of the journal's
		// ring, made by the first Sends.
		var after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(follows)
		b.ReportMetric(float64(after.HeapAlloc-min(before.HeapAlloc, after.HeapAlloc))/float64(readers), "B/reader")
	}
	for i, n := range counts {
		if n != b.N {
			b.Fatalf("reader %d read %d items; want %d", i, n, b.N)
		}
	}
}

// rawStreamCap is the raw Go stream's channel capacity (the issue's
// baseline).
const rawStreamCap = 64

func streamRaw(b *testing.B, readers int) {
	chans := make([]chan *msg, readers)
	counts := make([]int, readers)
	var wg sync.WaitGroup
	for i := range chans {
		ch := make(chan *msg, rawStreamCap)
		chans[i] = ch
		wg.Go(func() {
			for m := range ch {
				counts[i] += m.n
			}
		})
	}
	report := countAllocs(b)
	b.ResetTimer()
	for range b.N {
		for _, ch := range chans {
			ch <- payload
		}
	}
	for _, ch := range chans {
		close(ch)
	}
	wg.Wait()
	b.StopTimer()
	report()
	for i, n := range counts {
		if n != b.N {
			b.Fatalf("reader %d read %d items; want %d", i, n, b.N)
		}
	}
}

func streamProto(b *testing.B) {
	sys := protoSystem()
	s := protostream.NewTypedStream[*msg](sys)
	done := make(chan int)
	go func() {
		n := 0
		for m := range s.C() {
			if n += m.n; n == b.N {
				break
			}
		}
		done <- n
	}()
	report := countAllocs(b)
	b.ResetTimer()
	for range b.N {
		sys.Root.Send(s.PID(), payload)
	}
	n := <-done
	b.StopTimer()
	report()
	protoStop(b, s.PID())
	if n != b.N {
		b.Fatalf("read %d items; want %d", n, b.N)
	}
}

// BenchmarkStreamFloor is the least a Send of a stream that several
// goroutines may produce to can cost on this machine: one producer takes
// a lock word with a compare-and-swap, writes its item into a ring, and
// releases the lock with an atomic store that publishes the new tail
// (Go's atomic stores are full barriers: XCHG on amd64). No reader
// contends for the word and nothing else is counted, so this is a floor,
// not a stream: troupe's Send is these two instructions and its
// bookkeeping. It runs as "raw" (raw Go, no troupe code).
func BenchmarkStreamFloor(b *testing.B) {
	b.Run("raw", func(b *testing.B) {
		var j struct {
			state atomic.Uint64 // tail<<1 | 1 while a producer holds it
			_     [56]byte
			ring  [4096]*msg
		}
		report := countAllocs(b)
		b.ResetTimer()
		for i := range b.N {
			s := j.state.Load() &^ 1
			if !j.state.CompareAndSwap(s, s|1) {
				b.Fatal("lock held: one producer only")
			}
			j.ring[i&(len(j.ring)-1)] = payload
			j.state.Store(s + 2)
		}
		b.StopTimer()
		report()
		if got := j.state.Load() >> 1; got != uint64(b.N) {
			b.Fatalf("tail %d; want %d", got, b.N)
		}
	})
}
