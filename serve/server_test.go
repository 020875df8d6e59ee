package serve_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	troupe "github.com/troupe-go/troupe/runtime"
	"github.com/troupe-go/troupe/serve"
)

// Every frame comes back, in order, in both framings; a client that
// half-closes still reads every reply, then a clean EOF; the last line may
// lack its '\n'; the session hears io.EOF.
func TestEchoInOrder(t *testing.T) {
	lines := []string{"a\n", "\n", "hello world\r\n", strings.Repeat("x", 99) + "\n", "last, no newline"}
	tests := []struct {
		name   string
		opts   []serve.Option
		encode func([]string) []byte
		want   string
	}{
		{"lines", []serve.Option{serve.WithLines(100)},
			func(ls []string) []byte { return []byte(strings.Join(ls, "")) },
			strings.Join(lines, "")},
		{"length-prefixed", []serve.Option{serve.WithLengthPrefix(100)},
			func(ls []string) []byte {
				var b []byte
				for _, l := range ls {
					b = binary.BigEndian.AppendUint32(b, uint32(len(l)))
					b = append(b, l...)
				}
				return b
			},
			string(func() []byte {
				var b []byte
				for _, l := range lines {
					b = binary.BigEndian.AppendUint32(b, uint32(len(l)))
					b = append(b, l...)
				}
				return b
			}())},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			framed := tt.name == "length-prefixed"
			f := start(t, func(e *echo) { e.framed = framed }, tt.opts...)
			c := f.dial(t)
			c.send(string(tt.encode(lines)))
			if err := c.nc.(*net.TCPConn).CloseWrite(); err != nil {
				t.Fatal(err)
			}
			if got := c.eof(); got != tt.want {
				t.Fatalf("got %q; want %q", got, tt.want)
			}
			if err := f.closed.next(t); !errors.Is(err, io.EOF) {
				t.Fatalf("close reason %v; want io.EOF", err)
			}
		})
	}
}

// A line over the limit closes its connection with a *LimitError, after
// the replies to the lines before it; a line of exactly the limit passes;
// the server serves the next connection.
func TestLineTooLong(t *testing.T) {
	const max = 64
	f := start(t, nil, serve.WithLines(max))
	c := f.dial(t)
	ok := strings.Repeat("a", max-1) + "\n"
	c.send("one\n" + ok + strings.Repeat("b", max+10)) // no '\n': refused once max bytes lack one
	if got := c.eof(); got != "one\n"+ok {
		t.Fatalf("got %q; want the two lines before the long one", got)
	}
	err := f.closed.next(t)
	var le *serve.LimitError
	if !errors.As(err, &le) || !errors.Is(err, serve.ErrLineTooLong) || le.Max != max {
		t.Fatalf("close reason %v; want a *LimitError matching ErrLineTooLong with Max %d", err, max)
	}
	c2 := f.dial(t)
	c2.send("again\n")
	if got := c2.line(); got != "again\n" {
		t.Fatalf("got %q; want %q", got, "again\n")
	}
}

// A length prefix over the limit closes the connection with a *LimitError
// carrying the declared size, at once: the frame's bytes never arrive.
func TestFrameTooLarge(t *testing.T) {
	const max = 1 << 10
	f := start(t, func(e *echo) { e.framed = true }, serve.WithLengthPrefix(max))
	c := f.dial(t)
	c.send(string(binary.BigEndian.AppendUint32(nil, 1<<30)))
	if got := c.eof(); got != "" {
		t.Fatalf("got %q; want nothing", got)
	}
	err := f.closed.next(t)
	var le *serve.LimitError
	if !errors.As(err, &le) || !errors.Is(err, serve.ErrFrameTooLarge) || le.Size != 1<<30 || le.Max != max {
		t.Fatalf("close reason %v; want a *LimitError{ErrFrameTooLarge, 1<<30, %d}", err, max)
	}
}

