package runtime_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

// tickAndHoldAll starts a 10 ms Every timer of Inc, then holds every user
// message (Only with no methods): the next cast fills a mailbox of one, and
// the timer's ticks find it full.
var tickAndHoldAll = actor.NewMethod("tick and hold all", func(_ *Counter, c *actor.Ctx, _ struct{}) (struct{}, error) {
	if err := actor.Every(c, "t", 10*time.Millisecond, Inc, 1); err != nil {
		return struct{}{}, err
	}
	return struct{}{}, c.Only()
})

// tickLossRuntime returns a runtime whose dead-letter hook calls block
// (given the runtime) on the first dead letter of reason why for actor "a"
// (entered is closed just before), and "a", whose timer's next tick is
// lost to its full mailbox of policy: refused (Reject), or evicting the
// held cast (DropOldest).
func tickLossRuntime(t *testing.T, policy actor.Overflow, why troupe.Reason, block func(*troupe.Runtime), opts ...troupe.Option) (rt *troupe.Runtime, a *actor.Ref[*Counter], entered <-chan struct{}) {
	t.Helper()
	in := make(chan struct{})
	var once sync.Once
	opts = append(opts, troupe.WithDeadLetterHook(func(d troupe.DeadLetter) {
		if d.Reason == why && d.Actor == "a" {
			once.Do(func() {
				close(in)
				block(rt)
			})
		}
	}))
	rt, err := troupe.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	a, err = actor.Spawn(rt, &Counter{}, actor.WithName("a"), actor.WithMailbox(1, policy))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tickAndHoldAll.Call(context.Background(), a, struct{}{}); err != nil {
		t.Fatal(err)
	}
	if err := Inc.Cast(a, 1); err != nil { // held: the mailbox is full
		t.Fatal(err)
	}
	return rt, a, in
}

// waitOn holds its turn until ch is closed, deaf to its Context: only the
// caller's own deadline ends its wait.
var waitOn = actor.NewMethod("wait on", func(_ *Counter, _ *actor.Ctx, ch chan struct{}) (struct{}, error) {
	<-ch
	return struct{}{}, nil
})

var tickLosses = []struct {
	name   string
	policy actor.Overflow
	why    troupe.Reason
}{
	{"refused", actor.Reject, troupe.ReasonMailboxFull},
	{"evicting", actor.DropOldest, troupe.ReasonDropped},
}

// The dead-letter hook is user code: a timer's tick that its actor's full
// mailbox refuses, or that evicts a message there, must not have its dead
// letter reported on the timer wheel's goroutine, where a hook that blocks
// stalls every timer of the runtime, call deadlines included. While the
// hook blocks on such a dead letter of "a", a call to "b" (which never
// replies) with no deadline of its own must still time out at the call
// timeout.
func TestCallTimeoutDespiteTickDeadLetterHook(t *testing.T) {
	for _, tc := range tickLosses {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				blocked := func(*troupe.Runtime) { <-release }
				rt, a, entered := tickLossRuntime(t, tc.policy, tc.why, blocked, troupe.WithCallTimeout(100*time.Millisecond))
				b, _ := actor.Spawn(rt, &Counter{}, actor.WithName("b"))
				<-entered // the tick was lost: the hook is running, and blocks
				start := time.Now()
				called := make(chan error, 1)
				unblock := make(chan struct{})
				go func() {
					_, err := waitOn.Call(context.Background(), b, unblock)
					called <- err
				}()
				select {
				case err := <-called:
					within(t, "the call", start, 100*time.Millisecond)
					if !errors.Is(err, actor.ErrTimeout) {
						t.Errorf("call = %v; want ErrTimeout", err)
					}
				case <-time.After(time.Minute):
					t.Error("the call had no outcome a minute after its 100 ms deadline: the wheel is stuck in the dead-letter hook")
				}
				close(release)
				close(unblock)
				if err := rt.Close(); err != nil {
					t.Errorf("Close = %v", err)
				}
				<-a.Done()
				<-b.Done()
			})
		})
	}
}

// A hook that does not return on a lost tick's dead letter (slow, or
// calling Close, which waits for the stop) must hold Close no longer than
// the call timeout, as a handler would, and be named by it: it runs on
// the actor's turn, which the stop bounds and names.
func TestStopBoundedDespiteTickDeadLetterHook(t *testing.T) {
	for _, tc := range tickLosses {
		for _, hk := range []struct {
			name string
			hook func(rt *troupe.Runtime)
		}{
			{"slow hook", func(*troupe.Runtime) { time.Sleep(time.Minute) }},
			{"hook calls Close", func(rt *troupe.Runtime) { _ = rt.Close() }},
		} {
			t.Run(tc.name+"/"+hk.name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					hooked := make(chan struct{})
					block := func(rt *troupe.Runtime) { hk.hook(rt); close(hooked) }
					rt, a, entered := tickLossRuntime(t, tc.policy, tc.why, block, troupe.WithCallTimeout(time.Second))
					<-entered // the tick was lost: the hook is running
					start := time.Now()
					closed := make(chan error, 1)
					go func() { closed <- rt.Close() }()
					var err error
					select {
					case err = <-closed:
					case <-time.After(time.Hour):
						t.Fatal("Close did not return within an hour")
					}
					within(t, "Close", start, time.Second)
					var se *actor.StopError
					if !errors.As(err, &se) || len(se.Actors) != 1 || se.Actors[0] != "a" {
						t.Errorf("Close = %v; want a StopError naming a (its turn is in the hook)", err)
					}
					<-hooked
					<-a.Done()
				})
			})
		}
	}
}

