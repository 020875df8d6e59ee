package timer

import (
	"errors"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
	"unsafe"

	"go.uber.org/goleak"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
		err  error
	}{
		{name: "defaults"},
		{name: "tick", opts: []Option{WithTick(time.Microsecond)}},
		{name: "nil panic handler", opts: []Option{WithPanicHandler(nil)}},
		{name: "zero tick", opts: []Option{WithTick(0)}, err: ErrInvalidOption},
		{name: "negative tick", opts: []Option{WithTick(-time.Second)}, err: ErrInvalidOption},
		{name: "nil option", opts: []Option{nil}, err: ErrInvalidOption},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := New(tt.opts...)
			if !errors.Is(err, tt.err) {
				t.Fatalf("New: got error %v; want %v", err, tt.err)
			}
			if err == nil {
				w.Stop()
			} else if w != nil {
				t.Fatalf("New: got a wheel with error %v", err)
			}
		})
	}
}

func TestTimerSize(t *testing.T) {
	if got := unsafe.Sizeof(Timer{}); got > 64 {
		t.Fatalf("Timer is %d bytes; want at most 64", got)
	}
}

func TestAllocs(t *testing.T) {
	w := newWheel(t)
	f := func() {}
	tm := mustAfter(t, w, time.Hour, f)
	tests := []struct {
		name string
		want float64
		op   func()
	}{
		{"AfterFunc+Stop", 1, func() {
			t, _ := w.AfterFunc(time.Hour, f)
			t.Stop()
		}},
		{"Reset", 0, func() { tm.Reset(time.Hour) }},
		{"Stop", 0, func() { tm.Stop() }},
		{"Len", 0, func() { w.Len() }},
	}
	for _, tt := range tests {
		if got := testing.AllocsPerRun(100, tt.op); got != tt.want {
			t.Errorf("%s: got %v allocs; want %v", tt.name, got, tt.want)
		}
	}
}

// driverRunning reports whether a wheel driver goroutine exists.
func driverRunning() bool {
	buf := make([]byte, 1<<20)
	return strings.Contains(string(buf[:runtime.Stack(buf, true)]), "timer.(*Wheel).run")
}

func TestGoroutineLifecycle(t *testing.T) {
	before := goleak.IgnoreCurrent()
	w, err := New()
	if err != nil {
		t.Fatal(err)
	}
	if err := goleak.Find(before); err != nil {
		t.Fatalf("New started a goroutine: %v", err)
	}
	if w.Len() != 0 || w.Stop() != 0 {
		t.Fatalf("idle wheel: got Len %d; want 0", w.Len())
	}

	w, _ = New()
	tm := mustAfter(t, w, time.Hour, func() {})
	if !driverRunning() {
		t.Fatalf("no driver goroutine after the first AfterFunc")
	}
	tm.Stop()
	if got := w.Stop(); got != 0 {
		t.Fatalf("Stop: got %d; want 0", got)
	}
	if err := goleak.Find(before); err != nil {
		t.Fatalf("driver still running after Stop: %v", err)
	}
}

