package actor_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

// Guarantee 4: a call whose caller gave up before it started never runs.
func TestExpiredCallNeverRuns(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rec := &recorder{}
		rt := newRuntime(t, troupe.WithDeadLetterHook(rec.Hook))
		acct := spawnAccount(t, rt)
		var ran atomic.Int32
		counted := actor.NewMethod("counted", func(a *Account, _ *actor.Ctx, _ int) (int, error) {
			ran.Add(1)
			return 0, nil
		})
		// Occupy the actor for a second of fake time.
		go Sleep.Call(context.Background(), acct, time.Second)
		synctest.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := counted.Call(ctx, acct, 0)
		if !errors.Is(err, actor.ErrTimeout) {
			t.Fatalf("got %v; want ErrTimeout", err)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if ran.Load() != 0 {
			t.Fatal("a call whose caller gave up before it started was run")
		}
		if rec.Count(troupe.ReasonExpired, "counted") != 1 {
			t.Fatalf("dead letters = %v; want one expired 'counted'", rec.All())
		}
	})
}

// The default call timeout applies when ctx has no deadline, and the
// handler's Context carries it.
func TestDefaultCallTimeout(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t, troupe.WithCallTimeout(3*time.Second))
		acct := spawnAccount(t, rt)
		seenc := make(chan time.Time, 1)
		peek := actor.NewMethod("peek", func(a *Account, c *actor.Ctx, _ int) (int, error) {
			d, _ := c.Context().Deadline()
			seenc <- d
			<-c.Context().Done()
			return 0, nil
		})
		start := time.Now()
		_, err := peek.Call(context.Background(), acct, 0)
		if !errors.Is(err, actor.ErrTimeout) {
			t.Fatalf("got %v; want ErrTimeout", err)
		}
		if took := time.Since(start); took < 3*time.Second || took > 3*time.Second+10*time.Millisecond {
			t.Fatalf("timed out after %v; want 3s (one tick late at most)", took)
		}
		seen := <-seenc
		if want := start.Add(3 * time.Second); seen.Before(want.Add(-time.Millisecond)) || seen.After(want.Add(time.Millisecond)) {
			t.Fatalf("handler saw deadline %v; want ≈ %v", seen, want)
		}
	})
}

// A late reply is discarded and never delivered to a later call.
func TestLateReplyDiscarded(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rec := &recorder{}
		rt := newRuntime(t, troupe.WithDeadLetterHook(rec.Hook))
		acct := spawnAccount(t, rt)
		gate := make(chan struct{})
		slow := actor.NewMethod("slow", func(a *Account, _ *actor.Ctx, v int) (int, error) {
			<-gate // ignores its Context on purpose
			return v, nil
		})
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := slow.Call(ctx, acct, 1)
		cancel()
		if !errors.Is(err, actor.ErrTimeout) {
			t.Fatalf("got %v; want ErrTimeout", err)
		}
		close(gate)
		got, err := slow.Call(context.Background(), acct, 2)
		if err != nil || got != 2 {
			t.Fatalf("next call = %d, %v; want its own reply 2", got, err)
		}
		if rec.Count(troupe.ReasonLate, "slow") != 1 {
			t.Fatalf("dead letters = %v; want one late 'slow'", rec.All())
		}
	})
}

// A cancelled (not timed-out) ctx gives context.Canceled, not ErrTimeout.
func TestCallCancelled(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		acct := spawnAccount(t, rt)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(time.Second, cancel)
		_, err := Sleep.Call(ctx, acct, time.Hour)
		if !errors.Is(err, context.Canceled) || errors.Is(err, actor.ErrTimeout) {
			t.Fatalf("got %v; want context.Canceled", err)
		}
	})
}

func TestAsk(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		a, b := spawnAccount(t, rt), spawnAccount(t, rt)
		ctx := context.Background()
		f1 := Deposit.Ask(ctx, a, 5)
		f2 := Deposit.Ask(ctx, b, 7)
		f3 := Deposit.Ask(ctx, b, -1)
		vals, err := actor.AwaitAll(ctx, f1, f2, f3)
		if !errors.Is(err, errNegative) || len(vals) != 3 || vals[0] != 5 || vals[1] != 7 {
			t.Fatalf("AwaitAll = %v, %v; want [5 7 0] and the joined errNegative", vals, err)
		}
		v1, err1 := f1.Await(ctx)
		v2, err2 := f2.Await(ctx)
		if v1 != 5 || v2 != 7 || err1 != nil || err2 != nil {
			t.Fatalf("replies = %d,%v %d,%v; want 5 and 7", v1, err1, v2, err2)
		}
		// Await bounded by its own ctx; the future stays usable.
		f := Sleep.Ask(ctx, a, 2*time.Second) // within the default 5 s timeout
		actx, cancel := context.WithTimeout(ctx, time.Second)
		if _, err := f.Await(actx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Await = %v; want DeadlineExceeded", err)
		}
		cancel()
		if _, err := f.Await(ctx); err != nil {
			t.Fatalf("second Await = %v; want the reply", err)
		}
		// An Ask with a deadline times out by itself.
		dctx, cancel2 := context.WithTimeout(ctx, time.Second)
		defer cancel2()
		if _, err := Sleep.Ask(dctx, a, time.Hour).Await(ctx); !errors.Is(err, actor.ErrTimeout) {
			t.Fatalf("Ask past its deadline = %v; want ErrTimeout", err)
		}
	})
}

// An Ask refused by a full Block-policy mailbox, with a ctx that has no
// deadline, fails with ErrMailboxFull (as Call does), not a bare ErrTimeout:
// the call's default deadline, armed before the push, fires at the same
// moment as the push's wait ends, and must not take the outcome.
func TestAskBlockFullDefaultDeadline(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rec := &recorder{}
		rt := newRuntime(t, troupe.WithDeadLetterHook(rec.Hook), troupe.WithCallTimeout(time.Second))
		acct := spawnAccount(t, rt, actor.WithMailbox(1, actor.Block))
		gate := make(chan struct{})
		hold := actor.NewMethod("hold", func(a *Account, _ *actor.Ctx, _ int) (int, error) {
			<-gate
			return 0, nil
		})
		if err := hold.Cast(acct, 0); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if err := hold.Cast(acct, 0); err != nil { // fills the mailbox
			t.Fatal(err)
		}
		_, cerr := Deposit.Call(context.Background(), acct, 1)
		f := Deposit.Ask(context.Background(), acct, 1)
		_, aerr := f.Await(context.Background())
		close(gate)
		synctest.Wait()
		if !errors.Is(cerr, actor.ErrMailboxFull) {
			t.Errorf("Call: got %v; want ErrMailboxFull", cerr)
		}
		if !errors.Is(aerr, actor.ErrMailboxFull) {
			t.Errorf("Ask: got %v; want ErrMailboxFull", aerr)
		}
	})
}