// A truncated frame (the client closes in its middle) is io.ErrUnexpectedEOF.
func TestFrameTruncated(t *testing.T) {
	f := start(t, func(e *echo) { e.framed = true }, serve.WithLengthPrefix(100))
	c := f.dial(t)
	c.send(string(binary.BigEndian.AppendUint32(nil, 10)) + "abc")
	_ = c.nc.(*net.TCPConn).CloseWrite()
	c.eof()
	if err := f.closed.next(t); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("close reason %v; want io.ErrUnexpectedEOF", err)
	}
}

// Send frames a reply in the server's framing.
func TestSend(t *testing.T) {
	tests := []struct {
		name string
		opt  serve.Option
		in   []byte
		want []byte
	}{
		{"lines", serve.WithLines(16), []byte("hi\n"), []byte("hi\n\n")},
		{"length-prefixed", serve.WithLengthPrefix(16), append(binary.BigEndian.AppendUint32(nil, 2), "hi"...),
			append(binary.BigEndian.AppendUint32(nil, 2), "hi"...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := start(t, func(e *echo) { e.framed = true }, tt.opt)
			c := f.dial(t)
			c.send(string(tt.in))
			got := make([]byte, len(tt.want))
			if _, err := io.ReadFull(c.br, got); err != nil || !bytes.Equal(got, tt.want) {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// The session closes its connection: what it wrote first arrives, then a
// clean EOF; Write afterwards fails with ErrConnClosed; Closed gets nil.
// A Frame error closes it the same way with that reason, and a panic with
// ErrFramePanicked, wrapping the *actor.PanicError and its stack.
func TestSessionCloses(t *testing.T) {
	errBye := errors.New("bye")
	tests := []struct {
		name string
		hook func(e *echo, c *actor.Ctx, p []byte) (bool, error)
		want func(error) bool
	}{
		{"Close", func(e *echo, c *actor.Ctx, p []byte) (bool, error) {
			_ = e.conn.Write(c.Context(), []byte("GOOD BYE"))
			e.conn.Close()
			if err := e.conn.Write(c.Context(), []byte("more")); !errors.Is(err, serve.ErrConnClosed) {
				return true, fmt.Errorf("Write after Close: got %v; want ErrConnClosed", err)
			}
			return true, nil
		}, func(err error) bool { return err == nil }},
		{"error", func(e *echo, c *actor.Ctx, p []byte) (bool, error) {
			_ = e.conn.Write(c.Context(), []byte("GOOD BYE"))
			return true, errBye
		}, func(err error) bool { return errors.Is(err, errBye) }},
		{"panic", func(e *echo, c *actor.Ctx, p []byte) (bool, error) {
			_ = e.conn.Write(c.Context(), []byte("GOOD BYE"))
			panic("boom")
		}, isPanic(serve.ErrFramePanicked)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := start(t, func(e *echo) {
				e.hook = func(e *echo, c *actor.Ctx, p []byte) (bool, error) {
					if string(p) == "exit\n" {
						return tt.hook(e, c, p)
					}
					return false, nil
				}
			})
			c := f.dial(t)
			c.send("hi\nexit\nignored\n")
			if got := c.eof(); got != "hi\nGOOD BYE" {
				t.Fatalf("got %q; want %q", got, "hi\nGOOD BYE")
			}
			if err := f.closed.next(t); !tt.want(err) {
				t.Fatalf("close reason %v", err)
			}
		})
	}
}

// isPanic reports whether a close reason matches sentinel and wraps the
// *actor.PanicError of a panic("boom"), with its stack.
func isPanic(sentinel error) func(error) bool {
	return func(err error) bool {
		var pe *actor.PanicError
		return errors.Is(err, sentinel) && errors.As(err, &pe) && pe.Value == "boom" && len(pe.Stack) > 0
	}
}

// A client that sends more after the frame that closes its connection:
// the server shuts its side and reads until the client closes, so the
// client reads every reply and a clean EOF. Closing at once, with input
// unread, would reset the connection and could destroy the replies.
func TestLinger(t *testing.T) {
	f := start(t, func(e *echo) {
		e.hook = func(e *echo, c *actor.Ctx, p []byte) (bool, error) {
			if string(p) == "exit\n" {
				_ = e.conn.Write(c.Context(), []byte("GOOD BYE"))
				e.conn.Close()
				return true, nil
			}
			return false, nil
		}
	})
	c := f.dial(t)
	junk := strings.Repeat("j", 1<<20) // more than the socket buffers hold
	go func() { _, _ = c.nc.Write([]byte("exit\n" + junk)) }()
	if got := c.eof(); got != "GOOD BYE" {
		t.Fatalf("got %q; want %q", got, "GOOD BYE")
	}
}

// block keeps the actor busy until its Context ends.
var block = actor.NewMethod("block", func(_ *echo, c *actor.Ctx, started chan struct{}) (struct{}, error) {
	close(started)
	<-c.Context().Done()
	return struct{}{}, nil
})

// An actor killed by someone else while a frame waits in its mailbox: the
// frame fails (a dead letter), and the connection closes instead of
// waiting for it.
//
// The "who" frame's turn runs on the reader goroutine (its actor was
// idle), and a message queued before that turn ends runs on it too: so
// the test waits for the reader to read again before it makes the actor
// busy. It used to fail about once in 30 runs ("the frame was not
// queued"): block ran on the reader, which then read nothing more.
func TestActorKilled(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rl := &readCounter{Listener: l}
	f, c, ref := startWhoOn(t, rl)
	for deadline := time.Now().Add(wait); rl.reads.Load() <= rl.atWho.Load(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the reader did not read again after the who frame")
		}
	}
	started := make(chan struct{})
	busy := block.Ask(context.Background(), ref, started)
	<-started
	c.send("queued\n")
	for deadline := time.Now().Add(wait); ref.Queued() == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the frame was not queued")
		}
		time.Sleep(time.Millisecond)
	}
	ref.Kill()
	if got := c.eof(); got != "" {
		t.Fatalf("got %q; want a clean close", got)
	}
	_, _ = busy.Await(context.Background())
	f.stoppedActor(t)
}

// quit stops the actor from its own turn, as a oneway from outside.
var quit = actor.NewMethod("quit", func(_ *echo, c *actor.Ctx, _ int) (int, error) {
	c.Stop()
	return 0, nil
})

// An actor that stops while its client is silent, for any reason, closes
// its connection at once: the client reads a clean EOF (not a timeout)
// and the connection's goroutines exit.
func TestActorStopsWhileClientSilent(t *testing.T) {
	tests := []struct {
		name string
		stop func(t *testing.T, f *fixture, ref *actor.Ref[*echo])
	}{
		{"kill", func(_ *testing.T, _ *fixture, ref *actor.Ref[*echo]) { ref.Kill() }},
		{"stop", func(t *testing.T, _ *fixture, ref *actor.Ref[*echo]) {
			if err := ref.Stop(context.Background()); err != nil {
				t.Errorf("Stop: %v", err)
			}
		}},
		{"stops itself", func(t *testing.T, _ *fixture, ref *actor.Ref[*echo]) {
			if err := quit.Cast(ref, 0); err != nil {
				t.Errorf("Cast: %v", err)
			}
		}},
		{"runtime closed", func(t *testing.T, f *fixture, _ *actor.Ref[*echo]) {
			if err := f.rt.Close(); err != nil {
				t.Errorf("runtime Close: %v", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, c, ref := startWho(t)
			tt.stop(t, f, ref) // the client sends nothing more
			if got := c.eof(); got != "" {
				t.Fatalf("got %q; want a clean close", got)
			}
			f.stoppedActor(t)
			for deadline := time.Now().Add(wait); f.srv.Conns() > 0; time.Sleep(time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("%d connections still served; want 0", f.srv.Conns())
				}
			}
		})
	}
}

// A client that resets its connection: the server closes it with the
// network's error and goes on serving.
func TestReset(t *testing.T) {
	f := start(t, nil)
	c := f.dial(t)
	c.send("hi\n")
	c.line()
	_ = c.nc.(*net.TCPConn).SetLinger(0)
	c.nc.Close() // RST
	if err := f.closed.next(t); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("close reason %v; want ECONNRESET", err)
	}
	c2 := f.dial(t)
	c2.send("on\n")
	if got := c2.line(); got != "on\n" {
		t.Fatalf("got %q; want %q", got, "on\n")
	}
}

// Past WithMaxConns a new connection is closed at once, unserved, and the
// refusal is logged; once a connection ends there is room again.
func TestMaxConns(t *testing.T) {
	var log syncBuffer
	f := start(t, nil, serve.WithMaxConns(2), serve.WithLogger(slog.New(slog.NewTextHandler(&log, nil))))
	a, b := f.dial(t), f.dial(t)
	for _, c := range []*client{a, b} {
		c.send("in\n")
		c.line()
	}
	c := f.dial(t)
	c.send("refused?\n")
	if got := c.eofOrReset(); got != "" {
		t.Fatalf("third connection got %q; want it closed unserved", got)
	}
	if !strings.Contains(log.String(), serve.ErrTooManyConns.Error()) {
		t.Fatalf("log %q; want the refusal", log.String())
	}
	a.nc.Close()
	if err := f.closed.next(t); !errors.Is(err, io.EOF) {
		t.Fatalf("close reason %v; want io.EOF", err)
	}
	deadline := time.Now().Add(wait)
	for f.srv.Conns() > 1 {
		if time.Now().After(deadline) {
			t.Fatalf("Conns() = %d; want 1", f.srv.Conns())
		}
		time.Sleep(time.Millisecond)
	}
	d := f.dial(t)
	d.send("room\n")
	if got := d.line(); got != "room\n" {
		t.Fatalf("got %q; want %q", got, "room\n")
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// eofOrReset reads until the connection ends; a refused connection may
// end with a reset if the client's bytes arrived before the close.
func (c *client) eofOrReset() string {
	var b []byte
	buf := make([]byte, 512)
	for {
		n, err := c.br.Read(buf)
		b = append(b, buf[:n]...)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, syscall.ECONNRESET) {
				c.t.Fatalf("read: %v", err)
			}
			return string(b)
		}
	}
}

// Shutdown lets the frame being handled finish and its reply reach the
// client, closes every connection with ErrServerClosed, makes Serve return
// ErrServerClosed, and is idempotent; afterwards Serve refuses.
func TestShutdownGraceful(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	f := start(t, func(e *echo) {
		e.hook = func(e *echo, c *actor.Ctx, p []byte) (bool, error) {
			if string(p) == "slow\n" {
				close(entered)
				<-release
			}
			return false, nil
		}
	})
	busy, idle := f.dial(t), f.dial(t)
	idle.send("x\n")
	idle.line()
	busy.send("slow\nnever handled\n")
	<-entered
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		done <- f.srv.Shutdown(ctx)
	}()
	if got := idle.eof(); got != "" {
		t.Fatalf("idle client got %q; want a clean EOF", got)
	}
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned %v while a frame was being handled", err)
	case <-time.After(10 * time.Millisecond):
	}
	close(release)
	if got := busy.eof(); got != "slow\n" {
		t.Fatalf("busy client got %q; want %q", got, "slow\n")
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for range 2 {
		if err := f.closed.next(t); !errors.Is(err, serve.ErrServerClosed) {
			t.Fatalf("close reason %v; want ErrServerClosed", err)
		}
	}
	if err := <-f.served; !errors.Is(err, serve.ErrServerClosed) {
		t.Fatalf("Serve: %v; want ErrServerClosed", err)
	}
	f.served <- serve.ErrServerClosed // for the cleanup
	shutdown(t, f.srv)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.srv.Serve(l); !errors.Is(err, serve.ErrServerClosed) {
		t.Fatalf("Serve after Shutdown: %v; want ErrServerClosed", err)
	}
	if err := f.srv.ListenAndServe("127.0.0.1:0"); !errors.Is(err, serve.ErrServerClosed) {
		t.Fatalf("ListenAndServe after Shutdown: %v; want ErrServerClosed", err)
	}
}

