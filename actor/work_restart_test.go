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

// heldInc is a restarting actor whose fresh incarnations hold every call
// (Only with no method) from their Started hook on.
type heldInc struct{ gen int }

func (s *heldInc) Started(c *actor.Ctx) {
	if s.gen > 1 {
		_ = c.Only()
	}
}

var (
	heldIncStart = actor.NewMethod("start", func(_ *heldInc, c *actor.Ctx, fn workFn) (struct{}, error) {
		return struct{}{}, actor.Go(c, fn, heldIncDone)
	})
	heldIncDone  = actor.NewMethod("held inc done", func(*heldInc, *actor.Ctx, actor.Result[int]) (struct{}, error) { return struct{}{}, nil })
	heldIncPanic = actor.NewMethod("panic", func(*heldInc, *actor.Ctx, int) (struct{}, error) { panic("boom") })
	heldIncNop   = actor.NewMethod("nop", func(*heldInc, *actor.Ctx, int) (struct{}, error) { return struct{}{}, nil })
)

// A result of Go that waits for room in a full Block-policy mailbox when
// a restart ends the incarnation that started the work is refused as one
// queued before the restart is dropped: a dead letter (ReasonStopped) of
// ErrStopped wrapping the *PanicError that caused the restart, as Go
// documents. Before, it was a bare ErrStopped: the refusal was told apart
// from a full mailbox by its ctx, cancelled by the restart, and reported
// as the actor's stop.
func TestWorkRefusedAtRestart(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rec := &recorder{}
		rt := newRuntime(t, troupe.WithDeadLetterHook(rec.Hook), troupe.WithCallTimeout(time.Minute))
		gen := 0
		ref, err := actor.SpawnFunc(rt, func() *heldInc { gen++; return &heldInc{gen: gen} },
			actor.WithSupervision(actor.Supervision{Backoff: time.Second}),
			actor.WithMailbox(1, actor.Block))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		release := make(chan struct{})
		if _, err := heldIncStart.Call(ctx, ref, func(context.Context) (int, error) {
			<-release
			return 1, nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := heldIncPanic.Cast(ref, 0); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // the state panicked; the restart waits its backoff
		if err := heldIncNop.Cast(ref, 0); err != nil {
			t.Fatal(err) // the mailbox is full
		}
		close(release)
		synctest.Wait()             // the result waits for room
		time.Sleep(2 * time.Second) // the backoff: the fresh state holds the queued nop
		synctest.Wait()
		var got []troupe.DeadLetter
		for _, d := range rec.All() {
			if d.Method == "held inc done" {
				got = append(got, d)
			}
		}
		var pe *actor.PanicError
		if len(got) != 1 || got[0].Reason != troupe.ReasonStopped || !errors.Is(got[0].Err, actor.ErrStopped) || !errors.As(got[0].Err, &pe) {
			t.Fatalf("the result's dead letters: %v; want one, stopped, ErrStopped wrapping the *PanicError", got)
		}
	})
}
