package actor_test

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

type sink struct {
	n    atomic.Int64
	want int64
	done chan struct{}
}

type ping struct{}

var Ping = actor.NewMethod("ping", func(s *sink, _ *actor.Ctx, _ *ping) (struct{}, error) {
	if s.n.Add(1) == s.want {
		close(s.done)
	}
	return struct{}{}, nil
})

var Echo = actor.NewMethod("echo", func(s *sink, _ *actor.Ctx, v int) (int, error) { return v, nil })

// BenchmarkCast is oneway throughput, 1 sender → 1 actor: ns per message,
// waiting for the actor to process every one.
func BenchmarkCast(b *testing.B) {
	for _, senders := range []int{1, 8} {
		b.Run(map[int]string{1: "1sender", 8: "8senders"}[senders], func(b *testing.B) {
			rt := newRuntime(b)
			s := &sink{want: int64(b.N), done: make(chan struct{})}
			ref, _ := actor.Spawn(rt, s)
			msg := &ping{}
			b.ReportAllocs()
			b.ResetTimer()
			var wg sync.WaitGroup
			per := b.N / senders
			for g := 0; g < senders; g++ {
				n := per
				if g == 0 {
					n += b.N % senders
				}
				wg.Go(func() {
					for i := 0; i < n; i++ {
						_ = Ping.Cast(ref, msg)
					}
				})
			}
			wg.Wait()
			<-s.done
		})
	}
}

// BenchmarkCall is the sync round trip, with a ctx deadline as users run it.
func BenchmarkCall(b *testing.B) {
	rt := newRuntime(b)
	ref, _ := actor.Spawn(rt, &sink{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Echo.Call(ctx, ref, 1); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCallDefaultTimeout: no deadline on ctx, the runtime's default
// (on the timer wheel) applies.
func BenchmarkCallDefaultTimeout(b *testing.B) {
	rt := newRuntime(b)
	ref, _ := actor.Spawn(rt, &sink{})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Echo.Call(context.Background(), ref, 1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSpawnStop(b *testing.B) {
	rt := newRuntime(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		ref, err := actor.Spawn(rt, &sink{})
		if err != nil {
			b.Fatal(err)
		}
		if err := ref.Stop(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkIdleActor reports the heap bytes of an idle actor (B/actor) and
// checks it costs no goroutine.
func BenchmarkIdleActor(b *testing.B) {
	const n = 10_000
	rt, err := troupe.New()
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close()
	b.ReportAllocs()
	var per float64
	for b.Loop() {
		refs := make([]*actor.Ref[*sink], n)
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		g0 := runtime.NumGoroutine()
		for i := range refs {
			refs[i], _ = actor.Spawn(rt, &sink{})
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		if g := runtime.NumGoroutine(); g > g0 {
			b.Fatalf("%d goroutines for %d idle actors; want none", g-g0, n)
		}
		per = float64(after.HeapAlloc-before.HeapAlloc) / n
		b.StopTimer()
		for _, r := range refs {
			r.Kill()
		}
		for _, r := range refs {
			<-r.Done()
		}
		b.StartTimer()
		runtime.KeepAlive(refs)
	}
	b.ReportMetric(per, "B/actor")
}