// A Shutdown whose ctx ends first forces the stop and returns ctx's error;
// the stuck handler's Context is cancelled and its actor killed; Close
// then returns with every goroutine gone (goleak checks).
func TestShutdownForced(t *testing.T) {
	entered := make(chan struct{})
	f := start(t, func(e *echo) {
		e.hook = func(e *echo, c *actor.Ctx, p []byte) (bool, error) {
			close(entered)
			<-c.Context().Done() // stuck until forced
			return true, c.Context().Err()
		}
	})
	c := f.dial(t)
	c.send("stuck\n")
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := f.srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v; want DeadlineExceeded", err)
	}
	if err := f.srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	f.stoppedActor(t)
	c.eofOrReset()
}

// Close closes every socket at once and kills the actors (their Stopping
// hook runs); it is idempotent, and a Shutdown after it returns nil.
func TestClose(t *testing.T) {
	f := start(t, nil)
	c := f.dial(t)
	c.send("x\n")
	c.line()
	if err := f.srv.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.srv.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if got := c.eofOrReset(); got != "" {
		t.Fatalf("got %q; want nothing more", got)
	}
	f.stoppedActor(t)
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := f.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown after Close: %v", err)
	}
}

// Close while a connection's actor is being made (its session factory
// runs) kills that actor too, once it exists, and reads the connection's
// actor ref without a data race (-race failed here: Close read it with no
// lock while the reader goroutine set it).
func TestCloseDuringSpawn(t *testing.T) {
	opening, release := make(chan struct{}), make(chan struct{})
	f := start(t, func(e *echo) {
		close(opening)
		<-release
	})
	c := f.dial(t)
	<-opening
	closed := make(chan error, 1)
	go func() { closed <- f.srv.Close() }()
	// Close's forced stop closes the socket just before it kills the actors.
	if _, err := c.nc.Read(make([]byte, 1)); err == nil {
		t.Fatal("read: got a byte; want the connection closed")
	}
	time.Sleep(10 * time.Millisecond) // not needed to fail: widens the window
	close(release)
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	f.stoppedActor(t)
	select {
	case err := <-f.closed.ch:
		t.Fatalf("Closed ran with %v; want no Closed after Close", err)
	default:
	}
}

