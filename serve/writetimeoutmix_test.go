package serve_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/serve"
)

// TestWriteTimeoutWithLaterDeadline: bytes written with a ctx that has no
// deadline keep WithWriteTimeout as theirs when they go out in one batch
// with bytes whose ctx deadline is later. The batch's deadline is the
// earliest of its bytes': a client that stops reading closes the
// connection with ErrWriteTimeout at the write timeout, not an hour later.
func TestWriteTimeoutWithLaterDeadline(t *testing.T) {
	bubble(t, func(t *testing.T) {
		results := make(chan error, 1)
		l, closed, _ := pipeServer(t, func(e *echo) {
			e.hook = func(e *echo, c *actor.Ctx, p []byte) (bool, error) {
				later, cancel := context.WithTimeout(context.Background(), time.Hour)
				defer cancel()
				for _, w := range []struct {
					ctx context.Context
					s   string
				}{{later, "first\n"}, {context.Background(), "second\n"}, {later, "third\n"}} {
					if err := e.conn.Write(w.ctx, []byte(w.s)); err != nil {
						results <- err
						return true, nil
					}
				}
				results <- nil
				return true, nil
			}
		}, serve.WithWriteTimeout(2*time.Second))
		start := time.Now()
		c := l.dial(t)
		if _, err := c.Write([]byte("go\n")); err != nil {
			t.Fatal(err)
		}
		if err := <-results; err != nil {
			t.Fatalf("Write: %v", err)
		}
		// The first batch out, then no more reads: "second\n", which has
		// no deadline of its own, waits with "third\n" in the next batch
		// (or all three in one).
		first := make([]byte, len("first\n"))
		if _, err := io.ReadFull(c, first); err != nil || string(first) != "first\n" {
			t.Fatalf("read: %q, %v", first, err)
		}
		if reason := closed.next(t); !errors.Is(reason, serve.ErrWriteTimeout) {
			t.Fatalf("close reason %v; want ErrWriteTimeout", reason)
		}
		if took := time.Since(start); took != 2*time.Second {
			t.Fatalf("closed after %v; want the write timeout, 2s", took)
		}
	})
}
