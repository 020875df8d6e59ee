package serve_test

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	"github.com/troupe-go/troupe/serve"
)

// pipeServer serves echo sessions on a pipe listener, in a bubble; it is
// closed with the test.
func pipeServer(t *testing.T, setup func(*echo), opts ...serve.Option) (*pipeListener, *reasons, *serve.Server) {
	t.Helper()
	rt := testkit.NewRuntime(t)
	closed := newReasons()
	srv, err := serve.New(rt, func(conn *serve.Conn) *echo {
		e := &echo{conn: conn, closed: closed}
		if setup != nil {
			setup(e)
		}
		return e
	}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	l := newPipeListener()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := <-served; !errors.Is(err, serve.ErrServerClosed) {
			t.Errorf("Serve: %v; want ErrServerClosed", err)
		}
	})
	return l, closed, srv
}

// is reports whether an error matches target.
func is(target error) func(error) bool { return func(err error) bool { return errors.Is(err, target) } }

// readAll reads c to its end and returns what it read and when it ended.
func readAll(c net.Conn) (string, time.Time, error) {
	b, err := io.ReadAll(c)
	return string(b), time.Now(), err
}

// The idle timeout, on the runtime's wheel in fake time: a client that
// sends nothing is closed after d; each frame restarts the count; an
// IdleHandler that returns nil keeps the connection, and pings it; with
// WithIdleOnWrite the ping restarts the count, so it pings again and again.
// An IdleHandler that panics closes it with ErrIdleTimeout, wrapping the
// *actor.PanicError.
func TestIdleTimeout(t *testing.T) {
	const d = time.Second
	const tick = 10 * time.Millisecond // the wheel's resolution, and a margin
	ping := func(e *echo, c *actor.Ctx) error { return e.conn.Write(c.Context(), []byte("ping\n")) }
	tests := []struct {
		name   string
		idle   func(*echo, *actor.Ctx) error
		opts   []serve.Option
		frames []time.Duration // when the client sends a line
		close  time.Duration   // when the client closes (0: never)
		want   string          // what the client reads
		end    time.Duration   // when the connection ends
		reason func(error) bool
	}{
		{name: "silent client", want: "", end: d, reason: is(serve.ErrIdleTimeout)},
		{name: "frames restart the count", frames: []time.Duration{700 * time.Millisecond, 1400 * time.Millisecond},
			want: "a\na\n", end: 2400 * time.Millisecond, reason: is(serve.ErrIdleTimeout)},
		{name: "handler keeps it", idle: ping, close: 5 * time.Second,
			want: "ping\n", end: 5 * time.Second, reason: is(io.EOF)},
		{name: "writes restart the count", idle: ping, opts: []serve.Option{serve.WithIdleOnWrite()}, close: 3500 * time.Millisecond,
			want: "ping\nping\nping\n", end: 3500 * time.Millisecond, reason: is(io.EOF)},
		{name: "handler panics", idle: func(*echo, *actor.Ctx) error { panic("boom") },
			want: "", end: d, reason: isPanic(serve.ErrIdleTimeout)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				opts := append([]serve.Option{serve.WithIdleTimeout(d)}, tt.opts...)
				l, closed, _ := pipeServer(t, func(e *echo) { e.idle = tt.idle }, opts...)
				start := time.Now()
				c := l.dial(t)
				got := make(chan string, 1)
				var end time.Time
				go func() {
					s, at, _ := readAll(c)
					end = at
					got <- s
				}()
				for _, at := range tt.frames {
					time.Sleep(at - time.Since(start))
					if _, err := c.Write([]byte("a\n")); err != nil {
						t.Fatal(err)
					}
				}
				if tt.close > 0 {
					time.Sleep(tt.close - time.Since(start))
					c.Close()
				}
				if s := <-got; s != tt.want {
					t.Fatalf("client read %q; want %q", s, tt.want)
				}
				if took := end.Sub(start); took < tt.end || took > tt.end+tick {
					t.Fatalf("connection ended after %v; want %v", took, tt.end)
				}
				if err := closed.next(t); !tt.reason(err) {
					t.Fatalf("close reason %v", err)
				}
			})
		})
	}
}

