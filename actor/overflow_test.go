package actor_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

// busy occupies acct until the returned func is called.
func busy(t *testing.T, acct *actor.Ref[*Account]) (release func()) {
	gate := make(chan struct{})
	started := make(chan struct{})
	hold := actor.NewMethod("hold", func(a *Account, _ *actor.Ctx, _ int) (int, error) {
		close(started)
		<-gate
		return 0, nil
	})
	if err := hold.Cast(acct, 0); err != nil {
		t.Fatal(err)
	}
	<-started
	return func() { close(gate) }
}

func TestMailboxReject(t *testing.T) {
	rec := &recorder{}
	rt := newRuntime(t, troupe.WithDeadLetterHook(rec.Hook))
	acct := spawnAccount(t, rt, actor.WithMailbox(2, actor.Reject))
	release := busy(t, acct)
	for i := 0; i < 2; i++ {
		if err := Deposit.Cast(acct, 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := Deposit.Cast(acct, 1); !errors.Is(err, actor.ErrMailboxFull) {
		t.Fatalf("Cast into a full mailbox = %v; want ErrMailboxFull", err)
	}
	if _, err := Deposit.Call(context.Background(), acct, 1); !errors.Is(err, actor.ErrMailboxFull) {
		t.Fatalf("Call into a full mailbox = %v; want ErrMailboxFull", err)
	}
	release()
	waitQueued(t, acct, 0)
	if bal, _ := Balance.Call(context.Background(), acct, struct{}{}); bal != 2 {
		t.Fatalf("balance = %d; want 2 (the rejected ones never ran)", bal)
	}
	if rec.Count(troupe.ReasonMailboxFull, "deposit") != 2 {
		t.Fatalf("dead letters = %v; want 2 mailbox-full deposits", rec.All())
	}
}

// DropOldest: the evicted call's own caller is told at once.
func TestMailboxDropOldest(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		acct := spawnAccount(t, rt, actor.WithMailbox(1, actor.DropOldest))
		gate := make(chan struct{})
		hold := actor.NewMethod("hold", func(a *Account, _ *actor.Ctx, _ int) (int, error) { <-gate; return 0, nil })
		_ = hold.Cast(acct, 0)
		synctest.Wait()
		first := make(chan error, 1)
		go func() { _, err := Deposit.Call(context.Background(), acct, 1); first <- err }()
		synctest.Wait()
		second := make(chan error, 1)
		go func() { _, err := Deposit.Call(context.Background(), acct, 2); second <- err }()
		synctest.Wait()
		select {
		case err := <-first:
			if !errors.Is(err, actor.ErrDropped) || !errors.Is(err, actor.ErrMailboxFull) {
				t.Fatalf("evicted call = %v; want ErrDropped (an ErrMailboxFull)", err)
			}
		default:
			t.Fatal("the evicted call's caller was not told at once")
		}
		close(gate)
		if err := <-second; err != nil {
			t.Fatalf("surviving call = %v", err)
		}
	})
}

// Block: the sender waits for room, bounded by its ctx.
func TestMailboxBlock(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t, troupe.WithCallTimeout(10*time.Second))
		acct := spawnAccount(t, rt, actor.WithMailbox(1, actor.Block))
		gate := make(chan struct{})
		hold := actor.NewMethod("hold", func(a *Account, _ *actor.Ctx, _ int) (int, error) { <-gate; return 0, nil })
		_ = hold.Cast(acct, 0)
		synctest.Wait()
		if err := Deposit.Cast(acct, 1); err != nil { // fills the mailbox
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		_, err := Deposit.Call(ctx, acct, 1)
		if !errors.Is(err, actor.ErrMailboxFull) || time.Since(start) != time.Second {
			t.Fatalf("blocked Call = %v after %v; want ErrMailboxFull after 1s", err, time.Since(start))
		}
		// An Ask gets the same outcome as the Call, never the ctx's expiry.
		actx, acancel := context.WithTimeout(context.Background(), time.Second)
		defer acancel()
		if _, err := Deposit.Ask(actx, acct, 1).Await(context.Background()); !errors.Is(err, actor.ErrMailboxFull) {
			t.Fatalf("blocked Ask = %v; want ErrMailboxFull", err)
		}
		// A Cast blocks up to the call timeout, then fails.
		start = time.Now()
		if err := Deposit.Cast(acct, 1); !errors.Is(err, actor.ErrMailboxFull) || time.Since(start) != 10*time.Second {
			t.Fatalf("blocked Cast = %v after %v; want ErrMailboxFull after 10s", err, time.Since(start))
		}
		// Room frees: a blocked sender goes through.
		done := make(chan error, 1)
		go func() { _, err := Deposit.Call(context.Background(), acct, 1); done <- err }()
		synctest.Wait()
		close(gate)
		if err := <-done; err != nil {
			t.Fatalf("sender blocked until room = %v", err)
		}
	})
}

