package actor_test

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

// goexitOnce is a dead-letter hook that ends its goroutine with
// runtime.Goexit (as t.FailNow in a hook does) the first time it is given
// a dead letter of reason why, and records the rest.
type goexitOnce struct {
	why  troupe.Reason
	done atomic.Bool
	rec  recorder
}

func (g *goexitOnce) Hook(d troupe.DeadLetter) {
	g.rec.Hook(d)
	if d.Reason == g.why && g.done.CompareAndSwap(false, true) {
		runtime.Goexit()
	}
}

// A dead-letter hook that calls runtime.Goexit while the actor fails its
// calls at the stop must not leave the stop half-done: Done closes, every
// other queued call has its outcome, and the runtime shuts down. idle: the
// kill finds the actor idle with two held oneways and finalizes it on the
// killer's goroutine; busy: the killed actor fails its queue on its turn.
func TestDeadLetterHookGoexitAtStop(t *testing.T) {
	for _, isBusy := range []bool{false, true} {
		name := "idle"
		if isBusy {
			name = "busy"
		}
		t.Run(name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				g := &goexitOnce{why: troupe.ReasonStopped}
				rt := newRuntime(t, troupe.WithDeadLetterHook(g.Hook))
				acct := spawnAccount(t, rt)
				ctx := context.Background()
				var call *actor.Future[int]
				var release func()
				if isBusy {
					release = busy(t, acct)
				} else {
					mustCall(t, ctx, wlOnly, acct, []actor.Admitter{Balance})
				}
				_ = Deposit.Cast(acct, 1)
				_ = Deposit.Cast(acct, 2)
				call = Deposit.Ask(ctx, acct, 3)
				synctest.Wait()
				go acct.Kill() // the hook may end this goroutine
				synctest.Wait()
				if isBusy {
					release()
				}
				select {
				case <-acct.Done():
				case <-time.After(time.Minute):
					t.Fatal("Done still open a minute after the kill")
				}
				if _, err := call.Await(ctx); err == nil {
					t.Fatal("queued call: got nil; want ErrStopped")
				}
				if n := g.rec.Count(troupe.ReasonStopped, "deposit"); n != 3 {
					t.Fatalf("%d stopped dead letters; want 3 (the two oneways and the call)", n)
				}
			})
		})
	}
}

// As TestDeadLetterHookGoexitAtStop, when the hook is told of a oneway
// whose handler panicked (the report runs as the turn recovers): the actor
// goes on (here it resumes), and a later stop ends.
func TestDeadLetterHookGoexitAtPanic(t *testing.T) {
	bubble(t, func(t *testing.T) {
		g := &goexitOnce{why: troupe.ReasonFailed}
		rt := newRuntime(t, troupe.WithDeadLetterHook(g.Hook))
		acct := spawnAccount(t, rt)
		ctx := context.Background()
		_ = Boom.Cast(acct, "x")
		synctest.Wait()
		call := Deposit.Ask(ctx, acct, 1)
		synctest.Wait()
		if v, err := call.Await(ctx); err != nil || v != 1 {
			t.Fatalf("call after the panic = %v, %v; want 1", v, err)
		}
		go func() { _ = acct.Stop(ctx) }()
		select {
		case <-acct.Done():
		case <-time.After(time.Minute):
			t.Fatal("Done still open a minute after the stop")
		}
	})
}
