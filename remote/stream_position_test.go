package remote_test

import (
	"math"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/remote"
)

// TestStreamRecentLarge: Recent(n) for an n past the journal, however
// large (past an int32 too), places a remote reader as a local one: at
// the oldest item kept.
func TestStreamRecentLarge(t *testing.T) {
	s := startServer(t)
	srv, cli := startNode(t, s.ClientURL()), startNode(t, s.ClientURL())
	ref := feed(t, srv)
	ctx := ctxTimeout(t, 30*time.Second)
	for _, n := range []int{1 << 20, math.MaxInt32 + 1, math.MaxInt} {
		local, err := Tail.Open(ctx, ref, TailReq{N: 50}, actor.Recent(n))
		if err != nil {
			t.Fatalf("local Open, Recent(%d): %v", n, err)
		}
		var want []actor.Item[string]
		for it, err := range local.All() {
			if err != nil {
				t.Fatalf("local, Recent(%d): %v", n, err)
			}
			want = append(want, it)
		}
		if len(want) != 50 || want[0].Seq != 0 {
			t.Fatalf("local, Recent(%d): %d items; want 50 from 0", n, len(want))
		}
		f, err := remote.BindStream(cli, "feed", Tail).Open(ctx, TailReq{N: 50}, actor.Recent(n))
		if err != nil {
			t.Fatalf("Open, Recent(%d): %v; want the items a local reader gets", n, err)
		}
		items, err := readAll(f)
		if err != nil || len(items) != 50 || items[0].Seq != 0 {
			t.Fatalf("Recent(%d): %d items, %v; want 50 from 0", n, len(items), err)
		}
	}
}