// New validates its arguments.
func TestNewErrors(t *testing.T) {
	f := start(t, nil)
	open := func(c *serve.Conn) *echo { return &echo{conn: c} }
	tests := []struct {
		name string
		opts []serve.Option
	}{
		{"lines 0", []serve.Option{serve.WithLines(0)}},
		{"prefix too big", []serve.Option{serve.WithLengthPrefix(1<<30 + 1)}},
		{"idle < 0", []serve.Option{serve.WithIdleTimeout(-1)}},
		{"queue 0", []serve.Option{serve.WithWriteQueue(0)}},
		{"write timeout 0", []serve.Option{serve.WithWriteTimeout(0)}},
		{"linger < 0", []serve.Option{serve.WithLinger(-1)}},
		{"max conns < 0", []serve.Option{serve.WithMaxConns(-1)}},
		{"idle on write without idle", []serve.Option{serve.WithIdleTimeout(0), serve.WithIdleOnWrite()}},
		{"nil option", []serve.Option{nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := serve.New(f.rt, open, tt.opts...); !errors.Is(err, serve.ErrInvalidOption) {
				t.Fatalf("got %v; want ErrInvalidOption", err)
			}
		})
	}
	if _, err := serve.New(nil, open); !errors.Is(err, serve.ErrNilRuntime) {
		t.Fatalf("nil runtime: got %v; want ErrNilRuntime", err)
	}
	if _, err := serve.New[*echo](f.rt, nil); !errors.Is(err, serve.ErrInvalidOption) {
		t.Fatalf("nil factory: got %v; want ErrInvalidOption", err)
	}
}

