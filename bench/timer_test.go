package bench

import (
	"runtime"
	"sync"
	"syscall"
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
		report := countAllocs(b)
		for b.Loop() {
			t, err := w.AfterFunc(opDelay, nop)
			if err != nil {
				b.Fatal(err)
			}
			if !t.Stop() {
				b.Fatal("stop: timer was not pending")
			}
		}
		report()
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
		report := countAllocs(b)
		for b.Loop() {
			if err := w.Start(&own, opDelay, nopCallback{}); err != nil {
				b.Fatal(err)
			}
			if !own.Stop() {
				b.Fatal("stop: timer was not pending")
			}
		}
		report()
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
		report := countAllocs(b)
		for b.Loop() {
			h, err := w.Schedule(opDelay, nop)
			if err != nil {
				b.Fatal(err)
			}
			if !h.Stop() {
				b.Fatal("stop: timer was not pending")
			}
		}
		report()
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
	report := countAllocs(b)
	for b.Loop() {
		t := time.AfterFunc(opDelay, nop)
		if !t.Stop() {
			b.Fatal("stop: timer was not pending")
		}
	}
	report()
	b.ReportMetric(perTimer, "B/timer")
}

// The add-pending workload: pendingTimers timers are set (untimed) an
// hour away, as in TimerAddStop, then each op adds one more, due in
// addDelay, that stays pending: a server under load arms a deadline per
// request, and none has fired yet. Nothing can be recycled: no timer is
// stopped or fires within the timed loop, so Schedule's free list stays
// empty and every add pays for a fresh timer, its allocation and its
// cache misses, as time.AfterFunc does. The pending set grows from 1M to
// 2M; then, with the clock stopped, everything is dropped and 1M
// reloaded, to bound the memory whatever -benchtime. The wheel is
// dropped whole (Wheel.Stop recycles nothing) rather than its timers
// stopped one by one, which would fill Schedule's free list. B/timer is
// the live heap each pending timer adds: measured over the second half
// of the first 1M, so that it leaves out what does not grow with the
// timers (the wheel's own few KB), and, as in TimerAddStop, the caller's
// slice of references.

// addDelay is the deadline of an op's timer: earlier than every loaded
// timer, as a call timeout is (so raw Go's timer heap moves it up past
// them, as for TimerAddStop's 5 s), yet long enough that none fires in a
// round of 1M adds, even on a loaded machine.
const addDelay = time.Minute

// pendingSet is one competitor of the add-pending workload: add arms the
// i-th timer, due in d, keeping the reference a caller would keep to stop
// it; drop drops every timer it armed.
type pendingSet interface {
	add(b *testing.B, i int, d time.Duration)
	drop(b *testing.B)
}

// runAddPending times pendingSet.add with pendingTimers to
// 2*pendingTimers timers pending; reload makes a fresh set.
func runAddPending(b *testing.B, reload func() pendingSet) {
	s := reload()
	const half = pendingTimers / 2
	for i := range half {
		s.add(b, i, pendingAt(i))
	}
	before := heapBytes()
	for i := half; i < pendingTimers; i++ {
		s.add(b, i, pendingAt(i))
	}
	perTimer := float64(heapBytes()-before) / (pendingTimers - half)
	// Every timed round starts alike: after a drop and a reload, with no
	// forced collection (heapBytes settles the heap, which would spare
	// the first round the collections the others pay for), so that each
	// round's adds pay about their share of what a growing heap costs
	// the garbage collector.
	s.drop(b)
	s = reload()
	for i := range pendingTimers {
		s.add(b, i, pendingAt(i))
	}
	b.ReportAllocs()
	i, ops := pendingTimers, 0
	cpu := -cpuTime()
	for b.Loop() {
		s.add(b, i, addDelay)
		ops++
		if i++; i == 2*pendingTimers {
			b.StopTimer()
			cpu += cpuTime()
			s.drop(b)
			s = reload()
			for i = range pendingTimers {
				s.add(b, i, pendingAt(i))
			}
			i = pendingTimers
			cpu -= cpuTime()
			b.StartTimer()
		}
	}
	cpu += cpuTime()
	b.ReportMetric(perTimer, "B/timer")
	b.ReportMetric(float64(cpu)/float64(ops), "cpu-ns/op")
	s.drop(b)
}

// cpuTime returns the CPU time the process has used, on every thread:
// the garbage collector's background work included, which wall time on a
// shared machine (waiting for a core, or not) shows only in part. The
// cpu-ns/op it gives is the steadier figure to compare builds with.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// pendingAt is the delay of the i-th loaded timer of the add-pending
// workload: an hour, spread over a minute per million as in TimerAddStop.
func pendingAt(i int) time.Duration {
	return pendingDelay + time.Duration(i)*time.Microsecond*60
}

