package bench

import (
	"runtime"
	"testing"
	"time"

	"github.com/troupe-go/troupe/timer"
)

// The timer workload: pendingTimers timers are set (untimed) far in the
// future, then one op adds one more timer and stops it, as a call timeout
// or an idle timeout that did not fire does. B/timer is the memory each
// pending timer holds (live heap after a GC, callback included).
// protoactor-go has no timer facility of its own (its scheduler package
// wraps time.AfterFunc), so the peer is the standard library.
const pendingTimers = 1_000_000

// pendingDelay keeps the pending timers from firing during the benchmark;
// opDelay is a typical call timeout.
const (
	pendingDelay = time.Hour
	opDelay      = timeout
)

func nop() {}

func BenchmarkTimerAddStop(b *testing.B) {
	b.Run("troupe", func(b *testing.B) {
		w, err := timer.New()
		if err != nil {
			b.Fatal(err)
		}
		defer stopWheel(w)
		ts := make([]*timer.Timer, pendingTimers)
		before := heapBytes()
		for i := range ts {
			// Spread over a minute so the timers fill many slots.
			if ts[i], err = w.AfterFunc(pendingDelay+time.Duration(i)*time.Microsecond*60, nop); err != nil {
				b.Fatal(err)
			}
		}
		perTimer := float64(heapBytes()-before) / pendingTimers
		runtime.KeepAlive(ts) // measured with the timers' slice, as for raw Go
		b.ReportAllocs()
		for b.Loop() {
			t, err := w.AfterFunc(opDelay, nop)
			if err != nil {
				b.Fatal(err)
			}
			if !t.Stop() {
				b.Fatal("stop: timer was not pending")
			}
		}
		b.ReportMetric(perTimer, "B/timer")
		if n := w.Len(); n != pendingTimers {
			b.Fatalf("pending: got %d; want %d", n, pendingTimers)
		}
	})
	b.Run("raw", rawAfterFuncAddStop)
}

// BenchmarkTimerStartStop is TimerAddStop with the timer embedded in the
// caller's own struct (Wheel.Start), as troupe's sync calls arm their
// deadline: no allocation per add. The peer is the same time.AfterFunc.
func BenchmarkTimerStartStop(b *testing.B) {
	b.Run("troupe", func(b *testing.B) {
		w, err := timer.New()
		if err != nil {
			b.Fatal(err)
		}
		defer stopWheel(w)
		before := heapBytes() // the timers live in this slice: count it
		ts := make([]timer.Timer, pendingTimers)
		for i := range ts {
			if err := w.Start(&ts[i], pendingDelay+time.Duration(i)*time.Microsecond*60, nopCallback{}); err != nil {
				b.Fatal(err)
			}
		}
		perTimer := float64(heapBytes()-before) / pendingTimers
		var own timer.Timer
		b.ReportAllocs()
		for b.Loop() {
			if err := w.Start(&own, opDelay, nopCallback{}); err != nil {
				b.Fatal(err)
			}
			if !own.Stop() {
				b.Fatal("stop: timer was not pending")
			}
		}
		b.ReportMetric(perTimer, "B/timer")
		runtime.KeepAlive(ts)
	})
	b.Run("raw", rawAfterFuncAddStop)
}

// BenchmarkTimerScheduleStop is TimerAddStop through Wheel.Schedule: no
// Timer of the caller's, a Handle back, and the wheel recycles its timers
// (no allocation in steady state). The 1M pending timers are Schedule's
// too, so B/timer is what a pending pooled timer costs. The peer is the
// same time.AfterFunc.
func BenchmarkTimerScheduleStop(b *testing.B) {
	b.Run("troupe", func(b *testing.B) {
		w, err := timer.New()
		if err != nil {
			b.Fatal(err)
		}
		defer stopWheel(w)
		hs := make([]timer.Handle, pendingTimers)
		before := heapBytes()
		for i := range hs {
			if hs[i], err = w.Schedule(pendingDelay+time.Duration(i)*time.Microsecond*60, nop); err != nil {
				b.Fatal(err)
			}
		}
		perTimer := float64(heapBytes()-before) / pendingTimers
		runtime.KeepAlive(hs)
		b.ReportAllocs()
		for b.Loop() {
			h, err := w.Schedule(opDelay, nop)
			if err != nil {
				b.Fatal(err)
			}
			if !h.Stop() {
				b.Fatal("stop: timer was not pending")
			}
		}
		b.ReportMetric(perTimer, "B/timer")
	})
	b.Run("raw", rawAfterFuncAddStop)
}

// stopWheel stops w and waits for its driver goroutine to exit: Stop
// never waits, Done is closed once the driver is gone.
func stopWheel(w *timer.Wheel) {
	w.Stop()
	<-w.Done()
}

// nopCallback is a timer.Callback that does nothing (a zero-size value:
// no allocation as an interface).
type nopCallback struct{}

func (nopCallback) Fire() {}

// rawAfterFuncAddStop is the standard library's side of both timer
// workloads: 1M pending time.AfterFunc timers, then AfterFunc+Stop pairs.
func rawAfterFuncAddStop(b *testing.B) {
	ts := make([]*time.Timer, pendingTimers)
	before := heapBytes()
	for i := range ts {
		ts[i] = time.AfterFunc(pendingDelay+time.Duration(i)*time.Microsecond*60, nop)
	}
	perTimer := float64(heapBytes()-before) / pendingTimers
	defer func() {
		for _, t := range ts {
			t.Stop()
		}
	}()
	b.ReportAllocs()
	for b.Loop() {
		t := time.AfterFunc(opDelay, nop)
		if !t.Stop() {
			b.Fatal("stop: timer was not pending")
		}
	}
	b.ReportMetric(perTimer, "B/timer")
}
