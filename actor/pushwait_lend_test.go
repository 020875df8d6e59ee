package actor_test

import (
	"context"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

type pwSink struct{ n int }

var sinkAdd = actor.NewMethod("pwSink add", func(s *pwSink, _ *actor.Ctx, _ int) (int, error) {
	s.n++
	return s.n, nil
})

// relay's handler calls the pwSink twice, filling its Block-policy
// mailbox (capacity 1) with the first, so the second waits for room.
var relay = actor.NewMethod("relay", func(to *actor.Ref[*pwSink], c *actor.Ctx, _ int) (int, error) {
	if err := sinkAdd.Cast(to, 0); err != nil {
		return 0, err
	}
	return sinkAdd.Call(c.Context(), to, 0)
})

// A handler whose Call waits for room in a full Block-policy mailbox is
// waiting for another actor, as in the call itself: it must lend its
// loop, or, on a pool of one loop, the actor it waits for never runs and
// the call fails at its deadline with ErrMailboxFull.
func TestCallPushWaitLendsLoop(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t, troupe.WithPoolSize(1), troupe.WithCallTimeout(time.Minute))
		s, err := actor.Spawn(rt, &pwSink{}, actor.WithMailbox(1, actor.Block))
		if err != nil {
			t.Fatal(err)
		}
		r, err := actor.Spawn(rt, s)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		n, err := relay.Call(context.Background(), r, 0)
		if err != nil || n != 2 {
			t.Fatalf("relay = %d, %v; want 2, nil", n, err)
		}
		if took := time.Since(start); took != 0 {
			t.Fatalf("relay took %v of fake time; want none (the pwSink runs while the relay waits for room)", took)
		}
	})
}
