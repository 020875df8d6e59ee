package remote_test

import (
	"errors"
	"testing"
	"time"

	"github.com/troupe-go/troupe/remote"
)

// TestErrorReplyOverCallerCap: a handler's error (or panic) whose reply is
// over the calling node's WithMaxMessage, though within the serving
// node's (which cuts the error's body to its own cap), still reaches its
// caller as that error with its code, or as the panic: not as
// ErrTooLarge, as if the reply were a value.
func TestErrorReplyOverCallerCap(t *testing.T) {
	s := startServer(t)
	srv := startNode(t, s.ClientURL())
	cli := startNode(t, s.ClientURL(), remote.WithMaxMessage(1024))
	exportVerbose(t, srv)
	ctx := ctxTimeout(t, 10*time.Second)
	_, err := remote.Bind(cli, "verbose", VerboseCall).Call(ctx, 4096)
	var re *remote.Error
	if !errors.As(err, &re) || re.Code != "upstream" || errors.Is(err, remote.ErrTooLarge) {
		t.Fatalf("error reply of over 4 KiB to a caller capped at 1 KiB: got %v; want the handler's *Error with code upstream", err)
	}
	export(t, srv, "acct")
	_, err = remote.Bind(cli, "acct", Boom).Call(ctx, 0)
	var pe *remote.PanicError
	if !errors.As(err, &pe) || pe.Node != srv.ID() {
		t.Fatalf("panic whose stack is over the caller's cap: got %v; want a *PanicError from %s", err, srv.ID())
	}
}
