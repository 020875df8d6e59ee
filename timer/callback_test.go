package timer

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

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
