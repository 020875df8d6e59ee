package remote_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/remote"
)

// liveCtx returns the Live stream's Out's context (called locally).
var liveCtx = actor.NewMethod("livectx", func(f *Feed, c *actor.Ctx, _ int) (context.Context, error) {
	return f.live.Context(), nil
})

// TestStreamReaderNodeCloses: the reader's node closing mid-stream ends
// its reader with ErrClosed, and the serving node releases its side: the
// actor's Out sees ErrNoReader.
func TestStreamReaderNodeCloses(t *testing.T) {
	s := startServer(t)
	const hb = 50 * time.Millisecond
	rs := newRefusals()
	srv := startNode(t, s.ClientURL(), remote.WithHeartbeat(hb), remote.WithRefusalHook(rs.hook))
	cli := startNode(t, s.ClientURL(), remote.WithHeartbeat(hb))
	ref := feed(t, srv)
	ctx := ctxTimeout(t, 30*time.Second)
	f, err := remote.BindStream(cli, "feed", Live).Open(ctx, struct{}{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if _, err := Push.Call(ctx, ref, 10); err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		n := 0
		for _, err := range f.All() {
			if err != nil {
				got <- err
				return
			}
			if n++; n == 10 {
				go cli.Close()
			}
		}
		got <- nil
	}()
	select {
	case err := <-got:
		if !errors.Is(err, remote.ErrClosed) {
			t.Fatalf("reader ended with %v; want ErrClosed", err)
		}
	case <-ctx.Done():
		t.Fatal("reader still reads after its node closed")
	}
	oc, err := liveCtx.Call(ctx, ref, 0)
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-oc.Done():
	case <-time.After(20 * hb):
		t.Fatal("the serving side still holds the reader 20 heartbeats after its node closed")
	}
	if c := context.Cause(oc); !errors.Is(c, actor.ErrNoReader) {
		t.Fatalf("Out's cause %v; want ErrNoReader", c)
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for _, r := range rs.got {
		t.Errorf("refusal %+v after a reader's node closed gracefully", r)
	}
}
