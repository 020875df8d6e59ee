package actor_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"

	"github.com/troupe-go/troupe/actor"
)

// Wait on a stream with a size function returns only once the unread
// items take fewer bytes than the byte bound, as it says: with exactly
// the bound unread, the next Send of any size drops one of them, so Wait
// waits, and a 1-byte Send after it drops nothing.
func TestStreamWaitByteBound(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		ref, feed := spawnFeed(t, rt)
		sized := actor.NewStream("sized", func(f *Feed, _ *actor.Ctx, _ int, out *actor.Out[int]) error {
			f.outs["s"] = out
			return nil
		}, actor.WithJournal(100, 10), actor.WithItemSize(func(v int) int { return v }))
		ctx := context.Background()
		f, err := sized.Open(ctx, ref, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		out := feed.outs["s"]
		for _, v := range []int{5, 5} { // 10 of 10 bytes, unread
			if err := out.Send(v); err != nil {
				t.Fatal(err)
			}
		}
		waited := make(chan error, 1)
		go func() { waited <- out.Wait(ctx) }()
		synctest.Wait()
		select {
		case err := <-waited:
			t.Fatalf("Wait with 10 of 10 bytes unread returned %v; want it to wait for the reader", err)
		default:
		}
		got, err := f.Collected()
		if len(got) != 2 || err != nil {
			t.Fatalf("Collected: %v, %v; want items 0 and 1", got, err)
		}
		if err := <-waited; err != nil {
			t.Fatalf("Wait once the reader read: %v", err)
		}
		// Fewer bytes than the bound unread: Wait returns at once, and a
		// 1-byte Send drops nothing.
		_ = out.Send(9)
		if err := out.Wait(ctx); err != nil {
			t.Fatalf("Wait with 9 of 10 bytes unread: %v", err)
		}
		_ = out.Send(1)
		got, err = f.Collected()
		if err != nil || len(got) != 2 || got[0].Seq != 2 || got[1].Seq != 3 {
			var te *actor.TruncatedError
			if errors.As(err, &te) {
				t.Fatalf("a 1-byte Send after Wait dropped an unread item: %v", err)
			}
			t.Fatalf("Collected: %v, %v; want items 2 and 3", got, err)
		}
	})
}
