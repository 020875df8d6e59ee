package timer

import (
	"math"
	"math/rand/v2"
	"testing"
	"testing/synctest"
	"time"
)

// TestFiresOnTime checks in fake time that a timer never fires before its
// deadline and fires within one tick after it.
func TestFiresOnTime(t *testing.T) {
	for _, tick := range []time.Duration{time.Microsecond, time.Millisecond, 7 * time.Millisecond} {
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
	t.Run("1µs", func(t *testing.T) {
		// The span at 1µs is 2^36µs ≈ 19h; the longest delay is 100 spans.
		bubble(t, 4000*time.Hour, func(t *testing.T) {
			const tick = time.Microsecond
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

// TestBeyondTickLimit: a timer stores its due tick in 48 bits, so at the
// finest ticks a long enough delay used to wrap around and fire early: at
// 1µs, AfterFunc(2^48µs + 1s) fired after one second, not 8.9 years.
func TestBeyondTickLimit(t *testing.T) {
	bubble(t, time.Hour, func(t *testing.T) {
		const tick = time.Microsecond
		w := newWheel(t, WithTick(tick))
		var fired rec[time.Duration]
		start := time.Now()
		for _, d := range []time.Duration{time.Duration(1<<48)*tick + time.Second, math.MaxInt64} {
			mustAfter(t, w, d, func() { fired.add(time.Since(start)) })
			if _, err := w.Schedule(d, func() { fired.add(time.Since(start)) }); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		if got := fired.all(); len(got) != 0 {
			t.Fatalf("timers of 8.9 years or more fired after %v", got)
		}
	})
}
