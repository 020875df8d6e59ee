package serve

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
)

// closedSpy notes whether Closed ran, and when the actor stops.
type closedSpy struct {
	closed  chan error
	stopped chan struct{}
}

func (s *closedSpy) Frame(*actor.Ctx, []byte) error { return nil }
func (s *closedSpy) Closed(_ *actor.Ctx, err error) { s.closed <- err }
func (s *closedSpy) Stopping(*actor.Ctx)            { close(s.stopped) }

var spyPing = actor.NewMethod("ping", func(*closedSpy, *actor.Ctx, int) (int, error) { return 0, nil })

// A forced stop that begins as a connection's reader reaches its last
// step (telling the actor why it closed; here, just before it queues
// Closed), before the forced stop's kill
// reaches that actor: Closed must not run, as documented (CloseHandler).
// The reader used to queue Closed all the same and ask for a graceful
// stop, and Closed ran before the kill came.
func TestClosedNotRunAfterForcedStop(t *testing.T) {
	spy := &closedSpy{closed: make(chan error, 1), stopped: make(chan struct{})}
	rt := testkit.NewRuntime(t)
	srv, err := New(rt, func(*Conn) *closedSpy { return spy })
	if err != nil {
		t.Fatal(err)
	}
	// Just before Closed is queued: the forced stop's first step, as
	// forceStop takes it (its kill of this connection's actor comes
	// later); once it is queued, a call that waits for the actor's turn
	// to take it.
	srv.cfg.hooks.closing = func(c *Conn) { c.srv.force() }
	srv.cfg.hooks.closedQueued = func(c *Conn) {
		ref := c.ref.(*actor.Ref[*closedSpy])
		if _, err := spyPing.Call(context.Background(), ref, 0); err != nil {
			t.Errorf("ping: %v", err)
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	nc, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.Close() // EOF: the reader finishes the connection
	select {
	case <-spy.stopped:
	case err := <-spy.closed:
		t.Errorf("Closed ran after the forced stop began (reason %v)", err)
	case <-time.After(10 * time.Second):
		t.Error("the actor did not stop")
	}
	if err := srv.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	<-served
	<-spy.stopped
	select {
	case err := <-spy.closed:
		t.Errorf("Closed ran after the forced stop began (reason %v)", err)
	default:
	}
}
