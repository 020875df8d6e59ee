package timer

import (
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestMillionTimersHalfStopped schedules a million timers (a hundred
// thousand with -short), stops a random half, a quarter of them before
// any fires and a quarter while they fire, and checks in fake time that
// each ran exactly when it was not stopped.
func TestMillionTimersHalfStopped(t *testing.T) {
	n := 1_000_000
	if testing.Short() {
		n = 100_000
	}
	bubble(t, time.Hour, func(t *testing.T) {
		w := newWheel(t)
		rng := rand.New(rand.NewPCG(3, 4))
		// Written by callbacks on the driver only; read once w.Done is
		// closed: the driver has exited.
		runs := make([]uint8, n)
		timers := make([]*Timer, n)
		for i := range timers {
			d := time.Duration(rng.Int64N(int64(2 * time.Second)))
			tm, err := w.AfterFunc(d, func() { runs[i]++ })
			if err != nil {
				t.Fatalf("AfterFunc: %v", err)
			}
			timers[i] = tm
		}
		if got := w.Len(); got != n {
			t.Fatalf("Len: got %d; want %d", got, n)
		}
		order := rng.Perm(n)
		stopped := make([]bool, n)
		for _, i := range order[:n/4] {
			if !timers[i].Stop() {
				t.Fatalf("Stop before any fire: got false; want true")
			}
			stopped[i] = true
		}
		time.Sleep(time.Second) // about half of the rest have fired
		for _, i := range order[n/4 : n/2] {
			stopped[i] = timers[i].Stop()
		}
		time.Sleep(2 * time.Second)
		if got := w.Stop(); got != 0 {
			t.Fatalf("wheel Stop dropped %d; want 0", got)
		}
		<-w.Done()
		notStopped, ran := 0, 0
		for i := range n {
			if !stopped[i] {
				notStopped++
			}
			if runs[i] > 0 {
				ran++
			}
			if runs[i] > 1 || (runs[i] == 1) == stopped[i] {
				t.Fatalf("timer %d: ran %d times and Stop returned %v; want exactly one", i, runs[i], stopped[i])
			}
		}
		if ran != notStopped {
			t.Fatalf("fired %d; want %d", ran, notStopped)
		}
	})
}

// TestStopRacesFire stops 10,000 timers in real time around their
// deadline, from several goroutines, and checks that for each exactly one
// of "the callback ran" and "Stop returned true" happened.
func TestStopRacesFire(t *testing.T) {
	const rounds, per = 10, 1000
	w := newWheel(t, WithTick(50*time.Microsecond))
	fired := make([]atomic.Bool, rounds*per)
	stopped := make([]atomic.Bool, rounds*per)
	timers := make([]*Timer, rounds*per)
	for r := range rounds {
		for i := r * per; i < (r+1)*per; i++ {
			d := time.Duration(rand.Int64N(int64(2 * time.Millisecond)))
			timers[i] = mustAfter(t, w, d, func() {
				if fired[i].Swap(true) {
					t.Errorf("timer %d fired twice", i)
				}
			})
		}
		time.Sleep(time.Millisecond)
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for i := r*per + g; i < (r+1)*per; i += 4 {
					if timers[i].Stop() {
						stopped[i].Store(true)
					}
				}
			})
		}
		wg.Wait()
	}
	// Every timer is now stopped or taken out to run; wait for the runs.
	deadline := time.Now().Add(10 * time.Second)
	for {
		done := 0
		for i := range fired {
			if fired[i].Load() || stopped[i].Load() {
				done++
			}
		}
		if done == len(fired) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d timers neither fired nor stopped after 10s", len(fired)-done, len(fired))
		}
		time.Sleep(time.Millisecond)
	}
	w.Stop()
	<-w.Done()
	nFired := 0
	for i := range fired {
		if fired[i].Load() == stopped[i].Load() {
			t.Fatalf("timer %d: fired %v, Stop returned %v; want exactly one", i, fired[i].Load(), stopped[i].Load())
		}
		if fired[i].Load() {
			nFired++
		}
	}
	t.Logf("%d fired, %d stopped", nFired, len(fired)-nFired)
}

// TestAddsDuringCascade has 64 goroutines add timers at the very instants
// the driver cascades 100,000 timers down from level 2, in fake time, and
// checks every timer fires once, never early, within a tick.
func TestAddsDuringCascade(t *testing.T) {
	bubble(t, time.Hour, func(t *testing.T) {
		const tick = time.Millisecond
		w := newWheel(t, WithTick(tick))
		var fired, want atomic.Int64
		add := func(d time.Duration) {
			deadline := time.Now().Add(max(d, 1))
			want.Add(1)
			mustAfter(t, w, d, func() {
				fired.Add(1)
				if now := time.Now(); now.Before(deadline) || now.Sub(deadline) >= tick {
					t.Errorf("delay %v: fired %v from its deadline", d, now.Sub(deadline))
				}
			})
		}
		// Ticks 4096..8191 share slot 1 of level 2: one big cascade at 4.096s.
		for range 100_000 {
			add(4096*tick + time.Duration(rand.Int64N(int64(4096*tick))))
		}
		var wg sync.WaitGroup
		for range 64 {
			wg.Go(func() {
				time.Sleep(4096 * tick) // wake with the driver
				for i := range 200 {
					add(time.Duration(rand.Int64N(int64(10 * time.Second))))
					if i%20 == 0 {
						time.Sleep(tick)
					}
				}
			})
		}
		wg.Wait()
		time.Sleep(20 * time.Second)
		synctest.Wait()
		if fired.Load() != want.Load() || w.Len() != 0 {
			t.Fatalf("fired %d, Len %d; want %d, 0", fired.Load(), w.Len(), want.Load())
		}
	})
}

// TestConcurrentUse adds, stops and resets timers from 64 goroutines and
// from callbacks in real time, for the race detector, and checks the
// count of runs.
func TestConcurrentUse(t *testing.T) {
	w := newWheel(t, WithTick(100*time.Microsecond))
	var runs, stops, chained atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for i := range 200 {
				d := time.Duration(rand.Int64N(int64(3 * time.Millisecond)))
				tm := mustAfter(t, w, d, func() {
					runs.Add(1)
					if i%10 == 0 {
						chained.Add(1)
						mustAfter(t, w, time.Millisecond, func() { runs.Add(1) })
					}
				})
				switch i % 3 {
				case 1:
					if tm.Stop() {
						stops.Add(1)
					}
				case 2:
					if tm.Reset(d) {
						// Still one pending run.
					}
				}
				if i%50 == 0 {
					w.Len()
					time.Sleep(time.Duration(rand.Int64N(int64(time.Millisecond))))
				}
			}
		})
	}
	wg.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for w.Len() > 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(10 * time.Millisecond) // the last chained runs
	w.Stop()
	<-w.Done()
	// A reset timer that had fired runs again: at least one run per
	// schedule not stopped.
	if got, min := runs.Load(), 64*200-stops.Load()+chained.Load(); got < min {
		t.Fatalf("runs: got %d; want at least %d", got, min)
	}
}
