package remote_test

import (
	"errors"
	"testing"
	"time"

	"github.com/troupe-go/troupe/remote"
)

// TestAuthorizerPanics: an Authorizer that panics refuses the request
// (ErrUnauthorized to its caller, reported as ReasonUnauthorized), as
// one that returns an error does; the node serves on. It ran unguarded
// on the subscription's goroutine: the panic ended the process.
func TestAuthorizerPanics(t *testing.T) {
	s := startServer(t)
	rs := newRefusals()
	srv := startNode(t, s.ClientURL(), remote.WithRefusalHook(rs.hook),
		remote.WithAuthorizer(func(_, _ string, h natsHeader) error {
			if h.Get("Token") == "" {
				panic("no token")
			}
			return nil
		}))
	cli := startNode(t, s.ClientURL())
	export(t, srv, "acct")
	ctx := ctxTimeout(t, 10*time.Second)
	_, err := remote.Bind(cli, "acct", Echo).Call(ctx, "x")
	if !errors.Is(err, remote.ErrUnauthorized) {
		t.Fatalf("Call through a panicking Authorizer: got %v; want ErrUnauthorized", err)
	}
	if r := rs.wait(t); r.Reason != remote.ReasonUnauthorized || !errors.Is(r.Err, remote.ErrUnauthorized) {
		t.Fatalf("refusal %+v; want unauthorized", r)
	}
	if got, err := remote.Bind(cli, "acct", Echo, remote.WithHeader("Token", "t")).Call(ctx, "y"); err != nil || got != "y" {
		t.Fatalf("authorized Call after the panic: got %q, %v; want y", got, err)
	}
}
