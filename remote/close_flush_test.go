package remote_test

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/troupe-go/troupe/remote"
)

// TestCloseAnswersUnderInboundFlood: Close answers the calls it serves
// with ErrClosed, and the answers reach their callers even when the
// node's connection is flooded with messages it has not read yet. The
// stop used to flush only when it had casts to confirm: nats.go's Close
// wrote the answer into the socket and closed it at once, and a socket
// closed with data unread resets the connection, which could lose the
// answer. The caller then waited out its deadline (seen once under load
// as TestCloseStreamOpening's failure; here in most runs without the
// flush).
func TestCloseAnswersUnderInboundFlood(t *testing.T) {
	for round := range 5 {
		s := startServer(t)
		srv, cli := startNode(t, s.ClientURL()), startNode(t, s.ClientURL())
		_, fd := exportHeldFeed(t, srv)
		// A raw subscription of srv's, slow to read, kept until its
		// connection closes: its socket always has data waiting.
		var got atomic.Int64
		if _, err := srv.Conn().Subscribe("flood", func(*nats.Msg) {
			got.Add(1)
			time.Sleep(50 * time.Microsecond)
		}); err != nil {
			t.Fatal(err)
		}
		stop, stopped := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(stopped)
			big := make([]byte, 32<<10)
			for {
				select {
				case <-stop:
					return
				default:
					_ = cli.Conn().Publish("flood", big)
				}
			}
		}()
		held := remote.Bind(cli, "feed", Hold).Ask(ctxTimeout(t, time.Hour), 1)
		<-fd.held
		for got.Load() < 10 {
			time.Sleep(time.Millisecond)
		}
		closeErr := srv.Close()
		_, err := held.Await(ctxTimeout(t, 5*time.Second))
		close(stop)
		<-stopped
		if closeErr != nil {
			t.Fatalf("round %d: Close: %v", round, closeErr)
		}
		if !errors.Is(err, remote.ErrClosed) {
			t.Fatalf("round %d: call: got %v; want ErrClosed", round, err)
		}
	}
}
