package actor_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

var sessionHold = actor.NewMethod("hold", func(s *session, _ *actor.Ctx, gate chan struct{}) (int, error) {
	<-gate
	return len(s.idled), nil
})

// The idle timeout's cast is queued from the actor's own turn: with a full
// Block-policy mailbox it must not wait for room (only this turn could make
// some), which stalled the actor, and any stop, for the call timeout.
func TestIdleTimeoutFullBlockMailbox(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ref, gate, letters := fullIdleSession(t, actor.Block)
		start := time.Now()
		close(gate)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := sessionTouch.Call(ctx, ref, 0); err != nil {
			t.Fatalf("call after the queue: %v", err)
		}
		if d := time.Since(start); d != 0 {
			t.Fatalf("the actor stalled %v on its own full mailbox (the idle cast waited for room)", d)
		}
		if err := ref.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if n := letters.Count(troupe.ReasonMailboxFull, "idle"); n != 1 {
			t.Errorf("%d mailbox-full dead letters for the idle cast; want 1 (%v)", n, letters.All())
		}
	})
}

// An idle cast the full mailbox refused is not the idle spell's cast: the
// actor, still idle (with IdleOnTouch nothing else restarts its count),
// gets one later, not never.
func TestIdleTimeoutRefusedRetried(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ref, gate, letters := fullIdleSession(t, actor.Block)
		close(gate) // the idle cast is refused: the mailbox is full
		ctx := context.Background()
		time.Sleep(5 * time.Second) // idle all along
		n, err := sessionTouch.Call(ctx, ref, 0)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatalf("no idle cast in 7 s of idleness after one was refused (%v)", letters.All())
		}
		if err := ref.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// The idle timeout's cast into a full DropOldest mailbox is refused, as
// into any full mailbox: it must not evict a queued call (whose caller
// would get ErrDropped) to make room for itself.
func TestIdleTimeoutFullDropOldestMailbox(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ref, gate, letters := fullIdleSession(t, actor.DropOldest)
		close(gate) // the idle cast finds the mailbox full
		synctest.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := sessionTouch.Call(ctx, ref, 2); err != nil {
			t.Fatalf("call after the queue: %v", err)
		}
		if err := ref.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if n := letters.Count(troupe.ReasonDropped, "touch"); n != 0 {
			t.Errorf("the idle cast evicted %d queued call(s) (%v)", n, letters.All())
		}
		if n := letters.Count(troupe.ReasonMailboxFull, "idle"); n != 1 {
			t.Errorf("%d mailbox-full dead letters for the idle cast; want 1 (%v)", n, letters.All())
		}
	})
}

// fullIdleSession spawns a session with a mailbox of 2 under policy and
// an idle timeout of a second counted by touches only, holds its turn
// while the idle timer fires, and fills its mailbox with calls that are
// not activity: closing gate ends the turn, and the idle cast then finds
// the mailbox full. In a bubble.
func fullIdleSession(t *testing.T, policy actor.Overflow) (*actor.Ref[*session], chan struct{}, *recorder) {
	t.Helper()
	letters := new(recorder)
	rt := newRuntime(t, troupe.WithDeadLetterHook(letters.Hook))
	s := &session{start: time.Now()}
	ref, err := actor.Spawn(rt, s, actor.WithMailbox(2, policy), actor.IdleOnTouch(),
		actor.WithIdleTimeout(time.Second, sessionIdle, struct{}{}))
	if err != nil {
		t.Fatal(err)
	}
	gate := make(chan struct{})
	if err := sessionHold.Cast(ref, gate); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second) // the idle timer fires during the held turn
	for i := range 2 {
		if err := sessionTouch.Cast(ref, i); err != nil {
			t.Fatal(err)
		}
	}
	return ref, gate, letters
}
