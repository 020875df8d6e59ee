package serve_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/troupe-go/troupe/internal/testkit"
	"github.com/troupe-go/troupe/serve"
)

// temporaryError is an accept error to retry (out of file descriptors,
// say).
type temporaryError struct{}

func (temporaryError) Error() string   { return "temporary" }
func (temporaryError) Timeout() bool   { return false }
func (temporaryError) Temporary() bool { return true }

// failingListener's Accept fails with a temporary error until it is
// closed.
type failingListener struct{ *pipeListener }

func (l failingListener) Accept() (net.Conn, error) {
	select {
	case <-l.done:
		return nil, net.ErrClosed
	default:
		return nil, temporaryError{}
	}
}

// A graceful Shutdown ends Serve's pause between retries of a failed
// accept at once, as Close does, instead of waiting out the rest of it
// (up to a second).
func TestShutdownEndsAcceptPause(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := testkit.NewRuntime(t)
		srv, err := serve.New(rt, func(conn *serve.Conn) *echo { return &echo{conn: conn} })
		if err != nil {
			t.Fatal(err)
		}
		served := make(chan error, 1)
		go func() { served <- srv.Serve(failingListener{newPipeListener()}) }()
		time.Sleep(10 * time.Second) // the pause has reached its 1s cap; 275ms of it are left
		start := time.Now()
		if err := srv.Shutdown(context.Background()); err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		if d := time.Since(start); d != 0 {
			t.Fatalf("Shutdown took %v; want 0 (the accept loop's pause ends with the stop)", d)
		}
		if err := <-served; !errors.Is(err, serve.ErrServerClosed) {
			t.Fatalf("Serve: %v; want ErrServerClosed", err)
		}
	})
}