// BenchmarkTimerAddPending adds Wheel.AfterFunc timers that stay pending;
// the peer is time.AfterFunc doing the same.
func BenchmarkTimerAddPending(b *testing.B) {
	ts := make([]*timer.Timer, 2*pendingTimers)
	b.Run("troupe", func(b *testing.B) {
		runAddPending(b, func() pendingSet {
			clear(ts)
			return &afterPending{newWheelPending(b), ts}
		})
	})
	b.Run("raw", rawAddPending)
}

// BenchmarkTimerSchedulePending is TimerAddPending through Wheel.Schedule.
func BenchmarkTimerSchedulePending(b *testing.B) {
	hs := make([]timer.Handle, 2*pendingTimers)
	b.Run("troupe", func(b *testing.B) {
		runAddPending(b, func() pendingSet {
			clear(hs)
			return &schedulePending{newWheelPending(b), hs}
		})
	})
	b.Run("raw", rawAddPending)
}

// afterPending is troupe's pendingSet through Wheel.AfterFunc, and
// schedulePending through Wheel.Schedule: each calls the wheel directly,
// as the caller of time.AfterFunc does, with no func value between them.
type (
	afterPending struct {
		*wheelPending
		ts []*timer.Timer
	}
	schedulePending struct {
		*wheelPending
		hs []timer.Handle
	}
)

func (s *afterPending) add(b *testing.B, i int, d time.Duration) {
	t, err := s.w.AfterFunc(d, nop)
	if err != nil {
		b.Fatal(err)
	}
	s.ts[i] = t
	s.n++
}

func (s *schedulePending) add(b *testing.B, i int, d time.Duration) {
	h, err := s.w.Schedule(d, nop)
	if err != nil {
		b.Fatal(err)
	}
	s.hs[i] = h
	s.n++
}

// wheelPending is what troupe's pendingSets share: a fresh wheel per load
// and the count of timers armed on it.
type wheelPending struct {
	w *timer.Wheel
	n int // timers armed
}

func newWheelPending(b *testing.B) *wheelPending {
	w, err := timer.New()
	if err != nil {
		b.Fatal(err)
	}
	s := &wheelPending{w: w}
	// If a Fatal skips drop. Through s, not w: drop clears s.w, so a
	// dropped wheel (with its million timers) is not kept reachable
	// until the benchmark ends, as a Cleanup holding w kept every
	// round's, and the collector did not mark them all in later rounds.
	b.Cleanup(func() {
		if s.w != nil {
			stopWheel(s.w)
		}
	})
	return s
}

// drop checks that every timer is still pending (none fired, none was
// stopped) and stops the wheel.
func (s *wheelPending) drop(b *testing.B) {
	if got := s.w.Stop(); got != s.n {
		b.Fatalf("wheel dropped %d pending timers; want %d", got, s.n)
	}
	<-s.w.Done()
	s.w = nil
}

// rawPending is the standard library's pendingSet.
type rawPending struct{ ts []*time.Timer }

func (s *rawPending) add(_ *testing.B, i int, d time.Duration) { s.ts[i] = time.AfterFunc(d, nop) }

func (s *rawPending) drop(b *testing.B) {
	fired := 0
	for _, t := range s.ts {
		if t != nil && !t.Stop() {
			fired++
		}
	}
	clear(s.ts)
	if fired > 0 {
		b.Fatalf("%d time.Timers were no longer pending", fired)
	}
}

// rawAddPending is the standard library's side of the add-pending
// workloads: time.AfterFunc timers that stay pending.
func rawAddPending(b *testing.B) {
	s := &rawPending{ts: make([]*time.Timer, 2*pendingTimers)}
	runAddPending(b, func() pendingSet { return s })
}

// BenchmarkTimerFloor is the least arming a timer can cost on this
// machine, whoever arms it: one read of the monotonic clock (a timer is
// due d after now, so now must be read: time.AfterFunc reads it too)
// and one uncontended lock and unlock of a sync.Mutex (the timers are
// shared by every goroutine: the runtime's timer heap takes a lock too).
// Nothing else is counted, so this is a floor, not a timer: Wheel.AfterFunc
// and Wheel.Schedule are these and their placement. It runs as "raw" (raw
// Go, no troupe code). On the 2-core VMs of bench/RESULTS.md the clock
// read alone costs about 50 ns.
func BenchmarkTimerFloor(b *testing.B) {
	b.Run("raw", func(b *testing.B) {
		var (
			mu    sync.Mutex
			start = time.Now()
			when  time.Duration
		)
		report := countAllocs(b)
		for b.Loop() {
			now := time.Since(start)
			mu.Lock()
			when = now + addDelay
			mu.Unlock()
		}
		report()
		if when <= addDelay {
			b.Fatal("the clock did not move")
		}
	})
}
