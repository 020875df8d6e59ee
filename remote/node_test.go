package remote_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/troupe-go/troupe/remote"
	"github.com/troupe-go/troupe/remote/embedded"
)

// TestStartEmbedded: with no URL (and no TROUPE_NATS_URL) a node runs its
// own server, serves, and takes it down with it.
func TestStartEmbedded(t *testing.T) {
	t.Setenv(remote.EnvURL, "")
	n := startNode(t, "")
	export(t, n, "acct")
	got, err := remote.Bind(n, "acct", Deposit).Call(ctxTimeout(t, 5*time.Second), 7)
	if err != nil || got != 7 {
		t.Fatalf("Call = %d, %v; want 7, nil", got, err)
	}
	url := n.Conn().ConnectedUrl()
	if err := n.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// The server went with the node: a node pointed at its URL fails.
	_, err = remote.Start(ctxTimeout(t, 2*time.Second), newRuntime(t), remote.WithURL(url))
	if err == nil {
		t.Fatalf("Start on the closed node's server: got nil error; want a connection error")
	}
}

// TestStartURL: TROUPE_NATS_URL and WithURL connect to a given server, and
// nodes on it reach each other.
func TestStartURL(t *testing.T) {
	s := startServer(t)
	t.Setenv(remote.EnvURL, s.ClientURL())
	a := startNode(t, "")
	b := startNode(t, "", remote.WithURL(s.ClientURL()))
	export(t, a, "acct")
	got, err := remote.Bind(b, "acct", Echo).Call(ctxTimeout(t, 5*time.Second), "hi")
	if err != nil || got != "hi" {
		t.Fatalf("Call = %q, %v; want hi, nil", got, err)
	}
}

// TestStartErrors: bad input is a documented sentinel.
func TestStartErrors(t *testing.T) {
	rt := newRuntime(t)
	ctx := context.Background()
	tests := []struct {
		name string
		opts []remote.Option
		want error
	}{
		{"nil option", []remote.Option{nil}, remote.ErrInvalidOption},
		{"zero timeout", []remote.Option{remote.WithCallTimeout(0)}, remote.ErrInvalidOption},
		{"negative deadline", []remote.Option{remote.WithMaxDeadline(-time.Second)}, remote.ErrInvalidOption},
		{"zero max message", []remote.Option{remote.WithMaxMessage(0)}, remote.ErrInvalidOption},
		{"bad version", []remote.Option{remote.WithVersion("v1")}, remote.ErrInvalidOption},
		{"bad name", []remote.Option{remote.WithName("a.b")}, remote.ErrInvalidOption},
		{"bad prefix", []remote.Option{remote.WithPrefix("a b")}, remote.ErrInvalidOption},
		{"missing nkey", []remote.Option{remote.WithNkeySeed("/nonexistent/seed")}, remote.ErrInvalidOption},
		{"nil codec", []remote.Option{remote.WithCodecs(nil)}, remote.ErrInvalidOption},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := remote.Start(ctx, rt, tt.opts...)
			if !errors.Is(err, tt.want) {
				if n != nil {
					_ = n.Close()
				}
				t.Fatalf("Start: got %v; want %v", err, tt.want)
			}
		})
	}
	if _, err := remote.Start(ctx, nil); !errors.Is(err, remote.ErrNilNode) {
		t.Fatalf("Start(nil runtime): got %v; want ErrNilNode", err)
	}
}

// TestStartNoServer: without a URL and without an embedded server, Start
// says so.
func TestStartNoServer(t *testing.T) {
	t.Setenv(remote.EnvURL, "")
	failing := func(context.Context) (remote.Server, error) { return nil, errors.New("no") }
	_, err := remote.Start(context.Background(), newRuntime(t), remote.WithServer(failing))
	if err == nil {
		t.Fatalf("Start with a failing server: got nil; want an error")
	}
	remote.RegisterEmbedded(nil)
	t.Cleanup(func() { remote.RegisterEmbedded(embedded.Starter()) })
	_, err = remote.Start(context.Background(), newRuntime(t))
	if !errors.Is(err, remote.ErrNoServer) {
		t.Fatalf("Start without server: got %v; want ErrNoServer", err)
	}
}

// TestCloseIdempotent: Close and Shutdown, many times and together, all
// return; afterwards every call is ErrClosed.
func TestCloseIdempotent(t *testing.T) {
	s := startServer(t)
	n := startNode(t, s.ClientURL())
	export(t, n, "acct")
	done := make(chan error, 4)
	for range 2 {
		go func() { done <- n.Shutdown(context.Background()) }()
		go func() { done <- n.Close() }()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Fatalf("Shutdown/Close: %v", err)
		}
	}
	b := remote.Bind(n, "acct", Deposit)
	if _, err := b.Call(context.Background(), 1); !errors.Is(err, remote.ErrClosed) {
		t.Fatalf("Call after Close: got %v; want ErrClosed", err)
	}
	if err := b.Cast(1); !errors.Is(err, remote.ErrClosed) {
		t.Fatalf("Cast after Close: got %v; want ErrClosed", err)
	}
	if _, err := b.Ask(context.Background(), 1).Await(context.Background()); !errors.Is(err, remote.ErrClosed) {
		t.Fatalf("Ask after Close: got %v; want ErrClosed", err)
	}
	ref := spawn(t, n)
	if err := remote.Export(n, "other", ref, remote.Serve(Deposit)); !errors.Is(err, remote.ErrClosed) {
		t.Fatalf("Export after Close: got %v; want ErrClosed", err)
	}
	if _, err := remote.Resolve(context.Background(), n, "acct"); !errors.Is(err, remote.ErrClosed) {
		t.Fatalf("Resolve after Close: got %v; want ErrClosed", err)
	}
}

// TestShutdownGraceful: Shutdown waits for a served call whose handler
// runs to the caller's deadline, which the caller gets (ErrTimeout, not
// ErrClosed), and then returns nil.
func TestShutdownGraceful(t *testing.T) {
	s := startServer(t)
	srv := startNode(t, s.ClientURL())
	cli := startNode(t, s.ClientURL())
	_, a := export(t, srv, "acct")
	f := remote.Bind(cli, "acct", Block).Ask(ctxTimeout(t, 300*time.Millisecond), "x")
	<-a.entered
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(context.Background()) }()
	if _, err := f.Await(context.Background()); !errors.Is(err, remote.ErrTimeout) {
		t.Fatalf("served call during Shutdown: got %v; want ErrTimeout (its own deadline)", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

// TestCloseCancelsServed: Close cancels the calls a node serves; the
// handler's Context ends and the caller learns at once (ErrClosed), well
// before its deadline.
func TestCloseCancelsServed(t *testing.T) {
	s := startServer(t)
	srv := startNode(t, s.ClientURL())
	cli := startNode(t, s.ClientURL())
	_, a := export(t, srv, "acct")
	f := remote.Bind(cli, "acct", Block).Ask(ctxTimeout(t, time.Minute), "x")
	<-a.entered
	if err := srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-a.ended; !errors.Is(err, context.Canceled) {
		t.Fatalf("handler's Context: got %v; want context.Canceled", err)
	}
	if _, err := f.Await(ctxTimeout(t, 10*time.Second)); !errors.Is(err, remote.ErrClosed) {
		t.Fatalf("caller: got %v; want ErrClosed", err)
	}
}