// Guarantee 7: 256 actors whose handlers wait in sync calls, on a pool of
// 64; another still answers, and at once (a handler waiting in a call lends
// its loop: no watchdog delay).
func TestBlockedHandlersDoNotStarvePool(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t, troupe.WithPoolSize(64), troupe.WithCallTimeout(time.Hour))
		// The callee is owner-driven and nobody processes it yet: every
		// call to it waits.
		callee, err := actor.NewHandler(rt, &Account{})
		if err != nil {
			t.Fatal(err)
		}
		wait := actor.NewMethod("wait", func(_ *Account, c *actor.Ctx, _ int) (int, error) {
			return Balance.Call(c.Context(), callee.Ref(), struct{}{})
		})
		for range 256 {
			_ = wait.Cast(spawnAccount(t, rt), 0)
		}
		synctest.Wait()
		if n := callee.Ref().Queued(); n != 256 {
			t.Fatalf("%d calls wait at the callee; want 256", n)
		}
		free := spawnAccount(t, rt)
		start := time.Now()
		if _, err := Deposit.Call(context.Background(), free, 1); err != nil {
			t.Fatalf("call with 256 blocked handlers = %v", err)
		}
		if d := time.Since(start); d != 0 {
			t.Fatalf("call with 256 blocked handlers took %v; want 0", d)
		}
		if err := callee.Process(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

// Oneway failures reach the dead-letter hook with the method name.
func TestOnewayFailuresAreDeadLetters(t *testing.T) {
	rec := &recorder{}
	rt := newRuntime(t, troupe.WithDeadLetterHook(rec.Hook))
	acct := spawnAccount(t, rt)
	_ = Deposit.Cast(acct, -1)
	_ = Boom.Cast(acct, "oops")
	if _, err := Balance.Call(context.Background(), acct, struct{}{}); err != nil {
		t.Fatal(err)
	}
	if rec.Count(troupe.ReasonFailed, "deposit") != 1 || rec.Count(troupe.ReasonFailed, "boom") != 1 {
		t.Fatalf("dead letters = %v; want failed deposit and boom", rec.All())
	}
	for _, d := range rec.All() {
		var pe *actor.PanicError
		if d.Method == "boom" && !errors.As(d.Err, &pe) {
			t.Fatalf("boom's dead letter = %v; want a *PanicError", d.Err)
		}
	}
	st := rt.DeadLetters()
	if st.ByReason[troupe.ReasonFailed] != 2 || st.Total != 2 {
		t.Fatalf("stats = %+v; want 2 failed", st)
	}
	acct.Kill()
	<-acct.Done()
	_ = Deposit.Cast(acct, 1)
	if rec.Count(troupe.ReasonStopped, "deposit") != 1 {
		t.Fatalf("a Cast to a stopped actor was not a dead letter: %v", rec.All())
	}
}

// TestFloodWaitIsBounded: senders far ahead of an actor wait for it to
// take its next batch, but never long: with the actor stuck in a
// handler, each flooded Cast still returns within its bound, and nothing
// is lost.
func TestFloodWaitIsBounded(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		gate := make(chan struct{})
		l := &ledger{got: map[int][]amount{}, done: nil}
		ref, err := actor.Spawn(rt, l)
		if err != nil {
			t.Fatal(err)
		}
		if err := stuck.Cast(ref, gate); err != nil {
			t.Fatal(err)
		}
		// Past the flood threshold (8192) twice: the actor's first turn
		// takes what is queued then as its batch before it gets stuck.
		const n = 20000
		start := time.Now()
		for i := range n {
			if err := credit.Cast(ref, amount{Sender: 1, Seq: i}); err != nil {
				t.Fatal(err)
			}
		}
		if d := time.Since(start); d == 0 || d > n*time.Millisecond {
			t.Fatalf("flooded casts took %v of fake time; want some waiting, each wait bounded (1 ms)", d)
		}
		close(gate)
		if got, err := ledgerLen.Call(context.Background(), ref, struct{}{}); err != nil || got != n {
			t.Fatalf("handled: got %d, %v; want %d", got, err, n)
		}
	})
}

var stuck = actor.NewMethod("stuck", func(_ *ledger, _ *actor.Ctx, gate chan struct{}) (struct{}, error) {
	<-gate
	return struct{}{}, nil
})