func TestIdleDriverBlocksOnChannel(t *testing.T) {
	w := newWheel(t)
	done := make(chan struct{})
	mustAfter(t, w, 0, func() { close(done) })
	<-done
	// With nothing pending, the driver waits on its wake channel alone:
	// no ticker, no timer, no select.
	deadline := time.Now().Add(5 * time.Second)
	for {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		for g := range strings.SplitSeq(stacks, "\n\n") {
			if strings.Contains(g, "timer.(*sleeper).sleep") && strings.Contains(g, "[chan receive") {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("driver not blocked on a channel receive:\n%s", stacks)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestAfterFuncErrors(t *testing.T) {
	w := newWheel(t)
	if tm, err := w.AfterFunc(time.Second, nil); !errors.Is(err, ErrNilFunc) || tm != nil {
		t.Fatalf("AfterFunc(nil): got %v, %v; want nil, %v", tm, err, ErrNilFunc)
	}
	w.Stop()
	if tm, err := w.AfterFunc(time.Second, func() {}); !errors.Is(err, ErrStopped) || tm != nil {
		t.Fatalf("AfterFunc after Stop: got %v, %v; want nil, %v", tm, err, ErrStopped)
	}
}

// TestFiresOnTime checks in fake time that a timer never fires before its
// deadline and fires within one tick after it.
func TestFiresOnTime(t *testing.T) {
	for _, tick := range []time.Duration{time.Nanosecond, time.Microsecond, time.Millisecond, 7 * time.Millisecond} {
		t.Run(tick.String(), func(t *testing.T) {
			bubble(t, 2<<30*tick+2*time.Hour, func(t *testing.T) {
				w := newWheel(t, WithTick(tick))
				// Start off a tick boundary.
				time.Sleep(tick / 3)
				delays := []time.Duration{1, tick - 1, tick, tick + 1, 63 * tick, 64 * tick, 65 * tick,
					4095 * tick, 4096 * tick, 4097 * tick, 1<<30*tick + 5, time.Hour}
				for range 200 {
					delays = append(delays, time.Duration(rand.Int64N(int64(100*time.Second))))
				}
				checkFires(t, w, tick, delays)
			})
		})
	}
}

// checkFires schedules a timer for each delay and checks when each fires.
func checkFires(t *testing.T, w *Wheel, tick time.Duration, delays []time.Duration) {
	t.Helper()
	for _, d := range delays {
		deadline := time.Now().Add(max(d, 1)) // d <= 0: the next tick
		mustAfter(t, w, d, func() {
			now := time.Now()
			if now.Before(deadline) {
				t.Errorf("delay %v: fired %v early", d, deadline.Sub(now))
			} else if late := now.Sub(deadline); late >= tick {
				t.Errorf("delay %v: fired %v late; want less than a tick (%v)", d, late, tick)
			}
		})
	}
	var longest time.Duration
	for _, d := range delays {
		longest = max(longest, d)
	}
	time.Sleep(longest + tick)
	synctest.Wait()
	if n := w.Len(); n != 0 {
		t.Fatalf("Len after the longest delay: got %d; want 0", n)
	}
}

func TestZeroAndNegativeDelay(t *testing.T) {
	bubble(t, time.Hour, func(t *testing.T) {
		const tick = time.Millisecond
		w := newWheel(t, WithTick(tick))
		for _, offset := range []time.Duration{0, tick / 2} {
			time.Sleep(offset)
			for _, d := range []time.Duration{0, -1, -time.Hour} {
				start := time.Now()
				var at rec[time.Time]
				mustAfter(t, w, d, func() { at.add(time.Now()) })
				time.Sleep(2 * tick)
				// The next tick boundary strictly after start.
				want := start.Truncate(tick).Add(tick)
				if got := at.all(); len(got) != 1 || !got[0].Equal(want) {
					t.Errorf("offset %v delay %v: fired at %v; want once at %v", offset, d, got, want)
				}
			}
		}
	})
}

// TestBeyondSpan checks delays longer than the whole wheel (2^36 ticks):
// 68.7s at a 1ns tick, about 795 days at the default 1ms.
func TestBeyondSpan(t *testing.T) {
	t.Run("1ns", func(t *testing.T) {
		bubble(t, 1000*time.Hour, func(t *testing.T) {
			const tick = time.Nanosecond
			span := time.Duration(1<<36) * tick
			w := newWheel(t, WithTick(tick))
			time.Sleep(12345)
			delays := []time.Duration{span - 1, span, span + 1, 2*span + 17, 5*span + span/2, 100 * span}
			for range 100 {
				delays = append(delays, time.Duration(rand.Int64N(int64(20*span))))
			}
			checkFires(t, w, tick, delays)
		})
	})
	t.Run("1ms", func(t *testing.T) {
		bubble(t, 10*365*24*time.Hour, func(t *testing.T) {
			w := newWheel(t)
			checkFires(t, w, time.Millisecond, []time.Duration{800 * 24 * time.Hour, 3 * 365 * 24 * time.Hour})
		})
	})
}

// TestCascadeRandom checks many random delays on every level, in fake time.
func TestCascadeRandom(t *testing.T) {
	bubble(t, 1000*time.Hour, func(t *testing.T) {
		const tick = time.Microsecond
		w := newWheel(t, WithTick(tick))
		n := 5000
		if testing.Short() {
			n = 1000
		}
		var delays []time.Duration
		for i := range n {
			lvl := i % (numLevels + 1) // the last: up to 4 spans
			bits := 6 * (lvl + 1)
			if lvl == numLevels {
				bits = 6*numLevels + 2
			}
			delays = append(delays, time.Duration(rand.Int64N(int64(tick)<<bits)))
		}
		// Interleave with the passing of time, so timers are placed
		// from many current ticks.
		for chunk := range 10 {
			for _, d := range delays[chunk*n/10 : (chunk+1)*n/10] {
				deadline := time.Now().Add(max(d, 1)) // d <= 0: the next tick
				mustAfter(t, w, d, func() {
					if now := time.Now(); now.Before(deadline) || now.Sub(deadline) >= tick {
						t.Errorf("delay %v: fired at %v from the deadline", d, now.Sub(deadline))
					}
				})
			}
			time.Sleep(time.Duration(rand.Int64N(int64(time.Second))))
		}
		time.Sleep(time.Duration(1<<39) * tick)
		synctest.Wait()
		if got := w.Len(); got != 0 {
			t.Fatalf("Len: got %d; want 0", got)
		}
	})
}

func TestWakesForEarlierTimer(t *testing.T) {
	bubble(t, 10*time.Hour, func(t *testing.T) {
		w := newWheel(t)
		start := time.Now()
		mustAfter(t, w, time.Hour, func() {})
		synctest.Wait() // the driver sleeps for an hour
		var at rec[time.Duration]
		mustAfter(t, w, 5*time.Millisecond, func() { at.add(time.Since(start)) })
		time.Sleep(10 * time.Millisecond)
		if got := at.all(); len(got) != 1 || got[0] != 5*time.Millisecond {
			t.Fatalf("fired at %v; want [5ms]", got)
		}
	})
}

func TestStop(t *testing.T) {
	bubble(t, time.Hour, func(t *testing.T) {
		w := newWheel(t)
		var fired atomic.Int32
		tm := mustAfter(t, w, time.Second, func() { fired.Add(1) })
		if w.Len() != 1 {
			t.Fatalf("Len: got %d; want 1", w.Len())
		}
		if !tm.Stop() {
			t.Fatalf("first Stop: got false; want true")
		}
		if tm.Stop() {
			t.Fatalf("second Stop: got true; want false")
		}
		if w.Len() != 0 {
			t.Fatalf("Len after Stop: got %d; want 0", w.Len())
		}
		tm2 := mustAfter(t, w, time.Second, func() { fired.Add(10) })
		time.Sleep(2 * time.Second)
		if got := fired.Load(); got != 10 {
			t.Fatalf("fired: got %d; want 10 (only the second timer)", got)
		}
		if tm2.Stop() {
			t.Fatalf("Stop after fire: got true; want false")
		}
	})
}

func TestReset(t *testing.T) {
	bubble(t, time.Hour, func(t *testing.T) {
		w := newWheel(t)
		start := time.Now()
		var fires rec[time.Duration]
		tm := mustAfter(t, w, time.Second, func() { fires.add(time.Since(start)) })

		if !tm.Reset(3 * time.Second) { // pending: true, deadline moves
			t.Fatalf("Reset of a pending timer: got false; want true")
		}
		time.Sleep(2 * time.Second)
		if got := fires.all(); len(got) != 0 {
			t.Fatalf("fired at %v; want at 3s after Reset", got)
		}
		time.Sleep(2 * time.Second)
		if tm.Reset(time.Second) { // fired: false, re-armed
			t.Fatalf("Reset after fire: got true; want false")
		}
		time.Sleep(2 * time.Second)
		if got := fires.all(); len(got) != 2 {
			t.Fatalf("fires: got %v; want [3s 5s]", got)
		}
		tm.Reset(time.Second)
		tm.Stop()
		if tm.Reset(time.Second) { // stopped: false, re-armed
			t.Fatalf("Reset after Stop: got true; want false")
		}
		time.Sleep(2 * time.Second)
		want := []time.Duration{3 * time.Second, 5 * time.Second, 7 * time.Second}
		if got := fires.all(); !slices.Equal(got, want) {
			t.Fatalf("fires: got %v; want %v", got, want)
		}
		tm.Reset(time.Second)
		if got := w.Stop(); got != 1 {
			t.Fatalf("wheel Stop: got %d; want 1", got)
		}
		if tm.Reset(time.Second) { // stopped wheel: false, nothing
			t.Fatalf("Reset on a stopped wheel: got true; want false")
		}
		if w.Len() != 0 || tm.Stop() {
			t.Fatalf("Reset on a stopped wheel re-armed the timer")
		}
	})
}

func TestPanicRecovered(t *testing.T) {
	bubble(t, time.Hour, func(t *testing.T) {
		var seen rec[any]
		w := newWheel(t, WithPanicHandler(seen.add))
		var fired rec[int]
		mustAfter(t, w, time.Millisecond, func() { fired.add(1) })
		mustAfter(t, w, 2*time.Millisecond, func() { panic("boom") })
		mustAfter(t, w, 2*time.Millisecond, func() { fired.add(2) })
		mustAfter(t, w, 3*time.Millisecond, func() { panic(errors.New("bang")) })
		mustAfter(t, w, 4*time.Millisecond, func() { fired.add(4) })
		time.Sleep(10 * time.Millisecond)
		if got := seen.all(); w.Panics() != 2 || len(got) != 2 || got[0] != "boom" {
			t.Fatalf("panics: got %d, handler saw %v; want 2, [boom bang]", w.Panics(), got)
		}
		if got := fired.all(); !slices.Equal(got, []int{1, 2, 4}) {
			t.Fatalf("fired: got %v; want [1 2 4]", got)
		}
	})
}

func TestPanicWithoutHandlerCounted(t *testing.T) {
	bubble(t, time.Hour, func(t *testing.T) {
		w := newWheel(t)
		mustAfter(t, w, 0, func() { panic(nil) }) // a *runtime.PanicNilError
		time.Sleep(time.Second)
		if got := w.Panics(); got != 1 {
			t.Fatalf("Panics: got %d; want 1", got)
		}
	})
}

func TestWheelStop(t *testing.T) {
	bubble(t, time.Hour, func(t *testing.T) {
		before := goleak.IgnoreCurrent()
		w := newWheel(t)
		var fired atomic.Int32
		var timers []*Timer
		for i := range 100 {
			timers = append(timers, mustAfter(t, w, time.Duration(i)*time.Second, func() { fired.Add(1) }))
		}
		time.Sleep(10*time.Second + time.Millisecond) // 0s..10s have fired
		if got := w.Stop(); got != 89 {
			t.Fatalf("Stop: got %d; want 89", got)
		}
		if err := goleak.Find(before); err != nil {
			t.Fatalf("driver still running after Stop: %v", err)
		}
		if got := w.Stop(); got != 0 {
			t.Fatalf("second Stop: got %d; want 0", got)
		}
		time.Sleep(time.Hour / 2)
		if got := fired.Load(); got != 11 {
			t.Fatalf("fired: got %d; want 11", got)
		}
		for _, tm := range timers {
			if tm.Stop() {
				t.Fatalf("Timer.Stop after wheel Stop: got true; want false")
			}
		}
		if _, err := w.AfterFunc(0, func() {}); !errors.Is(err, ErrStopped) {
			t.Fatalf("AfterFunc after Stop: got %v; want %v", err, ErrStopped)
		}
		if w.Len() != 0 {
			t.Fatalf("Len after Stop: got %d; want 0", w.Len())
		}
	})
}

func TestStopFromCallback(t *testing.T) {
	bubble(t, time.Hour, func(t *testing.T) {
		before := goleak.IgnoreCurrent()
		w := newWheel(t)
		var dropped atomic.Int64
		var after rec[string]
		mustAfter(t, w, time.Millisecond, func() {
			dropped.Store(int64(w.Stop())) // must not wait for its own goroutine
			if _, err := w.AfterFunc(0, func() {}); !errors.Is(err, ErrStopped) {
				t.Errorf("AfterFunc in callback after Stop: got %v; want %v", err, ErrStopped)
			}
		})
		// Due at the same tick: already taken out to run, so it runs.
		mustAfter(t, w, time.Millisecond, func() { after.add("same tick") })
		mustAfter(t, w, time.Second, func() { after.add("later") })
		time.Sleep(time.Hour / 2)
		synctest.Wait()
		if got := after.all(); dropped.Load() != 1 || len(got) != 1 {
			t.Fatalf("Stop in callback: dropped %d, ran %v; want 1, [same tick]", dropped.Load(), got)
		}
		if err := goleak.Find(before); err != nil {
			t.Fatalf("driver still running: %v", err)
		}
	})
}

func TestCallbacksUseTheWheel(t *testing.T) {
	bubble(t, time.Hour, func(t *testing.T) {
		w := newWheel(t)
		start := time.Now()
		var log rec[string]
		var victim, periodic *Timer
		var count int
		victim = mustAfter(t, w, 10*time.Millisecond, func() { log.add("victim") })
		mustAfter(t, w, time.Millisecond, func() {
			log.add("stopper")
			if !victim.Stop() {
				t.Errorf("Stop from a callback: got false; want true")
			}
			// Chain: add from inside a callback.
			mustAfter(t, w, time.Millisecond, func() { log.add("chained") })
		})
		var mu sync.Mutex
		mu.Lock()
		periodic = mustAfter(t, w, 5*time.Millisecond, func() {
			mu.Lock()
			defer mu.Unlock()
			count++
			if count < 3 {
				periodic.Reset(5 * time.Millisecond) // re-arm itself
			}
		})
		mu.Unlock()
		time.Sleep(time.Second)
		if got := log.all(); !slices.Equal(got, []string{"stopper", "chained"}) {
			t.Fatalf("log: got %v; want [stopper chained]", got)
		}
		mu.Lock()
		defer mu.Unlock()
		if count != 3 || time.Since(start) < 15*time.Millisecond {
			t.Fatalf("periodic: got %d fires; want 3", count)
		}
	})
}

func TestZeroValuesPanic(t *testing.T) {
	tests := []struct {
		name string
		f    func()
	}{
		{"Wheel.AfterFunc", func() { new(Wheel).AfterFunc(0, func() {}) }},
		{"Timer.Stop", func() { new(Timer).Stop() }},
		{"Timer.Reset", func() { new(Timer).Reset(0) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				v, ok := recover().(string)
				if !ok || !strings.HasPrefix(v, "timer: ") {
					t.Fatalf("got panic %q; want one prefixed %q", v, "timer: ")
				}
			}()
			tt.f()
		})
	}
}
