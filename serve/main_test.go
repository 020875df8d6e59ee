package serve_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	troupe "github.com/troupe-go/troupe/runtime"
	"github.com/troupe-go/troupe/serve"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, goleak.IgnoreCurrent()) }

// wait bounds the real-time waits of tests on loopback: generous, never a
// speed assertion.
const wait = 10 * time.Second

// reasons records the close reasons CloseHandlers see.
type reasons struct {
	ch chan error
}

func newReasons() *reasons { return &reasons{ch: make(chan error, 4096)} }

// next returns the next close reason, or fails the test after wait.
func (r *reasons) next(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.ch:
		return err
	case <-time.After(wait):
		t.Fatal("no connection closed")
		return nil
	}
}

// echo is the tests' session: it echoes each frame (Send with a length
// prefix, Write with lines), and obeys a few commands.
type echo struct {
	conn    *serve.Conn
	closed  *reasons
	stopped chan struct{} // gets a value when the actor stops
	hook    func(e *echo, c *actor.Ctx, p []byte) (handled bool, err error)
	idle    func(e *echo, c *actor.Ctx) error // nil: no IdleHandler behaviour (close)
	framed  bool
}

func (e *echo) Frame(c *actor.Ctx, p []byte) error {
	if e.hook != nil {
		if handled, err := e.hook(e, c, p); handled {
			return err
		}
	}
	if e.framed {
		return e.conn.Send(c.Context(), p)
	}
	return e.conn.Write(c.Context(), p)
}

func (e *echo) Idle(c *actor.Ctx) error {
	if e.idle == nil {
		return serve.ErrIdleTimeout
	}
	return e.idle(e, c)
}

func (e *echo) Closed(_ *actor.Ctx, reason error) {
	if e.closed != nil {
		e.closed.ch <- reason
	}
}

func (e *echo) Stopping(*actor.Ctx) {
	if e.stopped != nil {
		e.stopped <- struct{}{}
	}
}

// ping answers at once: a call that proves the actor is not blocked.
var ping = actor.NewMethod("ping", func(*echo, *actor.Ctx, int) (int, error) { return 1, nil })

// fixture is a server under test on 127.0.0.1, closed with the test.
type fixture struct {
	rt      *troupe.Runtime
	srv     *serve.Server
	addr    string
	closed  *reasons
	stopped chan struct{} // a value per actor stopped
	served  chan error    // Serve's result
}

// start serves echo sessions; setup adjusts each before it serves.
func start(t *testing.T, setup func(*echo), opts ...serve.Option) *fixture {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return startOn(t, l, setup, opts...)
}

func startOn(t *testing.T, l net.Listener, setup func(*echo), opts ...serve.Option) *fixture {
	t.Helper()
	f := &fixture{rt: testkit.NewRuntime(t), addr: l.Addr().String(), closed: newReasons(),
		served: make(chan error, 1), stopped: make(chan struct{}, 4096)}
	srv, err := serve.New(f.rt, func(conn *serve.Conn) *echo {
		e := &echo{conn: conn, closed: f.closed, stopped: f.stopped}
		if setup != nil {
			setup(e)
		}
		return e
	}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = srv
	go func() { f.served <- srv.Serve(l) }()
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if err := <-f.served; !errors.Is(err, serve.ErrServerClosed) {
			t.Errorf("Serve returned %v; want ErrServerClosed", err)
		}
	})
	return f
}

// serveLoopback serves srv on a fresh loopback listener, wrapped by wrap
// if it is not nil, on a goroutine; it returns the address and Serve's
// result.
func serveLoopback(t *testing.T, srv *serve.Server, wrap func(net.Listener) net.Listener) (string, <-chan error) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var sl net.Listener = l
	if wrap != nil {
		sl = wrap(l)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sl) }()
	return l.Addr().String(), served
}

// closeServed closes srv and checks that Serve, whose result is served,
// returned ErrServerClosed.
func closeServed(t *testing.T, srv *serve.Server, served <-chan error) {
	t.Helper()
	if err := srv.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := <-served; !errors.Is(err, serve.ErrServerClosed) {
		t.Errorf("Serve: got %v; want ErrServerClosed", err)
	}
}

// client is a test's connection.
type client struct {
	t  *testing.T
	nc net.Conn
	br *bufio.Reader
}

func (f *fixture) dial(t *testing.T) *client {
	t.Helper()
	nc, err := net.DialTimeout("tcp", f.addr, wait)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(wait))
	return &client{t: t, nc: nc, br: bufio.NewReader(nc)}
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := c.nc.Write([]byte(s)); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// line reads a line; it fails the test on an error.
func (c *client) line() string {
	c.t.Helper()
	s, err := c.br.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: got %q, %v; want a line", s, err)
	}
	return s
}

// eof reads what is left and checks the stream ends cleanly (a FIN, not a
// reset), then closes the client's side; it returns what it read.
func (c *client) eof() string {
	c.t.Helper()
	var b []byte
	buf := make([]byte, 4096)
	for {
		n, err := c.br.Read(buf)
		b = append(b, buf[:n]...)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				c.t.Fatalf("read: got %v after %q; want EOF", err, b)
			}
			c.nc.Close()
			return string(b)
		}
	}
}

// pipeListener is a net.Listener of in-memory connections (net.Pipe), for
// tests in synctest bubbles, where loopback sockets do not block durably.
type pipeListener struct {
	conns chan net.Conn
	once  sync.Once
	done  chan struct{}
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

// dial returns the client's end of a new connection.
func (l *pipeListener) dial(t *testing.T) net.Conn {
	t.Helper()
	srv, cli := net.Pipe()
	select {
	case l.conns <- srv:
	case <-l.done:
		t.Fatal("dial: listener closed")
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// bubble runs f in a synctest bubble with a fresh runtime.
func bubble(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	testkit.Bubble(t, f)
}

// stoppedActor waits for an actor to stop, or fails the test after wait.
func (f *fixture) stoppedActor(t *testing.T) {
	t.Helper()
	select {
	case <-f.stopped:
	case <-time.After(wait):
		t.Fatal("no actor stopped")
	}
}

// shutdown shuts srv down within wait.
func shutdown(t *testing.T, srv *serve.Server) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}
