package actor_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

// The end of a reader's ctx detaches it whether or not the stream has
// ended: a reader that never read the stream's error, whose ctx ends
// after the end, leaves the error to the dead letters (nobody received
// it), and a reader whose ctx has ended reads nothing more, as on an open
// stream.
func TestStreamCtxEndsReaderAfterEnd(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rec := &recorder{}
		rt := newRuntime(t, troupe.WithDeadLetterHook(rec.Hook))
		ref, feed := spawnFeed(t, rt)
		ctx, cancel := context.WithCancel(context.Background())
		f, err := Tail.Open(ctx, ref, feedReq{Keep: "k", Send: []int{1, 2}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := emit.Call(context.Background(), ref, emitReq{Name: "k", Close: true, Err: errBroken}); err != nil {
			t.Fatal(err)
		}
		late, lateCancel := context.WithCancel(context.Background())
		g, err := feed.outs["k"].Follow(late) // after the end, kept Out
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		lateCancel()
		synctest.Wait()
		if n := rec.Count(troupe.ReasonFailed, "tail"); n != 1 {
			t.Errorf("dead letters once every reader's ctx ended unread: %d (%v); want 1", n, rec.All())
		}
		for _, r := range []*actor.Follow[int]{f, g} {
			vals, _, err := drain(r)
			if len(vals) != 0 || !errors.Is(err, context.Canceled) {
				t.Errorf("read after the reader's ctx ended: got %v, %v; want nothing, context.Canceled", vals, err)
			}
		}
	})
}

// A reader whose ctx has ended reads nothing more from then on, whether
// or not the ctx watch (which runs on a goroutine of its own) has
// detached it yet: Collected and All right after the cancel get the
// ctx's end, not the items kept.
func TestStreamNoReadAfterCtxEnds(t *testing.T) {
	rt := newRuntime(t)
	ref, _ := spawnFeed(t, rt)
	for i := range 20 {
		ctx, cancel := context.WithCancel(context.Background())
		f, err := Tail.Open(ctx, ref, feedReq{Send: []int{1, 2, 3}})
		if err != nil {
			t.Fatal(err)
		}
		g, err := Tail.Follow(ctx, ref, f.ID())
		if err != nil {
			t.Fatal(err)
		}
		cancel()
		items, err := f.Collected()
		if len(items) != 0 || !errors.Is(err, context.Canceled) {
			t.Fatalf("run %d: Collected after the reader's ctx ended: got %d items, %v; want none, context.Canceled", i, len(items), err)
		}
		if vals, _, err := drain(g); len(vals) != 0 || !errors.Is(err, context.Canceled) {
			t.Fatalf("run %d: All after the reader's ctx ended: got %v, %v; want nothing, context.Canceled", i, vals, err)
		}
	}
}
