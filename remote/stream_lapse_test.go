package remote_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/troupe-go/troupe/remote"
)

// TestStreamCtxEndWhilePaused: a reader whose ctx ends while its owner is
// not reading (its keepalive then detaches it from the serving node) ends
// with ctx's end, as All's doc says — not ErrStreamClosed, which is for a
// Close its owner never made.
func TestStreamCtxEndWhilePaused(t *testing.T) {
	s := startServer(t)
	const hb = 20 * time.Millisecond
	srv := startNode(t, s.ClientURL(), remote.WithHeartbeat(hb))
	cli := startNode(t, s.ClientURL(), remote.WithHeartbeat(hb))
	feed(t, srv)
	ctx, cancel := context.WithCancel(context.Background())
	f, err := remote.BindStream(cli, "feed", Live).Open(ctx, struct{}{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer f.Close()
	cancel()
	deadline := time.Now().Add(30 * time.Second)
	for !remote.FollowLapsed(f) { // the keepalive has seen the ctx's end
		if time.Now().After(deadline) {
			t.Fatal("the reader was never detached after its ctx ended")
		}
		time.Sleep(hb / 4)
	}
	_, err = f.Collected()
	if !errors.Is(err, context.Canceled) || errors.Is(err, remote.ErrStreamClosed) {
		t.Fatalf("Collected after the ctx ended: %v; want ctx's end (context.Canceled)", err)
	}
}
