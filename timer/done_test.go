package timer

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

// closed reports whether ch is closed, without blocking.
func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// Stop called from a callback returns at once; Done closes once that
// callback has returned. Callbacks of the same batch not yet begun never
// run: Stop counts them with the pending timers.
func TestStopFromCallback(t *testing.T) {
	bubble(t, time.Hour, func(t *testing.T) {
		before := goleak.IgnoreCurrent()
		w := newWheel(t)
		start := time.Now()
		var dropped atomic.Int64
		var log rec[string]
		mustAfter(t, w, time.Millisecond, func() {
			dropped.Store(int64(w.Stop())) // must not wait for its own goroutine
			if closed(w.Done()) {
				t.Errorf("Done closed while the callback that called Stop runs")
			}
			if _, err := w.AfterFunc(0, func() {}); !errors.Is(err, ErrStopped) {
				t.Errorf("AfterFunc in callback after Stop: got %v; want %v", err, ErrStopped)
			}
			time.Sleep(time.Second) // a slow end: Done must wait for it
			log.add("stopper returns")
		})
		// Due at the same tick: taken out with the stopper, not begun.
		same := mustAfter(t, w, time.Millisecond, func() { log.add("same tick") })
		mustAfter(t, w, time.Minute, func() { log.add("later") })
		<-w.Done()
		if got := time.Since(start); got < time.Second+time.Millisecond {
			t.Fatalf("Done closed after %v; want after the callback's end at 1.001s", got)
		}
		if got := log.all(); dropped.Load() != 2 || len(got) != 1 {
			t.Fatalf("Stop in callback: dropped %d, ran %v; want 2, [stopper returns]", dropped.Load(), got)
		}
		if same.Stop() {
			t.Fatalf("Timer.Stop of a callback taken out and dropped: got true; want false")
		}
		if err := goleak.Find(before); err != nil {
			t.Fatalf("driver still running after Done: %v", err)
		}
	})
}

// Stop called from another goroutine while a callback runs returns before
// that callback does; Done closes only after it has.
func TestStopWhileCallbackRuns(t *testing.T) {
	bubble(t, time.Hour, func(t *testing.T) {
		w := newWheel(t)
		started, release := make(chan struct{}), make(chan struct{})
		// Also on failure: release the callback before the wheel's
		// cleanup waits for it.
		releaseOnce := sync.OnceFunc(func() { close(release) })
		t.Cleanup(releaseOnce)
		var returned atomic.Bool
		mustAfter(t, w, time.Millisecond, func() {
			close(started)
			<-release
			returned.Store(true)
		})
		mustAfter(t, w, time.Millisecond, func() { t.Errorf("a callback began after Stop returned") })
		mustAfter(t, w, time.Minute, func() { t.Errorf("a dropped timer fired") })
		<-started
		// Were Stop to wait, every goroutine of the bubble would block
		// and synctest would report the deadlock.
		if got := w.Stop(); got != 2 {
			t.Fatalf("Stop: got %d; want 2 (the held callback and the pending timer)", got)
		}
		synctest.Wait()
		if closed(w.Done()) || returned.Load() {
			t.Fatalf("Done closed %v, callback returned %v before release; want false, false",
				closed(w.Done()), returned.Load())
		}
		releaseOnce()
		<-w.Done()
		if !returned.Load() {
			t.Fatalf("Done closed before the running callback returned")
		}
		time.Sleep(time.Hour / 2)
	})
}

// Stop called from the panic handler returns at once, like from a callback.
func TestStopFromPanicHandler(t *testing.T) {
	bubble(t, time.Hour, func(t *testing.T) {
		var w *Wheel
		w = newWheel(t, WithPanicHandler(func(*PanicError) { w.Stop() }))
		mustAfter(t, w, time.Millisecond, func() { panic("boom") })
		mustAfter(t, w, time.Second, func() { t.Errorf("a dropped timer fired") })
		<-w.Done()
		if got := w.Panics(); got != 1 {
			t.Fatalf("Panics: got %d; want 1", got)
		}
	})
}

// Done is never closed before Stop: not on a new wheel, a busy one or an
// idle one; after Stop it closes, at once if no driver ever started. Stop
// stays idempotent.
func TestDone(t *testing.T) {
	t.Run("never started", func(t *testing.T) {
		w, err := New()
		if err != nil {
			t.Fatal(err)
		}
		if closed(w.Done()) {
			t.Fatalf("Done closed before Stop")
		}
		if got := w.Stop(); got != 0 {
			t.Fatalf("Stop: got %d; want 0", got)
		}
		if !closed(w.Done()) {
			t.Fatalf("Done of a wheel that never started: open after Stop; want closed at once")
		}
		if got := w.Stop(); got != 0 || !closed(w.Done()) {
			t.Fatalf("second Stop: got %d, Done closed %v; want 0, true", got, closed(w.Done()))
		}
	})
	t.Run("started", func(t *testing.T) {
		bubble(t, time.Hour, func(t *testing.T) {
			w := newWheel(t)
			if d1, d2 := w.Done(), w.Done(); d1 != d2 {
				t.Fatalf("Done returned two channels")
			}
			mustAfter(t, w, time.Millisecond, func() {
				if closed(w.Done()) {
					t.Errorf("Done closed in a callback before Stop")
				}
			})
			time.Sleep(time.Second)
			synctest.Wait() // the driver blocks on its wake channel
			if closed(w.Done()) {
				t.Fatalf("Done closed on an idle wheel before Stop")
			}
			mustAfter(t, w, time.Hour, func() {})
			synctest.Wait() // the driver sleeps for an hour
			if closed(w.Done()) {
				t.Fatalf("Done closed on a sleeping wheel before Stop")
			}
			if got := w.Stop(); got != 1 {
				t.Fatalf("Stop: got %d; want 1", got)
			}
			<-w.Done()
			if got := w.Stop(); got != 0 {
				t.Fatalf("second Stop: got %d; want 0", got)
			}
		})
	})
}

// TestStopRacesDriver stops a wheel from several goroutines at once while
// its driver fires batches, in real time, and checks that every timer was
// either run or counted by exactly one Stop.
func TestStopRacesDriver(t *testing.T) {
	for range 20 {
		const n, stoppers = 2000, 4
		w, err := New(WithTick(MinTick))
		if err != nil {
			t.Fatal(err)
		}
		var fired atomic.Int64
		for i := range n {
			// A few ticks apart: batches of many callbacks each.
			mustAfter(t, w, time.Duration(i%8)*100*time.Microsecond, func() { fired.Add(1) })
		}
		time.Sleep(300 * time.Microsecond)
		var dropped atomic.Int64
		ready := make(chan struct{})
		finished := make(chan struct{}, stoppers)
		for range stoppers {
			go func() {
				<-ready
				dropped.Add(int64(w.Stop()))
				finished <- struct{}{}
			}()
		}
		close(ready)
		for range stoppers {
			<-finished
		}
		<-w.Done()
		if got := fired.Load() + dropped.Load(); got != n {
			t.Fatalf("fired %d + dropped %d = %d; want %d", fired.Load(), dropped.Load(), got, n)
		}
	}
}
