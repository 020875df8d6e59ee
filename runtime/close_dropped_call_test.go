package runtime_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

// A sync caller always gets exactly one outcome, under a deadline, even if
// the runtime closes while the handler it waits on is stuck: Close gives up
// on that handler after the call timeout and stops the timer wheel, which
// drops the call's default deadline (armed for a ctx without one) if that
// deadline's tick falls after Close's grace. The call is made half a tick
// after New, so its deadline, rounded up to a tick, falls half a tick after
// the grace (which starts with Close, at the same instant as the call) ends:
// every round drops it.
func TestCloseSettlesCallOfStuckHandler(t *testing.T) {
	const ct = 50 * time.Millisecond
	synctest.Test(t, func(t *testing.T) {
		rt, err := troupe.New(troupe.WithCallTimeout(ct), troupe.WithTick(time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		ref, _ := actor.Spawn(rt, &Counter{}, actor.WithName("stuck"))
		time.Sleep(500 * time.Microsecond)
		got := make(chan error, 1)
		go func() {
			// The handler ignores its Context: it returns an hour later.
			_, err := hold.Call(context.Background(), ref, work{d: time.Hour})
			got <- err
		}()
		synctest.Wait()
		var se *actor.StopError
		if err := rt.Close(); !errors.As(err, &se) {
			t.Fatalf("Close: %v; want a *actor.StopError", err)
		}
		synctest.Wait()
		select {
		case err := <-got:
			if !errors.Is(err, actor.ErrTimeout) && !errors.Is(err, actor.ErrStopped) {
				t.Errorf("Call: %v; want ErrTimeout or ErrStopped", err)
			}
		default:
			t.Error("Call still waiting after Close returned: its deadline was dropped with the wheel")
			<-got // the handler returns an hour later (fake time)
		}
		time.Sleep(time.Hour) // the stuck handler returns; its goroutines exit
		synctest.Wait()
	})
}

// The same for a stream's Open: its wait for the handler's start has the
// same default deadline.
func TestCloseSettlesOpenOfStuckHandler(t *testing.T) {
	const ct = 50 * time.Millisecond
	stuck := actor.NewStream("stuck", func(_ *Counter, _ *actor.Ctx, d time.Duration, _ *actor.Out[int]) error {
		time.Sleep(d) // ignores its Context
		return nil
	})
	synctest.Test(t, func(t *testing.T) {
		rt, err := troupe.New(troupe.WithCallTimeout(ct), troupe.WithTick(time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		ref, _ := actor.Spawn(rt, &Counter{}, actor.WithName("stuck"))
		time.Sleep(500 * time.Microsecond)
		got := make(chan error, 1)
		go func() {
			_, err := stuck.Open(context.Background(), ref, time.Hour)
			got <- err
		}()
		synctest.Wait()
		var se *actor.StopError
		if err := rt.Close(); !errors.As(err, &se) {
			t.Fatalf("Close: %v; want a *actor.StopError", err)
		}
		synctest.Wait()
		select {
		case err := <-got:
			if !errors.Is(err, actor.ErrTimeout) && !errors.Is(err, actor.ErrStopped) {
				t.Errorf("Open: %v; want ErrTimeout or ErrStopped", err)
			}
		default:
			t.Error("Open still waiting after Close returned: its deadline was dropped with the wheel")
			<-got
		}
		time.Sleep(time.Hour)
		synctest.Wait()
	})
}

// The same for a First pool's call: its gather (the first reply of
// several workers) waits on the same default deadline.
func TestCloseSettlesFirstPoolCallOfStuckHandlers(t *testing.T) {
	const ct = 50 * time.Millisecond
	synctest.Test(t, func(t *testing.T) {
		rt, err := troupe.New(troupe.WithCallTimeout(ct), troupe.WithTick(time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		pool, err := actor.NewPool(rt, 2, func() *Counter { return &Counter{} }, actor.First(0))
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(500 * time.Microsecond)
		got := make(chan error, 1)
		go func() {
			// Both workers ignore their Context: they return an hour later.
			_, err := actor.CallPool(context.Background(), hold, pool, work{d: time.Hour})
			got <- err
		}()
		synctest.Wait()
		var se *actor.StopError
		if err := rt.Close(); !errors.As(err, &se) {
			t.Fatalf("Close: %v; want a *actor.StopError", err)
		}
		synctest.Wait()
		select {
		case err := <-got:
			if !errors.Is(err, actor.ErrTimeout) && !errors.Is(err, actor.ErrStopped) {
				t.Errorf("CallPool: %v; want ErrTimeout or ErrStopped", err)
			}
		default:
			t.Error("CallPool still waiting after Close returned: its deadline was dropped with the wheel")
			<-got
		}
		time.Sleep(time.Hour)
		synctest.Wait()
	})
}