// A Frame that ignores its cancelled Context keeps its reader goroutine
// (it runs there when the actor was idle): Close waits for it up to the
// runtime's call timeout, then says so with ErrHandlersStuck instead of
// hanging; the goroutine exits once the Frame returns.
func TestCloseWithStuckFrame(t *testing.T) {
	rt := testkit.NewRuntime(t, troupe.WithCallTimeout(100*time.Millisecond))
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	defer once.Do(func() { close(release) }) // also if the test fails early
	srv, err := serve.New(rt, func(conn *serve.Conn) *echo {
		return &echo{conn: conn, hook: func(e *echo, c *actor.Ctx, p []byte) (bool, error) {
			if strings.TrimSpace(string(p)) != "stuck" {
				return false, nil // echoed
			}
			close(entered)
			<-release // ignores c.Context()
			return true, nil
		}}
	})
	if err != nil {
		t.Fatal(err)
	}
	addr, served := serveLoopback(t, srv, nil)
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(wait))
	// A first frame, echoed: once its reply is back the actor is idle, so
	// the next frame runs on the reader goroutine.
	if _, err := nc.Write([]byte("hello\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := bufio.NewReader(nc).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	if _, err := nc.Write([]byte("stuck\n")); err != nil {
		t.Fatal(err)
	}
	<-entered
	if err := srv.Close(); !errors.Is(err, serve.ErrHandlersStuck) {
		t.Fatalf("Close with a stuck Frame: got %v; want ErrHandlersStuck", err)
	}
	once.Do(func() { close(release) })
	if err := srv.Close(); err != nil { // now everything exits
		t.Fatalf("Close after the Frame returned: got %v; want nil", err)
	}
	if err := <-served; !errors.Is(err, serve.ErrServerClosed) {
		t.Fatalf("Serve: got %v; want ErrServerClosed", err)
	}
}

