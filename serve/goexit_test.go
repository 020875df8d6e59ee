package serve_test

import (
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/serve"
)

// noConns waits until srv serves no connection, or fails the test after
// wait.
func noConns(t *testing.T, srv *serve.Server) {
	t.Helper()
	for deadline := time.Now().Add(wait); srv.Conns() > 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still served; want 0", srv.Conns())
		}
	}
}

// A session factory that calls runtime.Goexit ends the connection's
// reader goroutine as a panic would: its connection is refused all the
// same, closed and counted out, and the server serves the next one. The
// socket used to stay open, unserved, until the client closed it.
func TestOpenGoexit(t *testing.T) {
	var first sync.Once
	f := start(t, func(*echo) {
		first.Do(runtime.Goexit)
	})
	c := f.dial(t)
	c.send("refused?\n")
	if got := c.eofOrReset(); got != "" {
		t.Fatalf("got %q; want the connection closed unserved", got)
	}
	noConns(t, f.srv)
	d := f.dial(t)
	d.send("served\n")
	if got := d.line(); got != "served\n" {
		t.Fatalf("got %q; want %q", got, "served\n")
	}
}

// A Frame that calls runtime.Goexit on its turn run inline, on the
// connection's reader goroutine (the actor was idle), ends that goroutine:
// the connection closes all the same, as after a panic (what was queued is
// written, Closed gets a reason matching ErrFramePanicked), and is counted
// out. The socket used to stay open, its actor alive, with nobody reading.
func TestFrameGoexitInline(t *testing.T) {
	f := start(t, func(e *echo) {
		e.hook = func(e *echo, c *actor.Ctx, p []byte) (bool, error) {
			if string(p) == "exit\n" {
				_ = e.conn.Write(c.Context(), []byte("bye\n"))
				runtime.Goexit()
			}
			return false, nil
		}
	})
	c := f.dial(t)
	c.send("a\n")
	if got := c.line(); got != "a\n" {
		t.Fatalf("got %q; want %q", got, "a\n")
	}
	c.send("exit\n")
	if got := c.eof(); got != "bye\n" {
		t.Fatalf("got %q; want %q then the end", got, "bye\n")
	}
	if err := f.closed.next(t); !errors.Is(err, serve.ErrFramePanicked) {
		t.Fatalf("Closed got %v; want ErrFramePanicked", err)
	}
	noConns(t, f.srv)
}
