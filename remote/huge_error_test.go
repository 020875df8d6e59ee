package remote_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/remote"
)

// Verbose fails with an error of n bytes: a handler's error that
// carries, say, a whole upstream response.
type Verbose struct{}

var (
	VerboseCall = actor.NewMethod("call", func(_ *Verbose, c *actor.Ctx, n int) (int, error) {
		return 0, &remote.CodedError{Code: "upstream", Err: errors.New(strings.Repeat("x", n))}
	})
	VerboseStream = actor.NewStream("stream", func(_ *Verbose, c *actor.Ctx, n int, out *actor.Out[string]) error {
		if err := out.Send("first"); err != nil {
			return err
		}
		return &remote.CodedError{Code: "upstream", Err: errors.New(strings.Repeat("x", n))}
	})
)

func exportVerbose(t *testing.T, n *remote.Node) {
	t.Helper()
	ref, err := actor.Spawn(n.Runtime(), &Verbose{})
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Export(n, "verbose", ref, remote.Serve(VerboseCall), remote.ServeStream(VerboseStream)); err != nil {
		t.Fatal(err)
	}
}

// TestHugeHandlerError: a handler's error too large for one message (over
// the server's maximum payload, or the size cap) still reaches its caller
// as the handler's error with its code, not as ErrTimeout at the deadline
// nor as ErrTooLarge.
func TestHugeHandlerError(t *testing.T) {
	s := startServer(t)
	srv, cli := startNode(t, s.ClientURL()), startNode(t, s.ClientURL())
	exportVerbose(t, srv)
	for _, size := range []int{300 << 10, 2 << 20} {
		ctx := ctxTimeout(t, 30*time.Second)
		_, err := remote.Bind(cli, "verbose", VerboseCall).Call(ctx, size)
		var re *remote.Error
		if !errors.As(err, &re) || re.Code != "upstream" {
			t.Fatalf("error of %d bytes: got %v; want the handler's *Error with code upstream", size, err)
		}
	}
}

// TestHugeStreamError: a stream that ends with an error too large for
// one frame still ends, with the handler's error and its code: the
// reader is not left waiting for an end frame that cannot be published.
func TestHugeStreamError(t *testing.T) {
	s := startServer(t)
	const hb = 100 * time.Millisecond
	srv := startNode(t, s.ClientURL(), remote.WithHeartbeat(hb))
	cli := startNode(t, s.ClientURL(), remote.WithHeartbeat(hb))
	exportVerbose(t, srv)
	for _, size := range []int{300 << 10, 2 << 20} {
		ctx := ctxTimeout(t, 10*time.Second)
		f, err := remote.BindStream(cli, "verbose", VerboseStream).Open(ctx, size)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		items, err := f.Collected()
		var re *remote.Error
		if len(items) != 1 || !errors.As(err, &re) || re.Code != "upstream" {
			t.Fatalf("error of %d bytes: got %d items, %v; want 1 item and the handler's *Error with code upstream", size, len(items), err)
		}
	}
}
