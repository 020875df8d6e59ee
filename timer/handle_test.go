package timer

import (
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// mustSchedule is Schedule failing the test on error.
func mustSchedule(t *testing.T, w *Wheel, d time.Duration, f func()) Handle {
	t.Helper()
	h, err := w.Schedule(d, f)
	if err != nil {
		t.Fatalf("Schedule(%v): %v", d, err)
	}
	return h
}

// A scheduled func runs once, on time; a stopped one never runs, and only
// the first Stop of a scheduling returns true.
func TestScheduleFiresAndStops(t *testing.T) {
	bubble(t, time.Hour, func(t *testing.T) {
		w := newWheel(t)
		var fired rec[time.Duration]
		start := time.Now()
		for _, d := range []time.Duration{5 * time.Millisecond, time.Second} {
			mustSchedule(t, w, d, func() { fired.add(time.Since(start)) })
		}
		stopped := mustSchedule(t, w, 10*time.Millisecond, func() { t.Error("a stopped func ran") })
		if !stopped.Stop() {
			t.Fatal("Stop of a pending scheduling = false")
		}
		if stopped.Stop() {
			t.Fatal("second Stop = true")
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		got := fired.all()
		if len(got) != 2 {
			t.Fatalf("fired %d funcs; want 2", len(got))
		}
		for i, want := range []time.Duration{5 * time.Millisecond, time.Second} {
			if got[i] < want || got[i] >= want+w.tick {
				t.Errorf("func %d fired at %v; want in [%v, %v)", i, got[i], want, want+w.tick)
			}
		}
		if (Handle{}).Stop() {
			t.Error("zero Handle's Stop = true")
		}
	})
}

// A Handle whose scheduling is over (stopped, or fired) refers to nothing,
// even once its timer has been recycled for another scheduling.
func TestStaleHandle(t *testing.T) {
	bubble(t, time.Hour, func(t *testing.T) {
		w := newWheel(t)
		// Stopped: the timer goes back to the free list, and the next
		// Schedule gets it (the loop only guards against that changing).
		var old Handle
		reused := false
		var ran rec[int]
		for i := 0; i < 100 && !reused; i++ {
			old = mustSchedule(t, w, time.Minute, func() { t.Error("a stopped func ran") })
			old.Stop()
			h := mustSchedule(t, w, time.Second, func() { ran.add(i) })
			if h.c == old.c && h.ref&chunkMask == old.ref&chunkMask {
				reused = true
				if old.Stop() {
					t.Fatal("a stale Handle stopped its timer's next scheduling")
				}
			}
		}
		if !reused {
			t.Fatal("the pool never gave a stopped timer back")
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		// Fired: the same holds once the func has run.
		if old.Stop() {
			t.Fatal("a stale Handle's Stop = true")
		}
		fired := mustSchedule(t, w, time.Millisecond, func() {})
		time.Sleep(time.Second)
		synctest.Wait()
		if fired.Stop() {
			t.Fatal("Stop after the func ran = true")
		}
		if n := len(ran.all()); n == 0 {
			t.Fatal("the schedulings made while looking for reuse never ran")
		}
	})
}

func TestScheduleErrors(t *testing.T) {
	w, err := New()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Schedule(time.Second, nil); !errors.Is(err, ErrNilFunc) {
		t.Errorf("Schedule(nil) = %v; want ErrNilFunc", err)
	}
	h := mustSchedule(t, w, time.Hour, func() {})
	if n := w.Stop(); n != 1 {
		t.Errorf("Stop dropped %d timers; want 1", n)
	}
	<-w.Done()
	if h.Stop() {
		t.Error("Stop of a scheduling dropped by Wheel.Stop = true")
	}
	if _, err := w.Schedule(time.Second, func() {}); !errors.Is(err, ErrStopped) {
		t.Errorf("Schedule on a stopped wheel = %v; want ErrStopped", err)
	}
}

// Schedule and Stop allocate nothing in steady state.
func TestScheduleAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts are not meaningful in -short runs")
	}
	w := newWheel(t)
	f := func() {}
	allocs := testing.AllocsPerRun(1000, func() {
		h, err := w.Schedule(time.Hour, f)
		if err != nil {
			t.Fatal(err)
		}
		h.Stop()
	})
	if allocs > 0.1 {
		t.Errorf("Schedule+Stop allocated %.2f times per run; want 0", allocs)
	}
}

// Under concurrency, with timers recycled as fast as they fire or stop,
// each scheduling has exactly one outcome: its func runs, or one Stop
// returns true.
func TestScheduleExactlyOnce(t *testing.T) {
	w := newWheel(t, WithTick(MinTick))
	const workers, per = 8, 2000
	var ran, stopped atomicCounter
	done := make(chan struct{})
	for g := range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range per {
				h, err := w.Schedule(time.Duration(i%50)*time.Microsecond, ran.inc)
				if err != nil {
					t.Error(err)
					return
				}
				if (i+g)%2 != 0 {
					continue
				}
				if h.Stop() {
					stopped.inc()
				}
				if h.Stop() { // a second Stop never succeeds
					t.Error("second Stop of a scheduling = true")
				}
			}
		}()
	}
	for range workers {
		<-done
	}
	deadline := time.Now().Add(10 * time.Second)
	for ran.load()+stopped.load() < workers*per && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := ran.load() + stopped.load(); got != workers*per {
		t.Fatalf("ran %d + stopped %d = %d outcomes; want %d", ran.load(), stopped.load(), got, workers*per)
	}
}

// atomicCounter counts from any goroutine.
type atomicCounter struct{ n atomic.Int64 }

func (c *atomicCounter) inc()        { c.n.Add(1) }
func (c *atomicCounter) load() int64 { return c.n.Load() }
