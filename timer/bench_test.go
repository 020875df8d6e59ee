package timer

import (
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// pendingN timers are pending in the wheel (or the runtime) before every
// timed loop, as in a busy actor system.
const pendingN = 1_000_000

func noop() {}

// pendingDelay spreads the background timers over an hour and more, so
// that none fires during a benchmark.
func pendingDelay(i int) time.Duration {
	return time.Hour + time.Duration(i%65536)*50*time.Millisecond
}

// heapAlloc returns the live heap after a full collection.
func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// loadWheel adds pendingN timers to w, keeping them in ts (allocated by
// the caller), and returns the heap bytes per pending timer.
func loadWheel(b *testing.B, w *Wheel, ts []*Timer) float64 {
	before := heapAlloc()
	for i := range ts {
		t, err := w.AfterFunc(pendingDelay(i), noop)
		if err != nil {
			b.Fatal(err)
		}
		ts[i] = t
	}
	return float64(heapAlloc()-before) / float64(len(ts))
}

// loadStdlib is loadWheel for time.AfterFunc.
func loadStdlib(ts []*time.Timer) float64 {
	before := heapAlloc()
	for i := range ts {
		ts[i] = time.AfterFunc(pendingDelay(i), noop)
	}
	return float64(heapAlloc()-before) / float64(len(ts))
}

// stopWheel stops w and waits for its driver to exit.
func stopWheel(w *Wheel) {
	w.Stop()
	<-w.Done()
}

func stopStdlib(ts []*time.Timer) {
	for _, t := range ts {
		t.Stop()
	}
}

// BenchmarkAddStop schedules and stops a timer per op, with a million
// pending, and reports the heap bytes per pending timer.
func BenchmarkAddStop(b *testing.B) {
	b.Run("wheel", func(b *testing.B) {
		w, _ := New()
		defer stopWheel(w)
		perTimer := loadWheel(b, w, make([]*Timer, pendingN))
		b.ReportAllocs()
		for b.Loop() {
			t, _ := w.AfterFunc(time.Second, noop)
			t.Stop()
		}
		b.ReportMetric(perTimer, "B/timer")
	})
	b.Run("stdlib", func(b *testing.B) {
		ts := make([]*time.Timer, pendingN)
		perTimer := loadStdlib(ts)
		defer stopStdlib(ts)
		b.ReportAllocs()
		for b.Loop() {
			t := time.AfterFunc(time.Second, noop)
			t.Stop()
		}
		b.ReportMetric(perTimer, "B/timer")
	})
}

// BenchmarkAddStopParallel is BenchmarkAddStop from GOMAXPROCS goroutines.
func BenchmarkAddStopParallel(b *testing.B) {
	b.Run("wheel", func(b *testing.B) {
		w, _ := New()
		defer stopWheel(w)
		loadWheel(b, w, make([]*Timer, pendingN))
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				t, _ := w.AfterFunc(time.Second, noop)
				t.Stop()
			}
		})
	})
	b.Run("stdlib", func(b *testing.B) {
		ts := make([]*time.Timer, pendingN)
		loadStdlib(ts)
		defer stopStdlib(ts)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				t := time.AfterFunc(time.Second, noop)
				t.Stop()
			}
		})
	})
}

// BenchmarkReset moves a pending timer's deadline, with a million pending.
func BenchmarkReset(b *testing.B) {
	b.Run("wheel", func(b *testing.B) {
		w, _ := New()
		defer stopWheel(w)
		loadWheel(b, w, make([]*Timer, pendingN))
		t, _ := w.AfterFunc(time.Second, noop)
		b.ReportAllocs()
		for b.Loop() {
			t.Reset(time.Second)
		}
	})
	b.Run("stdlib", func(b *testing.B) {
		ts := make([]*time.Timer, pendingN)
		loadStdlib(ts)
		defer stopStdlib(ts)
		t := time.AfterFunc(time.Second, noop)
		defer t.Stop()
		b.ReportAllocs()
		for b.Loop() {
			t.Reset(time.Second)
		}
	})
}

// BenchmarkFire schedules a timer due on the next tick per op and, every
// 4096 ops, waits for the callbacks to have run: the throughput of
// scheduling and firing, with a million pending.
func BenchmarkFire(b *testing.B) {
	const batch = 4096
	wait := func(fired *atomic.Int64, n int64) {
		for fired.Load() < n {
			runtime.Gosched()
		}
	}
	b.Run("wheel", func(b *testing.B) {
		w, _ := New()
		defer stopWheel(w)
		loadWheel(b, w, make([]*Timer, pendingN))
		var fired atomic.Int64
		f := func() { fired.Add(1) }
		var n int64
		b.ReportAllocs()
		for b.Loop() {
			w.AfterFunc(0, f)
			if n++; n%batch == 0 {
				wait(&fired, n)
			}
		}
		wait(&fired, n)
	})
	b.Run("stdlib", func(b *testing.B) {
		ts := make([]*time.Timer, pendingN)
		loadStdlib(ts)
		defer stopStdlib(ts)
		var fired atomic.Int64
		f := func() { fired.Add(1) }
		var n int64
		b.ReportAllocs()
		for b.Loop() {
			time.AfterFunc(0, f)
			if n++; n%batch == 0 {
				wait(&fired, n)
			}
		}
		wait(&fired, n)
	})
}
