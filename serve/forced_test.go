package serve_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	"github.com/troupe-go/troupe/serve"
)

// held is a session whose actor starts busy (Started waits for start),
// so that its first frame is queued and runs on the actor's goroutine, not
// inline on the reader's; Frame waits for release, ignoring its Context,
// then reports the frame it has.
type held struct {
	start, release chan struct{}
	running        chan struct{}
	saw            chan string
}

func (h *held) Started(*actor.Ctx) { <-h.start }

func (h *held) Frame(_ *actor.Ctx, p []byte) error {
	h.running <- struct{}{}
	<-h.release
	h.saw <- string(p)
	return nil
}

// lingerSpy is a listener whose connections note input read after the
// server shut its side (lingering), and whose Close waits (up to a
// second, once) until some connection did: so a forced stop that closes
// one connection first leaves time for another's reader to linger.
type lingerSpy struct {
	net.Listener
	lingered chan struct{}
	once     sync.Once
}

type spyConn struct {
	*net.TCPConn
	spy      *lingerSpy
	mu       sync.Mutex
	shutSide bool
}

func (l *lingerSpy) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &spyConn{TCPConn: nc.(*net.TCPConn), spy: l}, nil
}

func (c *spyConn) CloseWrite() error {
	c.mu.Lock()
	c.shutSide = true
	c.mu.Unlock()
	return c.TCPConn.CloseWrite()
}

func (c *spyConn) Read(p []byte) (int, error) {
	n, err := c.TCPConn.Read(p)
	c.mu.Lock()
	shut := c.shutSide
	c.mu.Unlock()
	if shut && n > 0 {
		c.spy.once.Do(func() { close(c.spy.lingered) })
	}
	return n, err
}

func (c *spyConn) Close() error {
	select {
	case <-c.spy.lingered:
	case <-time.After(time.Second): // nobody lingers: the later Closes need not wait
		c.spy.once.Do(func() { close(c.spy.lingered) })
	}
	return c.TCPConn.Close()
}

// A forced stop (a Shutdown past its ctx) while Frames run on their
// actors' goroutines, ignoring their Contexts: each reader stops waiting
// for its Frame, but its buffer, which the Frame is reading, must not be
// reused. The reader used to linger when the forced stop had not closed
// its connection yet, reading the client's next bytes into that buffer
// under the running Frame (which saw "junk…" instead of its frame).
func TestForcedStopKeepsRunningFrame(t *testing.T) {
	const n = 2
	h := &held{start: make(chan struct{}), release: make(chan struct{}),
		running: make(chan struct{}, n), saw: make(chan string, n)}
	rt := testkit.NewRuntime(t)
	srv, err := serve.New(rt, func(*serve.Conn) *held { s := *h; return &s }) // one state each, channels shared
	if err != nil {
		t.Fatal(err)
	}
	addr, served := serveLoopback(t, srv, func(l net.Listener) net.Listener { return &lingerSpy{Listener: l, lingered: make(chan struct{})} })
	var ncs []net.Conn
	for range n {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		if _, err := nc.Write([]byte("stuck\n")); err != nil {
			t.Fatal(err)
		}
		ncs = append(ncs, nc)
	}
	close(h.start)
	for range n {
		<-h.running
	}
	for _, nc := range ncs { // what a lingering reader would read
		if _, err := nc.Write([]byte("junkjunkjunk\n")); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := srv.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown: got %v; want context.Canceled", err)
	}
	close(h.release)
	for range n {
		if got := <-h.saw; got != "stuck\n" {
			t.Errorf("a running Frame saw %q; want %q", got, "stuck\n")
		}
	}
	if err := srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-served; !errors.Is(err, serve.ErrServerClosed) {
		t.Fatalf("Serve: got %v; want ErrServerClosed", err)
	}
}
