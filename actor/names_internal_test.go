package actor

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-go/troupe/internal/engine"
	"github.com/troupe-go/troupe/scheduler"
	"github.com/troupe-go/troupe/timer"
)

// grabNames is a registry that hands each ref it registers to a
// "Lookup" (grabbed) and then runs during, as a spawn racing the
// runtime's stop would meet it between claiming its name and joining.
type grabNames struct {
	grabbed engine.Stoppable
	during  func()
}

func (n *grabNames) Register(_ string, ref engine.Stoppable) error {
	n.grabbed = ref
	n.during()
	return nil
}

func (n *grabNames) Unregister(string, engine.Stoppable) {}

type testSpawner struct{ sys *engine.System }

func (s testSpawner) Engine(engine.Seal) *engine.System { return s.sys }

type counter struct{ n atomic.Int32 }

var countCall = NewMethod("count", func(c *counter, _ *Ctx, _ struct{}) (int, error) {
	return int(c.n.Add(1)), nil
})

// TestSpawnFailedAfterNameIsDead: a named spawn that fails after
// claiming its name (the runtime began its stop, or the parent stopped,
// before the actor joined it) must leave no live actor behind: a ref a
// Lookup returned in that window reports Stopped, refuses calls with
// ErrStopped, and its Done is closed. Before, the ref ran handlers for an
// actor nobody owned and no stop would ever end.
func TestSpawnFailedAfterNameIsDead(t *testing.T) {
	sched, wheel := newSchedWheel(t)
	defer func() {
		sched.Close()
		wheel.Stop()
		<-wheel.Done()
	}()
	names := &grabNames{}
	sys, err := engine.New(engine.Config{Scheduler: sched, Wheel: wheel, CallTimeout: time.Minute, Names: names})
	if err != nil {
		t.Fatal(err)
	}
	names.during = func() { sys.Close(context.Background()) }
	if _, err := Spawn(testSpawner{sys}, &counter{}, WithName("late")); !errors.Is(err, ErrStopped) {
		t.Fatalf("Spawn: %v; want ErrStopped", err)
	}
	ref, ok := names.grabbed.(*Ref[*counter])
	if !ok {
		t.Fatalf("registered %T", names.grabbed)
	}
	if !ref.Stopped() {
		t.Error("the failed spawn's ref reports it running")
	}
	if n, err := countCall.Call(context.Background(), ref, struct{}{}); !errors.Is(err, ErrStopped) {
		t.Errorf("a call to the failed spawn: %d, %v; want ErrStopped", n, err)
	}
	select {
	case <-ref.Done():
	default:
		t.Error("the failed spawn's Done is not closed")
	}
}

// newSchedWheel makes a scheduler and a timer wheel for an internal test
// that builds its own engine.System; the test closes them.
func newSchedWheel(t *testing.T) (*scheduler.Scheduler, *timer.Wheel) {
	t.Helper()
	sched, err := scheduler.New()
	if err != nil {
		t.Fatal(err)
	}
	wheel, err := timer.New()
	if err != nil {
		sched.Close()
		t.Fatal(err)
	}
	return sched, wheel
}
