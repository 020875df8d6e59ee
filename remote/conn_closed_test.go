package remote_test

import (
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/troupe-go/troupe/remote"
)

// TestCallConnClosed: a call waiting for its reply when its node's
// connection closes for good (here: no reconnect, and the server goes)
// ends then with ErrClosed, not at its deadline with ErrTimeout; the
// user's own closed handler still runs.
func TestCallConnClosed(t *testing.T) {
	s := startServer(t)
	srv := startNode(t, s.ClientURL())
	closed := make(chan struct{})
	cli := startNode(t, s.ClientURL(), remote.WithNATSOptions(nats.NoReconnect(),
		nats.ClosedHandler(func(*nats.Conn) { close(closed) })))
	_, a := export(t, srv, "a")
	_, b := export(t, srv, "b")
	ask := remote.Bind(cli, "a", Block).Ask(ctxTimeout(t, time.Minute), "ask")
	<-a.entered
	errs := make(chan error, 1)
	go func() {
		_, err := remote.Bind(cli, "b", Block).Call(ctxTimeout(t, time.Minute), "call")
		errs <- err
	}()
	<-b.entered
	s.Shutdown()
	select {
	case <-closed:
	case <-time.After(20 * time.Second):
		t.Fatal("the user's closed handler did not run")
	}
	select {
	case err := <-errs:
		if !errors.Is(err, remote.ErrClosed) {
			t.Fatalf("Call: got %v; want ErrClosed", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Call still waiting 20 s after its connection closed (its deadline is a minute away)")
	}
	select {
	case <-ask.Done():
		if _, err := ask.Await(ctxTimeout(t, time.Second)); !errors.Is(err, remote.ErrClosed) {
			t.Fatalf("Ask: got %v; want ErrClosed", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Ask still pending after its connection closed")
	}
}
