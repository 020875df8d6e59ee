package actor

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/internal/engine"
)

type idler struct{ idled int }

var (
	idlerIdle  = NewMethod("idler.idle", func(s *idler, _ *Ctx, _ struct{}) (struct{}, error) { s.idled++; return struct{}{}, nil })
	idlerTouch = NewMethod("idler.touch", func(s *idler, _ *Ctx, _ struct{}) (int, error) { return s.idled, nil })
)

// withIdleGap is WithIdleTimeout with its test hook, which runs on the
// actor's turn between reading the idle timer and re-arming it.
func withIdleGap(d time.Duration, gap func(*cell)) Option {
	o := WithIdleTimeout(d, idlerIdle, struct{}{})
	return optionFunc(func(c *spawnConfig) {
		o.apply(c)
		c.idle.gap = gap
	})
}

// A stop that lands between the turn's read of the idle timer and its
// re-arming (the stopper's disarm has taken and stopped the timer) must
// not leave the timer armed: it would outlive the actor, holding it (and
// its state) until it fires into the closed mailbox. Both re-arming paths:
// checkIdle finding the count restarted (a call came at d/2), and
// touchIdle after the idle cast (a call after an idle spell).
func TestIdleStopLeavesNoTimer(t *testing.T) {
	for _, path := range []string{"checkIdle", "touchIdle"} {
		t.Run(path, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				sched, wheel := newSchedWheel(t)
				defer func() {
					sched.Close()
					wheel.Stop()
					<-wheel.Done()
				}()
				sys, err := engine.New(engine.Config{Scheduler: sched, Wheel: wheel, CallTimeout: time.Minute})
				if err != nil {
					t.Fatal(err)
				}
				defer sys.Close(context.Background())
				var it *idleTimer
				gap := func(c *cell) {
					it = c.idleTimer()
					c.requestStop(false) // as a Stop from another goroutine would, here
				}
				const d = time.Second
				ref, err := Spawn(testSpawner{sys}, &idler{}, withIdleGap(d, gap))
				if err != nil {
					t.Fatal(err)
				}
				ctx := context.Background()
				if path == "checkIdle" {
					time.Sleep(d / 2)
					if _, err := idlerTouch.Call(ctx, ref, struct{}{}); err != nil {
						t.Fatal(err)
					}
					time.Sleep(d / 2) // the timer fires: checkIdle re-arms for the rest
				} else {
					time.Sleep(2 * d) // the idle cast: the timer is not re-armed
					if n, err := idlerTouch.Call(ctx, ref, struct{}{}); err != nil || n != 1 {
						t.Fatalf("touch: %d, %v; want 1 idle cast", n, err)
					}
				}
				<-ref.Done()
				synctest.Wait()
				if it == nil {
					t.Fatal("the actor never re-armed its idle timer")
				}
				if it.wt.Stop() {
					t.Fatal("the idle timer was pending after the actor finalized")
				}
			})
		})
	}
}
