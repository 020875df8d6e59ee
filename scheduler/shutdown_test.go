package scheduler

import (
	"context"
	"errors"
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