// startWho starts a server whose connection actors answer "who" with
// their ref (besides echoing it), dials it, and returns the client and
// its connection's actor.
func startWho(t *testing.T) (*fixture, *client, *actor.Ref[*echo]) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return startWhoOn(t, l)
}

// startWhoOn is startWho on l; if l is a *readCounter, its atWho is set
// as the "who" frame is handled.
func startWhoOn(t *testing.T, l net.Listener) (*fixture, *client, *actor.Ref[*echo]) {
	t.Helper()
	refs := make(chan *actor.Ref[*echo], 1)
	rl, _ := l.(*readCounter)
	f := startOn(t, l, func(e *echo) {
		e.hook = func(e *echo, c *actor.Ctx, p []byte) (bool, error) {
			if string(p) == "who\n" {
				if rl != nil {
					rl.atWho.Store(rl.reads.Load())
				}
				refs <- actor.Self[*echo](c)
			}
			return false, nil
		}
	})
	c := f.dial(t)
	c.send("who\n")
	c.line()
	return f, c, <-refs
}

// readCounter is a listener whose connections count the reads they begin
// (their reader goroutines read with Read, not on the descriptor).
type readCounter struct {
	net.Listener
	reads, atWho atomic.Int64
}

type countedConn struct {
	*net.TCPConn
	reads *atomic.Int64
}

func (l *readCounter) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countedConn{TCPConn: nc.(*net.TCPConn), reads: &l.reads}, nil
}

func (c *countedConn) Read(p []byte) (int, error) {
	c.reads.Add(1)
	return c.TCPConn.Read(p)
}

// selfKiller is a session whose Started hook kills its own actor once the
// connection's reader waits for input (reading): everything the server
// did on the accept, all it queued for the actor included, is done, and
// none of it has run on the actor's turn.
type selfKiller struct{ reading chan struct{} }

func (*selfKiller) Frame(*actor.Ctx, []byte) error { return nil }

func (k *selfKiller) Started(c *actor.Ctx) {
	<-k.reading
	actor.Self[*selfKiller](c).Kill()
}

