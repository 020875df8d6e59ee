package scheduler

import (
	"fmt"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// CPU-bound turns never grow the loops beyond base + WithMaxExtra, and the
// runtime's goroutine counts keep the watchdog from adding any while every
// P runs one. Every loop spins in a turn that never completes and 40
// turns wait: to the old watchdog that is a stall, and it started one loop
// per waiting turn at each check (235 loops for 40 tasks on 4 CPUs).
//
// In a bubble the stall timer cannot fire while turns burn CPU (fake time
// stands still until every goroutine blocks), so the test runs the
// watchdog's check by hand, as its timer would every stallCheck.
func TestCPUBoundTurnsStayCapped(t *testing.T) {
	for _, extra := range []int{2, 1000} {
		t.Run(fmt.Sprintf("max extra %d", extra), func(t *testing.T) {
			if extra > 40 && !probeSupported() {
				t.Skip("runtime without goroutine-state metrics (Go 1.26): the cap alone bounds the watchdog")
			}
			synctest.Test(t, func(t *testing.T) {
				s := newSched(t, WithMaxExtra(extra)) // base GOMAXPROCS
				var stop atomic.Bool
				t.Cleanup(func() { stop.Store(true) })
				var busy, most atomic.Int64
				for range s.base + 40 {
					schedule(t, s, funcRunner(func() {
						busy.Add(1)
						noteMax(&most, s.Running())
						for !stop.Load() {
						}
					}))
				}
				for busy.Load() < int64(s.base) {
					runtime.Gosched()
				}
				if _, _, watching := s.state(); !watching {
					t.Fatal("watchdog not armed with every loop busy and turns waiting")
				}
				for range 100 {
					s.check()
					noteMax(&most, s.Running())
				}
				stop.Store(true)
				s.Close()
				// The cap holds whatever the probe says; the probe should
				// keep the loops at base, but its counts are approximate
				// (a goroutine between P and run queue counts in neither),
				// so allow a few.
				if got, limit := int(most.Load()), s.base+min(extra, 4); got > limit {
					t.Errorf("loops reached %d; want <= %d (base %d, cap %d)", got, limit, s.base, extra)
				}
			})
		})
	}
}

// probeSupported reports whether the runtime has the metrics the watchdog
// reads to tell busy loops from blocked ones.
func probeSupported() bool {
	for _, d := range metrics.All() {
		if d.Name == "/sched/goroutines/running:goroutines" {
			return true
		}
	}
	return false
}

// Unknown blocking (a turn waiting on a channel without Block) still gets
// extra loops, up to the cap and no further; cap 0 turns the watchdog off.
// Without the cap (the old watchdog) all 12 turns would run at once. The
// stall timer fires here, so the Ps are reported idle by hook (testHooks);
// TestProbeSeesBlockedLoops checks that the runtime reports them so.
func TestUnknownBlockingCapped(t *testing.T) {
	for _, extra := range []int{0, 1, 3} {
		t.Run(fmt.Sprintf("max extra %d", extra), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := newSched(t, WithPoolSize(2), WithMaxExtra(extra), withIdleProcs())
				release, open := newGate(t)
				var started atomic.Int64
				for range 12 {
					schedule(t, s, funcRunner(func() {
						started.Add(1)
						<-release
					}))
				}
				time.Sleep(100 * stallCheck) // 100 stall checks, were they needed
				synctest.Wait()
				want := s.base + extra
				if got := s.Running(); got != want {
					t.Errorf("loops = %d; want %d (base %d + cap %d)", got, want, s.base, extra)
				}
				if got := started.Load(); got != int64(want) {
					t.Errorf("turns started = %d; want %d", got, want)
				}
				if _, _, watching := s.state(); watching {
					t.Error("watchdog still armed at its cap; want stopped")
				}
				open()
				s.Close()
				if got := started.Load(); got != 12 {
					t.Errorf("turns run = %d; want 12", got)
				}
			})
		})
	}
}