// The idle timeout is the client's silence: calls the connection's actor
// gets from elsewhere (here a ping every 300ms, as a server pushing to its
// client) do not restart the count, so the connection still closes d
// after the client's last frame.
func TestIdleIgnoresOtherCalls(t *testing.T) {
	const d = time.Second
	const tick = 10 * time.Millisecond
	bubble(t, func(t *testing.T) {
		refs := make(chan *actor.Ref[*echo], 1)
		l, closed, _ := pipeServer(t, func(e *echo) {
			e.hook = func(e *echo, c *actor.Ctx, p []byte) (bool, error) {
				refs <- actor.Self[*echo](c)
				return true, nil
			}
		}, serve.WithIdleTimeout(d))
		c := l.dial(t)
		ended := make(chan time.Time, 1)
		go func() {
			_, at, _ := readAll(c)
			ended <- at
		}()
		if _, err := c.Write([]byte("who\n")); err != nil {
			t.Fatal(err)
		}
		ref := <-refs
		start := time.Now() // the frame was handled; the client says no more
		stop := make(chan struct{})
		pinged := make(chan struct{})
		go func() {
			defer close(pinged)
			for {
				select {
				case <-stop:
					return
				case <-time.After(300 * time.Millisecond):
				}
				if _, err := ping.Call(context.Background(), ref, 0); err != nil {
					return // the actor stopped
				}
			}
		}()
		defer func() { close(stop); <-pinged }()
		reason := closed.next(t)
		if !errors.Is(reason, serve.ErrIdleTimeout) {
			t.Fatalf("close reason %v; want ErrIdleTimeout", reason)
		}
		if took := (<-ended).Sub(start); took < d-tick || took > d+tick {
			t.Fatalf("connection ended %v after the last frame; want %v", took, d)
		}
	})
}

// A client that never reads: the write queue fills and Write fails at once
// with a *QueueFullError, never blocking the actor, which still answers
// calls; the queued bytes then miss their write deadline and the
// connection closes with ErrWriteTimeout.
func TestSlowClient(t *testing.T) {
	const max = 1000
	bubble(t, func(t *testing.T) {
		results := make(chan error, 1)
		refs := make(chan *actor.Ref[*echo], 1)
		l, closed, _ := pipeServer(t, func(e *echo) {
			e.hook = func(e *echo, c *actor.Ctx, p []byte) (bool, error) {
				refs <- actor.Self[*echo](c)
				chunk := make([]byte, 300)
				for range 10 {
					if err := e.conn.Write(context.Background(), chunk); err != nil {
						results <- err
						return true, nil
					}
				}
				results <- nil
				return true, nil
			}
		}, serve.WithWriteQueue(max), serve.WithWriteTimeout(2*time.Second))
		start := time.Now()
		c := l.dial(t) // never read
		if _, err := c.Write([]byte("flood\n")); err != nil {
			t.Fatal(err)
		}
		err := <-results
		var qf *serve.QueueFullError
		if !errors.As(err, &qf) || !errors.Is(err, serve.ErrQueueFull) || qf.Max != max || qf.Size != 300 || qf.Queued != 900 {
			t.Fatalf("Write: %v; want a *QueueFullError{Size 300, Queued 900, Max %d}", err, max)
		}
		if n, err := ping.Call(context.Background(), <-refs, 0); err != nil || n != 1 {
			t.Fatalf("ping: %d, %v; want the actor free", n, err)
		}
		reason := closed.next(t)
		if !errors.Is(reason, serve.ErrWriteTimeout) {
			t.Fatalf("close reason %v; want ErrWriteTimeout", reason)
		}
		if took := time.Since(start); took != 2*time.Second {
			t.Fatalf("closed after %v; want the write timeout, 2s", took)
		}
	})
}

// A write's ctx deadline is its write deadline; a ctx already done is
// refused.
func TestWriteDeadline(t *testing.T) {
	bubble(t, func(t *testing.T) {
		results := make(chan error, 1)
		l, closed, _ := pipeServer(t, func(e *echo) {
			e.hook = func(e *echo, c *actor.Ctx, p []byte) (bool, error) {
				done, cancel := context.WithCancel(context.Background())
				cancel()
				if err := e.conn.Write(done, p); !errors.Is(err, context.Canceled) {
					results <- err
					return true, nil
				}
				ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
				defer cancel()
				results <- e.conn.Write(ctx, p)
				return true, nil
			}
		})
		start := time.Now()
		c := l.dial(t) // never read
		if _, err := c.Write([]byte("x\n")); err != nil {
			t.Fatal(err)
		}
		if err := <-results; err != nil {
			t.Fatalf("Write: %v", err)
		}
		if reason := closed.next(t); !errors.Is(reason, serve.ErrWriteTimeout) {
			t.Fatalf("close reason %v; want ErrWriteTimeout", reason)
		}
		if took := time.Since(start); took != 300*time.Millisecond {
			t.Fatalf("closed after %v; want 300ms", took)
		}
	})
}
