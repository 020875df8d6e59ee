package timer

import (
	"errors"
	"sync"
	"testing"
	"time"
)

// TestFirstStartConcurrent starts a zero Timer on two wheels at once while
// a third goroutine stops it: the Timer's methods are safe for concurrent
// use, so this must be free of data races (run with -race), and exactly
// one of the two Starts may own the Timer; the other gets ErrBadTimer.
func TestFirstStartConcurrent(t *testing.T) {
	for range 50 {
		w1, w2 := newWheel(t), newWheel(t)
		var tm Timer
		var errs [2]error
		var wg sync.WaitGroup
		wg.Add(3)
		go func() { defer wg.Done(); errs[0] = w1.Start(&tm, time.Hour, nopCallback{}) }()
		go func() { defer wg.Done(); errs[1] = w2.Start(&tm, time.Hour, nopCallback{}) }()
		go func() { defer wg.Done(); tm.Stop(); tm.Reset(time.Hour); tm.Deadline() }()
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, ErrBadTimer):
				t.Fatalf("Start: %v; want nil or ErrBadTimer", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d Starts of one zero Timer on two wheels succeeded; want 1", ok)
		}
		if n := w1.Len() + w2.Len(); n != 1 {
			t.Fatalf("%d timers pending on the two wheels; want 1", n)
		}
	}
}