// readSpy is a listener whose connections close reading on their first
// Read.
type readSpy struct {
	net.Listener
	reading chan struct{}
}

type readSpyConn struct {
	*net.TCPConn
	once    sync.Once
	reading chan struct{}
}

func (l *readSpy) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &readSpyConn{TCPConn: nc.(*net.TCPConn), reading: l.reading}, nil
}

func (c *readSpyConn) Read(p []byte) (int, error) {
	c.once.Do(func() { close(c.reading) })
	return c.TCPConn.Read(p)
}

// An actor killed by its own Started hook, after the server has set its
// connection up and before the actor ran anything the server queued: its
// connection closes at once, though the client stays silent. It stayed
// open until the server stopped: the watcher child that closes it was to
// be spawned by a message, queued at the accept, that the kill failed.
func TestActorKilledBeforeFirstTurn(t *testing.T) {
	reading := make(chan struct{})
	rt := testkit.NewRuntime(t)
	srv, err := serve.New(rt, func(*serve.Conn) *selfKiller { return &selfKiller{reading} })
	if err != nil {
		t.Fatal(err)
	}
	addr, served := serveLoopback(t, srv, func(l net.Listener) net.Listener { return &readSpy{Listener: l, reading: reading} })
	defer closeServed(t, srv, served)
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetReadDeadline(time.Now().Add(wait))
	if n, err := nc.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("read: got %d bytes, %v; want EOF (the connection closed)", n, err)
	}
	for deadline := time.Now().Add(wait); srv.Conns() > 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still served; want 0", srv.Conns())
		}
	}
}

// A frame ends where it ends: a Frame that appends to it (or reslices it
// up to its capacity) neither sees nor changes the frames after it in the
// read buffer, in both framings. A line's capacity used to run on over
// the next lines: appending to "a\n" overwrote the "b" after it.
func TestFrameCannotReachNextFrame(t *testing.T) {
	tests := []struct {
		name string
		opts []serve.Option
		in   string
	}{
		{"lines", nil, "a\nb\nc"},
		{"length-prefixed", []serve.Option{serve.WithLengthPrefix(100)}, "\x00\x00\x00\x02a\n\x00\x00\x00\x02b\n\x00\x00\x00\x01c"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ready := make(chan struct{})
			f := start(t, func(e *echo) {
				<-ready // the reader reads all the input at once
				e.hook = func(e *echo, c *actor.Ctx, p []byte) (bool, error) {
					return true, e.conn.Write(c.Context(), append(p, '!'))
				}
			}, tt.opts...)
			c := f.dial(t)
			c.send(tt.in)
			if err := c.nc.(*net.TCPConn).CloseWrite(); err != nil {
				t.Fatal(err)
			}
			close(ready)
			if got, want := c.eof(), "a\n!b\n!c!"; got != want {
				t.Fatalf("got %q; want %q", got, want)
			}
		})
	}
}

// A session factory that panics refuses its connection only: the panic is
// logged with its stack, the client sees its connection closed, and the
// server serves the next one. It used to crash the process (the factory
// runs on the connection's reader goroutine, which nothing recovered).
func TestOpenPanics(t *testing.T) {
	var log syncBuffer
	var first sync.Once
	f := start(t, func(*echo) {
		first.Do(func() { panic("boom") })
	}, serve.WithLogger(slog.New(slog.NewTextHandler(&log, nil))))
	c := f.dial(t)
	c.send("refused?\n")
	if got := c.eofOrReset(); got != "" {
		t.Fatalf("got %q; want the connection closed unserved", got)
	}
	if s := log.String(); !strings.Contains(s, "boom") || !strings.Contains(s, "server_test.go") {
		t.Fatalf("log %q; want the panic with its stack", s)
	}
	d := f.dial(t)
	d.send("served\n")
	if got := d.line(); got != "served\n" {
		t.Fatalf("got %q; want %q", got, "served\n")
	}
}