// A First group's tail-chopping asks its next member on the timer wheel's
// goroutine: a member whose full DropOldest mailbox evicts a message for
// that sub-call must not have the eviction's dead letter reported there.
// While the hook blocks on it, a call to "b" with no deadline of its own
// must still time out at the call timeout.
func TestCallTimeoutDespiteFirstChopDeadLetterHook(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		entered := make(chan struct{})
		var once sync.Once
		rt, err := troupe.New(troupe.WithCallTimeout(100*time.Millisecond), troupe.WithDeadLetterHook(func(d troupe.DeadLetter) {
			if d.Reason == troupe.ReasonDropped && d.Actor == "w2" {
				once.Do(func() {
					close(entered)
					<-release
				})
			}
		}))
		if err != nil {
			t.Fatal(err)
		}
		w1, _ := actor.Spawn(rt, &Counter{}, actor.WithName("w1"))
		w2, _ := actor.Spawn(rt, &Counter{}, actor.WithName("w2"), actor.WithMailbox(1, actor.DropOldest))
		b, _ := actor.Spawn(rt, &Counter{}, actor.WithName("b"))
		if _, err := holdAll.Call(context.Background(), w2, struct{}{}); err != nil {
			t.Fatal(err)
		}
		if err := Inc.Cast(w2, 1); err != nil { // held: w2's mailbox is full
			t.Fatal(err)
		}
		g, err := actor.NewGroup([]*actor.Ref[*Counter]{w1, w2}, actor.First(10*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		unblock := make(chan struct{})
		pooled := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
			defer cancel()
			_, err := actor.CallPool(ctx, waitOn, g, unblock) // w1 waits; 10 ms later w2 is asked, evicting its Inc
			pooled <- err
		}()
		<-entered // the eviction is reported: the hook is running, and blocks
		start := time.Now()
		called := make(chan error, 1)
		go func() {
			_, err := waitOn.Call(context.Background(), b, unblock)
			called <- err
		}()
		select {
		case err := <-called:
			within(t, "the call", start, 100*time.Millisecond)
			if !errors.Is(err, actor.ErrTimeout) {
				t.Errorf("call = %v; want ErrTimeout", err)
			}
		case <-time.After(time.Minute):
			t.Error("the call had no outcome a minute after its 100 ms deadline: the wheel is stuck in the dead-letter hook")
		}
		close(release)
		close(unblock)
		<-pooled
		if err := rt.Close(); err != nil {
			t.Errorf("Close = %v", err)
		}
	})
}

// failOn holds its turn until ch is closed, then fails.
var failOn = actor.NewMethod("fail on", func(_ *Counter, _ *actor.Ctx, ch chan struct{}) (struct{}, error) {
	<-ch
	return struct{}{}, errors.New("failed")
})

// A sub-call that a First group's stagger found at a full mailbox waits in
// the worker's system lane for its turn (see TestCallTimeoutDespiteFirst
// ChopDeadLetterHook); a worker killed meanwhile still counts as that
// worker's failure: the gather gets its one outcome once every worker
// failed, and nothing of it is left behind.
func TestFirstChopToFullWorkerKilled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newRT(t)
		w1, _ := actor.Spawn(rt, &Counter{}, actor.WithName("w1"))
		w2, _ := actor.Spawn(rt, &Counter{}, actor.WithName("w2"), actor.WithMailbox(1, actor.Reject))
		busy := make(chan struct{})
		if err := waitOn.Cast(w2, busy); err != nil { // w2's turn is busy
			t.Fatal(err)
		}
		synctest.Wait()
		if err := Inc.Cast(w2, 1); err != nil { // and its mailbox full
			t.Fatal(err)
		}
		g, err := actor.NewGroup([]*actor.Ref[*Counter]{w1, w2}, actor.First(10*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		fail1 := make(chan struct{})
		pooled := make(chan error, 1)
		go func() {
			_, err := actor.CallPool(context.Background(), failOn, g, fail1)
			pooled <- err
		}()
		time.Sleep(20 * time.Millisecond) // the stagger asked w2
		synctest.Wait()
		w2.Kill()
		close(busy)
		<-w2.Done()
		close(fail1) // w1 fails: every worker has
		select {
		case err := <-pooled:
			if !errors.Is(err, actor.ErrStopped) && !errors.Is(err, actor.ErrMailboxFull) {
				t.Errorf("CallPool = %v; want w2's failure (stopped or full) among the errors", err)
			}
		case <-time.After(time.Minute):
			t.Fatal("CallPool had no outcome a minute after every worker failed")
		}
	})
}
