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

// heldReq drives Held: its handler hands out its producer end and stays
// in its turn until released, then returns nil, leaving the stream open
// (a producer that keeps out, or hands it to a goroutine).
type heldReq struct {
	outs    chan *actor.Out[int]
	release chan struct{}
}

var Held = actor.NewStream("held", func(_ *Feed, _ *actor.Ctx, r heldReq, out *actor.Out[int]) error {
	r.outs <- out
	<-r.release
	return nil
})

// An Open that gives up (its ctx's cancel, its deadline, or the runtime's
// call timeout) while the handler's turn runs returns the error and ends
// the stream the turn made: nobody got a reader or its id, so a stream
// left open would be read by nobody while its producer, told only by an
// Out.Context it may not watch, sent on into a journal held until the
// actor stops. Its Sends fail with ErrStreamClosed, Follow by id finds
// no stream, and the give-up is no dead letter (Open returned it). A
// stream that another reader followed by id during the turn stays open
// for that reader. Before the fix the stream stayed open in every case:
// Send succeeded and Follow found it.
func TestStreamOpenGivesUpMidTurn(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ctx    func() (context.Context, context.CancelFunc)
		giveUp func(cancel context.CancelFunc) // while the handler's turn runs
		want   error
		pool   bool
		follow bool // another reader follows the stream by id in the turn
	}{
		{name: "cancel", ctx: cancelCtx, giveUp: func(c context.CancelFunc) { c() }, want: context.Canceled},
		{name: "deadline", ctx: func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), time.Second)
		}, giveUp: func(context.CancelFunc) { time.Sleep(2 * time.Second) }, want: actor.ErrTimeout},
		{name: "call timeout", ctx: func() (context.Context, context.CancelFunc) {
			return context.Background(), func() {}
		}, giveUp: func(context.CancelFunc) { time.Sleep(time.Minute) }, want: actor.ErrTimeout},
		{name: "pool", ctx: cancelCtx, giveUp: func(c context.CancelFunc) { c() }, want: context.Canceled, pool: true},
		{name: "followed", ctx: cancelCtx, giveUp: func(c context.CancelFunc) { c() }, want: context.Canceled, follow: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				rec := &recorder{}
				rt := newRuntime(t, troupe.WithDeadLetterHook(rec.Hook), troupe.WithCallTimeout(10*time.Second))
				ref, _ := spawnFeed(t, rt)
				r := heldReq{outs: make(chan *actor.Out[int], 1), release: make(chan struct{})}
				ctx, cancel := tc.ctx()
				defer cancel()
				var pool *actor.Pool[*Feed]
				if tc.pool {
					var err error
					if pool, err = actor.NewPool(rt, 1, newFeed); err != nil {
						t.Fatal(err)
					}
					defer func() { pool.Kill(); <-pool.Done() }()
				}
				opened := make(chan error, 1)
				go func() {
					var f *actor.Follow[int]
					var err error
					if tc.pool {
						f, err = actor.OpenPool(ctx, Held, pool, r)
					} else {
						f, err = Held.Open(ctx, ref, r)
					}
					if f != nil {
						_ = f.Close()
					}
					opened <- err
				}()
				out := <-r.outs
				var g *actor.Follow[int]
				if tc.follow {
					var err error
					if g, err = Held.Follow(context.Background(), ref, out.ID()); err != nil {
						t.Fatalf("Follow by id in the turn: %v", err)
					}
					defer g.Close()
				}
				tc.giveUp(cancel)
				synctest.Wait()
				if err := <-opened; !errors.Is(err, tc.want) {
					t.Fatalf("Open: got %v; want %v", err, tc.want)
				}
				close(r.release)
				synctest.Wait()
				if tc.follow {
					if err := out.Send(7); err != nil {
						t.Fatalf("Send with a reader attached by id: %v; want nil (the stream stays open for it)", err)
					}
					_ = out.Close(nil)
					if vals, _, err := drain(g); err != nil || len(vals) != 1 || vals[0] != 7 {
						t.Fatalf("the reader by id: got %v, %v; want [7], nil", vals, err)
					}
					return
				}
				if err := out.Send(1); !errors.Is(err, actor.ErrStreamClosed) {
					t.Fatalf("Send after Open gave up mid-turn: got %v; want ErrStreamClosed (nobody can read the stream)", err)
				}
				if !tc.pool {
					if _, err := Held.Follow(context.Background(), ref, out.ID()); !errors.Is(err, actor.ErrNoStream) {
						t.Fatalf("Follow by id after Open gave up mid-turn: got %v; want ErrNoStream", err)
					}
				}
				if err := out.Context().Err(); err == nil {
					t.Fatal("the producer's Out.Context is live after Open gave up")
				}
				if n := len(rec.All()); n != 0 {
					t.Fatalf("dead letters: %v; want none (Open returned the give-up)", rec.All())
				}
			})
		})
	}
}

func cancelCtx() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}
