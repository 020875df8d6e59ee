package actor_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
)

// Bad input to streams gets a documented sentinel, never a panic or a
// hang.
func TestStreamBadInput(t *testing.T) {
	rt := newRuntime(t)
	ref, feed := spawnFeed(t, rt)
	ctx := context.Background()
	var (
		nilCtx    context.Context
		nilRef    *actor.Ref[*Feed]
		nilStream *actor.Stream[*Feed, feedReq, int]
		nilOut    *actor.Out[int]
		zeroOut   actor.Out[int]
		nilFollow *actor.Follow[int]
		zero      actor.Stream[*Feed, feedReq, int] // not made by NewStream
	)
	noFn := actor.NewStream[*Feed, int, int]("no-fn", nil)
	badName := actor.NewStream("bad\nname", func(*Feed, *actor.Ctx, int, *actor.Out[int]) error { return nil })
	longName := actor.NewStream(strings.Repeat("s", 256), func(*Feed, *actor.Ctx, int, *actor.Out[int]) error { return nil })
	opened := func(s *actor.Stream[*Feed, int, int]) error {
		_, err := s.Open(ctx, ref, 0)
		return err
	}
	withOpts := func(opts ...actor.StreamOption) *actor.Stream[*Feed, int, int] {
		return actor.NewStream("opts", func(*Feed, *actor.Ctx, int, *actor.Out[int]) error { return nil }, opts...)
	}
	openWith := func(opts ...actor.FollowOption) error {
		_, err := Tail.Open(ctx, ref, feedReq{Close: true}, opts...)
		return err
	}
	closedOut := func() *actor.Out[int] {
		if _, err := Tail.Open(ctx, ref, feedReq{Keep: "closed"}); err != nil {
			t.Fatal(err)
		}
		out := feed.outs["closed"]
		_ = out.Close(nil)
		return out
	}()
	busy, err := Tail.Open(ctx, ref, feedReq{Send: []int{1}, Close: true})
	if err != nil {
		t.Fatal(err)
	}
	var busyErr error
	for range busy.All() {
		_, busyErr = busy.Collected() // inside its own All
	}

	tests := []struct {
		name string
		err  error
		want error
	}{
		{"open nil ctx", second(Tail.Open(nilCtx, ref, feedReq{})), actor.ErrNilContext},
		{"open nil ref", second(Tail.Open(ctx, nilRef, feedReq{})), actor.ErrNilRef},
		{"open nil stream", second(nilStream.Open(ctx, ref, feedReq{})), actor.ErrNilHandler},
		{"open nil handler", opened(noFn), actor.ErrNilHandler},
		{"open zero stream", second(zero.Open(ctx, ref, feedReq{})), actor.ErrNilHandler},
		{"follow zero stream", second(zero.Follow(ctx, ref, 1)), actor.ErrNilHandler},
		{"open bad name", opened(badName), actor.ErrInvalidName},
		{"open long name", opened(longName), actor.ErrInvalidName},
		{"journal of 0 items", opened(withOpts(actor.WithJournal(0, 1))), actor.ErrInvalidOption},
		{"journal of -1 bytes", opened(withOpts(actor.WithJournal(1, -1))), actor.ErrInvalidOption},
		{"nil stream option", opened(withOpts(nil)), actor.ErrInvalidOption},
		{"nil size function", opened(withOpts(actor.WithItemSize[int](nil))), actor.ErrInvalidOption},
		{"size function of another type", opened(withOpts(actor.WithItemSize(func(string) int { return 0 }))), actor.ErrInvalidOption},
		{"negative Recent", openWith(actor.Recent(-1)), actor.ErrInvalidOption},
		{"negative ReadTimeout", openWith(actor.ReadTimeout(-time.Second)), actor.ErrNegativeDuration},
		{"Since and Recent", openWith(actor.Since(1), actor.Recent(1)), actor.ErrInvalidOption},
		{"nil follow option", openWith(nil), actor.ErrInvalidOption},
		{"follow nil ctx", second(Tail.Follow(nilCtx, ref, 1)), actor.ErrNilContext},
		{"follow nil ref", second(Tail.Follow(ctx, nilRef, 1)), actor.ErrNilRef},
		{"follow unknown id", second(Tail.Follow(ctx, ref, 1<<62)), actor.ErrNoStream},
		{"follow an ended stream", second(Tail.Follow(ctx, ref, closedOut.ID())), actor.ErrNoStream},
		{"nil out send", nilOut.Send(1), actor.ErrNilStream},
		{"zero out send", zeroOut.Send(1), actor.ErrNilStream},
		{"nil out close", nilOut.Close(nil), actor.ErrNilStream},
		{"nil out wait", nilOut.Wait(ctx), actor.ErrNilStream},
		{"nil out send wait", nilOut.SendWait(ctx, 1), actor.ErrNilStream},
		{"nil out follow", second(nilOut.Follow(ctx)), actor.ErrNilStream},
		{"nil out context", context.Cause(nilOut.Context()), actor.ErrNilStream},
		{"wait nil ctx", closedOut.Wait(nilCtx), actor.ErrNilContext},
		{"send wait nil ctx", closedOut.SendWait(nilCtx, 1), actor.ErrNilContext},
		{"out follow nil ctx", second(closedOut.Follow(nilCtx)), actor.ErrNilContext},
		{"send after close", closedOut.Send(1), actor.ErrStreamClosed},
		{"send wait after close", closedOut.SendWait(ctx, 1), actor.ErrStreamClosed},
		{"close twice", closedOut.Close(nil), actor.ErrStreamClosed},
		{"nil follow close", nilFollow.Close(), actor.ErrNilStream},
		{"nil follow collected", second(nilFollow.Collected()), actor.ErrNilStream},
		{"nil follow all", lastErr(nilFollow), actor.ErrNilStream},
		{"collected inside all", busyErr, actor.ErrFollowBusy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, tt.want) {
				t.Fatalf("got %v; want %v", tt.err, tt.want)
			}
		})
	}
	if id := nilFollow.ID(); id != 0 {
		t.Errorf("nil Follow's ID = %d; want 0", id)
	}
}

func second[T any](_ T, err error) error { return err }

func lastErr[E any](f *actor.Follow[E]) error {
	_, _, err := drain(f)
	return err
}

// Stream ids are unique in the process, and a reader's is its stream's.
func TestStreamIDs(t *testing.T) {
	rt := newRuntime(t)
	ref, feed := spawnFeed(t, rt)
	ctx := context.Background()
	seen := make(map[uint64]bool)
	for i := range 10 {
		f, err := Tail.Open(ctx, ref, feedReq{Keep: "k"})
		if err != nil {
			t.Fatal(err)
		}
		if seen[f.ID()] || f.ID() == 0 {
			t.Fatalf("stream %d has id %d, seen before (or zero)", i, f.ID())
		}
		seen[f.ID()] = true
		if got := feed.outs["k"].ID(); got != f.ID() {
			t.Fatalf("Out.ID() = %d; want the reader's %d", got, f.ID())
		}
	}
}
