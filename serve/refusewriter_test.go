package serve_test

import (
	"context"
	"net"
	"testing"
	"testing/synctest"

	"github.com/troupe-go/troupe/internal/testkit"
	"github.com/troupe-go/troupe/serve"
)

// gatedConn is a connection whose writes signal entered, then wait for
// gate: the writer goroutine of a connection is then still running when
// its socket is closed.
type gatedConn struct {
	net.Conn
	entered chan<- struct{}
	gate    <-chan struct{}
}

func (g *gatedConn) Write(p []byte) (int, error) {
	g.entered <- struct{}{}
	<-g.gate
	return g.Conn.Write(p)
}

type gatedListener struct {
	*pipeListener
	entered chan<- struct{}
	gate    <-chan struct{}
}

func (l gatedListener) Accept() (net.Conn, error) {
	nc, err := l.pipeListener.Accept()
	if err != nil {
		return nil, err
	}
	return &gatedConn{Conn: nc, entered: l.entered, gate: l.gate}, nil
}

// A connection refused after its session factory queued a greeting (it
// panicked, here) has a writer goroutine: Shutdown waits for it, as for
// every goroutine of the server, instead of returning while it runs.
func TestShutdownWaitsForRefusedConnWriter(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := testkit.NewRuntime(t)
		entered, gate := make(chan struct{}, 1), make(chan struct{})
		srv, err := serve.New(rt, func(conn *serve.Conn) *echo {
			_ = conn.Write(context.Background(), []byte("hello\n"))
			<-entered // the writer is in the socket's Write
			panic("boom")
		})
		if err != nil {
			t.Fatal(err)
		}
		l := gatedListener{pipeListener: newPipeListener(), entered: entered, gate: gate}
		served := make(chan error, 1)
		go func() { served <- srv.Serve(l) }()
		l.dial(t)
		synctest.Wait() // refused; its writer waits at the gate
		shut := make(chan error, 1)
		go func() { shut <- srv.Shutdown(context.Background()) }()
		synctest.Wait()
		select {
		case err := <-shut:
			close(gate)
			t.Fatalf("Shutdown returned %v while the refused connection's writer goroutine still ran", err)
		default:
		}
		close(gate)
		if err := <-shut; err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		<-served
	})
}
