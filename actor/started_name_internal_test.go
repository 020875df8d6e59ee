package actor

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/internal/engine"
)

// starter records the order of its Started hook and its calls.
type starter struct{ log []string }

func (s *starter) Started(*Ctx) { s.log = append(s.log, "started") }

var starterCall = NewMethod("call", func(s *starter, _ *Ctx, _ struct{}) ([]string, error) {
	s.log = append(s.log, "call")
	return append([]string(nil), s.log...), nil
})

// TestStartedBeforeNamedCall: the Started hook runs before any call, also
// a call sent by name while Spawn is still joining the runtime (a Lookup
// finds the actor as soon as its name is claimed).
func TestStartedBeforeNamedCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
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
		defer sys.Close(context.Background())
		names.during = func() {
			_ = starterCall.Cast(names.grabbed.(*Ref[*starter]), struct{}{})
			synctest.Wait() // a turn the cast started has run
		}
		ref, err := Spawn(testSpawner{sys}, &starter{}, WithName("s"))
		if err != nil {
			t.Fatal(err)
		}
		log, err := starterCall.Call(context.Background(), ref, struct{}{})
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"started", "call", "call"}; len(log) != 3 || log[0] != want[0] {
			t.Fatalf("order %v; want %v (Started before any call)", log, want)
		}
	})
}

// TestStartedSpawnFailedAfterNameIsDead: as TestSpawnFailedAfterNameIsDead,
// for a state with a Started hook (whose turn Spawn holds while it joins):
// the failed spawn ends, its calls fail, and its Started hook never runs.
func TestStartedSpawnFailedAfterNameIsDead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
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
		var f *Future[[]string]
		names.during = func() {
			f = starterCall.Ask(context.Background(), names.grabbed.(*Ref[*starter]), struct{}{})
			sys.Close(context.Background())
		}
		s := &starter{}
		if _, err := Spawn(testSpawner{sys}, s, WithName("late")); !errors.Is(err, ErrStopped) {
			t.Fatalf("Spawn: %v; want ErrStopped", err)
		}
		ref := names.grabbed.(*Ref[*starter])
		<-ref.Done()
		if _, err := f.Await(context.Background()); !errors.Is(err, ErrStopped) {
			t.Errorf("a call to the failed spawn: %v; want ErrStopped", err)
		}
		if len(s.log) != 0 {
			t.Errorf("the failed spawn ran %v", s.log)
		}
	})
}
