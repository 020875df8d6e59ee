package runtime

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/actor"
)

// slowTurn is a scheduler turn that holds its loop until release is
// closed: the scheduler's drain is not over when the forced stop's grace
// period ends.
type slowTurn struct{ release chan struct{} }

func (s slowTurn) Run(int) bool { <-s.release; return false }
func (slowTurn) Abort()         {}

var stall = actor.NewMethod("stall", func(_ *target, _ *actor.Ctx, release chan struct{}) (int, error) {
	<-release // deaf to its cancelled Context
	return 0, nil
})

// TestCloseReturnsOnlyStopError: Close's forced stop, once every actor has
// stopped within the grace period, returns nil when the runtime's own
// goroutines have exited. It used to return the scheduler's drain error,
// a bare context.DeadlineExceeded (neither nil nor a *actor.StopError, all
// Close's doc allows), when the drain was not over as the grace period
// ended.
func TestCloseReturnsOnlyStopError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const grace = time.Second
		rt, err := New(WithCallTimeout(grace))
		if err != nil {
			t.Fatal(err)
		}
		ref, err := actor.Spawn(rt, &target{})
		if err != nil {
			t.Fatal(err)
		}
		handler, drain := make(chan struct{}), make(chan struct{})
		if err := stall.Cast(ref, handler); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // the actor's handler runs, deaf to a kill
		if err := rt.sched.Schedule(rt.sched.NewTask(slowTurn{drain})); err != nil {
			t.Fatal(err)
		}
		closed := make(chan error, 1)
		go func() { closed <- rt.Close() }()
		synctest.Wait() // forced: the stop waits for the killed actor
		close(handler)  // which stops within the grace period
		select {
		case err = <-closed:
			close(drain)
		case <-time.After(2 * grace):
			close(drain) // the drain ends after the grace period
			err = <-closed
		}
		var se *actor.StopError
		if err != nil && !errors.As(err, &se) {
			t.Fatalf("Close = %v (%T); want nil or a *actor.StopError", err, err)
		}
		if err != nil {
			t.Fatalf("Close = %v; want nil: every actor stopped", err)
		}
	})
}
