package scheduler

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

// Shutdown and Close stop the watchdog and leave no goroutine behind,
// whether it was idle, armed, or had started loops; they never wait out a
// stall check. The old watchdog slept in a loop that Close had to wait
// for: the fake clock read 1ms when Close returned.
func TestCloseStopsWatchdog(t *testing.T) {
	type setup func(t *testing.T, s *Scheduler, gate <-chan struct{})
	// blocked schedules n turns that wait on gate without Block.
	blocked := func(n int) setup {
		return func(t *testing.T, s *Scheduler, gate <-chan struct{}) {
			for range n {
				schedule(t, s, funcRunner(func() { <-gate }))
			}
		}
	}
	for _, tc := range []struct {
		name     string
		opts     []Option
		setup    setup
		watching bool // armed when the scheduler closes
		loops    int  // loops running when it closes
	}{
		{"idle", nil, func(*testing.T, *Scheduler, <-chan struct{}) {}, false, 0},
		// One loop stuck, one turn waiting: armed, its first check due.
		{"armed", []Option{WithPoolSize(1)}, blocked(2), true, 1},
		// One loop stuck and two extras at the cap: stopped itself.
		{"extras at cap", []Option{WithPoolSize(1), WithMaxExtra(2), withIdleProcs()}, blocked(4), false, 3},
	} {
		for _, stop := range []string{"Close", "Shutdown"} {
			t.Run(tc.name+"/"+stop, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					ignore := goleak.IgnoreCurrent()
					s := newSched(t, tc.opts...)
					gate, open := newGate(t)
					tc.setup(t, s, gate)
					if tc.loops > 1 {
						time.Sleep(10 * stallCheck) // let the watchdog start its extras
					}
					synctest.Wait()
					if loops, _, watching := s.state(); loops != tc.loops || watching != tc.watching {
						t.Fatalf("before close: loops, watching = %d, %v; want %d, %v", loops, watching, tc.loops, tc.watching)
					}
					start := time.Now()
					open() // the stuck turns end; the waiting one runs
					switch stop {
					case "Close":
						s.Close()
					case "Shutdown":
						if err := s.Shutdown(context.Background()); err != nil {
							t.Fatalf("Shutdown = %v; want nil", err)
						}
					}
					if d := time.Since(start); d != 0 {
						t.Errorf("%s took %v; want 0 (no stall check to wait out)", stop, d)
					}
					if loops, _, watching := s.state(); loops != 0 || watching {
						t.Errorf("after %s: loops, watching = %d, %v; want 0, false", stop, loops, watching)
					}
					goleak.VerifyNone(t, ignore)
				})
			})
		}
	}
}

// Shutdown bounded by a ctx that ends while a turn is stuck stops the
// watchdog anyway: it starts no loop for the turns still queued after
// Shutdown returned; they run once the stuck one ends, and a later Close
// waits for them. Fails if closing leaves the watchdog running (neither
// close's Stop nor check's closed test): its next check would start a
// loop for the queued turn.
func TestShutdownTimeoutStopsWatchdog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ignore := goleak.IgnoreCurrent()
		s := newSched(t, WithPoolSize(1), withIdleProcs())
		gate, open := newGate(t)
		schedule(t, s, funcRunner(func() { <-gate }))
		ran := make(chan struct{})
		schedule(t, s, funcRunner(func() { close(ran) }))
		ctx, cancel := context.WithTimeout(context.Background(), stallCheck/2)
		defer cancel()
		if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Shutdown = %v; want DeadlineExceeded", err)
		}
		time.Sleep(10 * stallCheck)
		synctest.Wait()
		select {
		case <-ran:
			t.Error("queued turn ran on a loop started after Shutdown; want it to wait for the stuck loop")
		default:
		}
		if loops, _, watching := s.state(); loops != 1 || watching {
			t.Errorf("after Shutdown: loops, watching = %d, %v; want 1, false (no extras once closed)", loops, watching)
		}
		open()
		<-ran
		s.Close()
		goleak.VerifyNone(t, ignore)
	})
}

// goroutineIDs lists the goroutines now running, by id, for leftOver.
func goroutineIDs() map[string]bool {
	ids := map[string]bool{}
	for _, g := range stacks() {
		ids[strings.Fields(g)[1]] = true
	}
	return ids
}

// stacks are the stacks of every goroutine, the caller's first.
func stacks() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Split(string(buf[:n]), "\n\n")
		}
		buf = make([]byte, 2*len(buf))
	}
}

// leftOver returns the stacks of the goroutines of the scheduler and its
// pool that are not in before, at once: no retry, unlike goleak, which
// lets goroutines that are exiting finish (and hid this test's bug).
func leftOver(before map[string]bool) []string {
	var left []string
	for _, g := range stacks()[1:] {
		if before[strings.Fields(g)[1]] {
			continue
		}
		if strings.Contains(g, "panjf2000/ants") || strings.Contains(g, "scheduler.(*Scheduler)") {
			left = append(left, g)
		}
	}
	return left
}

// Whatever Shutdown returned, once Close (or a Shutdown that returns nil)
// returns, no goroutine of the scheduler's is left, the pool's included.
// A Shutdown that timed out released the pool without waiting, and a
// later Close or Shutdown could then no longer wait for its goroutines:
// they returned with the pool's housekeepers still there. Also when the
// timeout raced the end: Shutdown returned nil after a ReleaseContext cut
// short by its ctx. GOMAXPROCS is 1 so that goroutines left runnable by
// a stop that did not wait for them are still there when it returns
// (with more, they may exit in parallel and hide the bug).
func TestStopAfterShutdownTimeoutWaitsForPool(t *testing.T) {
	for _, tc := range []struct {
		name string
		stop func(*Scheduler) error
	}{
		{"Close", func(s *Scheduler) error { s.Close(); return nil }},
		{"Shutdown", func(s *Scheduler) error { return s.Shutdown(context.Background()) }},
	} {
		t.Run("stuck turn/"+tc.name, func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
			synctest.Test(t, func(t *testing.T) {
				before := goroutineIDs()
				s := newSched(t)
				gate, open := newGate(t)
				schedule(t, s, funcRunner(func() { <-gate }))
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
					t.Fatalf("Shutdown = %v; want DeadlineExceeded", err)
				}
				open()
				if err := tc.stop(s); err != nil {
					t.Fatalf("%s after the turn ended = %v; want nil", tc.name, err)
				}
				if left := leftOver(before); len(left) > 0 {
					t.Fatalf("%s returned with %d goroutines left:\n%s", tc.name, len(left), strings.Join(left, "\n\n"))
				}
			})
		})
		t.Run("ctx done/"+tc.name, func(t *testing.T) {
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
			before := goroutineIDs()
			s := newSched(t)
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			err := s.Shutdown(ctx) // nothing to wait for, but ctx is done
			if err == nil {
				if left := leftOver(before); len(left) > 0 {
					t.Fatalf("Shutdown returned nil with %d goroutines left:\n%s", len(left), strings.Join(left, "\n\n"))
				}
			}
			if err := tc.stop(s); err != nil {
				t.Fatalf("%s = %v; want nil", tc.name, err)
			}
			if left := leftOver(before); len(left) > 0 {
				t.Fatalf("%s returned with %d goroutines left:\n%s", tc.name, len(left), strings.Join(left, "\n\n"))
			}
		})
	}
}