// The runtime's counts tell loops that wait in handlers from busy ones
// (TestCPUBoundTurnsStayCapped has the busy side): with every loop blocked
// on a channel and turns waiting, a check finds idle Ps and starts loops.
// Fails if the probe reads blocked loops as busy. The check runs by hand
// on the bubble's main goroutine, where the counts are the machine's.
func TestProbeSeesBlockedLoops(t *testing.T) {
	if !probeSupported() {
		t.Skip("runtime without goroutine-state metrics (Go 1.26)")
	}
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, WithPoolSize(2))
		release, open := newGate(t)
		for range 12 {
			schedule(t, s, funcRunner(func() { <-release }))
		}
		// A goroutine outside the bubble may be runnable at a reading,
		// for a few dozen yields, taking the only P with GOMAXPROCS=1:
		// the probe then rightly sees no idle P. Let it run and retry
		// (the watchdog retries a millisecond later). On a loaded machine,
		// or after earlier runs whose pools are still winding down, that
		// takes longer than 1000 yields (it failed 1 run in 300 so).
		free := 0
		for range 100_000 {
			synctest.Wait()
			if free = s.freeProcs(); free > 0 {
				break
			}
			runtime.Gosched()
		}
		if free < 1 {
			t.Fatalf("freeProcs = %d with every other goroutine blocked; want >= 1", free)
		}
		for range 1000 {
			if s.check(); s.Running() > s.base {
				break
			}
			runtime.Gosched()
		}
		synctest.Wait()
		if got := s.Running(); got <= s.base {
			t.Errorf("loops = %d after a check; want > base %d (loops blocked, Ps idle)", got, s.base)
		}
		open()
	})
}

// Turns that complete, however slowly, are progress: the watchdog starts
// no loop while one completes within each check, even with every P idle.
// A turn that sleeps half a check, one after another on a single loop,
// never looks stalled. Passes on the old scheduler too (it had this
// check); fails if the watchdog trusts idle Ps alone.
func TestSlowProgressIsNoStall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, WithPoolSize(1), withIdleProcs())
		var most atomic.Int64
		done := make(chan struct{}, 20)
		for range 20 {
			schedule(t, s, funcRunner(func() {
				noteMax(&most, s.Running())
				time.Sleep(stallCheck / 2)
				done <- struct{}{}
			}))
		}
		for range 20 {
			<-done
		}
		s.Close()
		if got := most.Load(); got != 1 {
			t.Errorf("loops reached %d; want 1 (turns kept completing)", got)
		}
	})
}

// A turn that waits (without Block) for a turn it queued itself gets that
// turn run even while the runtime shows no idle P for as long as the stall
// lasts: other goroutines of the program (one polling with Gosched, with
// GOMAXPROCS=1, is enough) keep every P busy in the probe's counts, and
// a watchdog that trusts them alone never starts a loop, so the only loop
// waits for ever for a turn queued behind it. The probe is faked to read
// no idle P (testHooks.freeProcs) at every check. Fails if a stall that
// outlasts starveChecks checks still starts no loop.
func TestStallWithoutIdleProcsStillRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, WithPoolSize(1), withFreeProcs(func() int { return 0 }))
		release, _ := newGate(t) // lets the stuck turn go if the test fails
		start := time.Now()
		done := make(chan struct{})
		schedule(t, s, funcRunner(func() {
			partner := make(chan struct{})
			schedule(t, s, funcRunner(func() { close(partner) }))
			select {
			case <-partner:
			case <-release:
			}
			close(done)
		}))
		select {
		case <-done:
		case <-time.After(time.Minute):
			t.Fatal("a turn waiting for one it queued, no P idle: the queued turn never ran")
		}
		if d := time.Since(start); d > 2*starveChecks*stallCheck {
			t.Errorf("queued turn ran after %v; want within %v", d, 2*starveChecks*stallCheck)
		}
	})
}
