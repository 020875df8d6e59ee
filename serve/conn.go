package serve

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"sync"
	"time"

	"github.com/troupe-go/troupe/actor"
)

// The states of a connection; they only move forward.
const (
	connOpen    = iota // frames are delivered, writes queued
	connClosing        // graceful: no more frames or writes; the queue is flushed, then the socket closed
	connClosed         // the socket is closed (or being closed)
)

// Conn is one client connection, served by its own actor. The session
// factory of New gets it, to keep for writing and closing; its methods are
// safe for concurrent use (any actor or goroutine may write to it).
//
// Goroutines: a reader, for the connection's life, that reads frames and
// calls the actor with each; and a writer, started when the socket does
// not take queued bytes at once and gone once they are written, so that
// an idle connection has one goroutine. Both belong to the Server, which
// waits for them.
//
// A nil or zero *Conn (not given by the server) is a closed one: Write and
// Send return ErrConnClosed, Queued 0, RemoteAddr and LocalAddr nil, and
// Close does nothing.
type Conn struct {
	srv *Server
	nc  net.Conn
	dw  *directWriter // for writes that do not wait; nil if nc has no descriptor
	fm  frameMsg      // the frame being delivered; the reader's

	actorDone <-chan struct{} // closed when the actor has stopped; set by the reader at spawn

	mu       sync.Mutex    // guards the fields below
	ref      any           // the actor's *actor.Ref[S], once spawned
	state    int           // connOpen, connClosing, connClosed
	sealed   bool          // no more writes: the session closed, or the reader is done with frames
	reason   error         // why the connection closes; see CloseHandler
	q        *wbuf         // queued bytes, not yet taken by the writer
	deadline time.Time     // the earliest write deadline of q's bytes that have one
	undated  bool          // some of q's bytes have none: WithWriteTimeout is theirs
	inflight int           // bytes of the writer's batch
	writing  bool          // a writer goroutine runs
	stopped  chan struct{} // closed by the writer as it exits, if made
}

var aLongTimeAgo = time.Unix(1, 0)

func newConn(s *Server, nc net.Conn) *Conn {
	c := &Conn{srv: s, nc: nc, dw: newDirectWriter(nc), fm: frameMsg{done: make(chan struct{}, 1)}}
	return c
}

// RemoteAddr is the client's address. It does not block.
func (c *Conn) RemoteAddr() net.Addr {
	if !c.made() {
		return nil
	}
	return c.nc.RemoteAddr()
}

// LocalAddr is the server's address of the connection. It does not block.
func (c *Conn) LocalAddr() net.Addr {
	if !c.made() {
		return nil
	}
	return c.nc.LocalAddr()
}

// made reports whether c was made by the server (see Conn).
func (c *Conn) made() bool { return c != nil && c.srv != nil }

// Close closes the connection gracefully and returns at once, without
// blocking: no frame is delivered any more, Write and Send fail with
// ErrConnClosed from now on, what is queued is written (within its
// deadlines), then the server's side is shut, the client gets WithLinger
// to close its own, and the socket is closed. The session's Closed gets a
// nil reason, unless the connection was already closing: it keeps its
// first reason. Idempotent.
func (c *Conn) Close() {
	if !c.made() {
		return
	}
	c.closeWith(nil)
	c.mu.Lock()
	c.sealed = true
	c.mu.Unlock()
}

// closeWith starts a graceful close with reason, unless the connection is
// already closing; it wakes the reader if it waits for input. Writes are
// still queued until the reader is done with the frame in hand (a frame
// handled during a Shutdown still gets its reply out).
func (c *Conn) closeWith(reason error) {
	c.mu.Lock()
	if c.state != connOpen {
		c.mu.Unlock()
		return
	}
	c.state, c.reason = connClosing, reason
	c.mu.Unlock()
	if h := c.srv.cfg.hooks.waking; h != nil {
		h(c)
	}
	_ = c.nc.SetReadDeadline(aLongTimeAgo)
}

// actorStopped closes the connection gracefully (what is queued is still
// written) with reason actor.ErrStopped, unless it is closing already: its
// actor has stopped, and its reader, which may be waiting for a silent
// client, returns. It runs as the actor finalizes (Ref.AtStop) and must
// not block.
func (c *Conn) actorStopped() { c.closeWith(actor.ErrStopped) }

// abort closes the socket now, dropping what is queued. A connection
// already closing keeps its first reason.
func (c *Conn) abort(reason error) {
	c.mu.Lock()
	if c.state == connClosed {
		c.mu.Unlock()
		return
	}
	if c.state == connOpen {
		c.reason = reason
	}
	c.state = connClosed
	c.mu.Unlock()
	_ = c.nc.Close()
}

func (c *Conn) status() (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.state, c.reason
}

// serve is the connection's reader goroutine: it spawns the actor, calls
// it with each frame, then closes the connection and stops the actor.
func (c *Conn) serve() {
	defer c.srv.connDone(c)
	var rd *reader
	done := false
	// A runtime.Goexit on this goroutine (in the session factory, or in a
	// handler on a turn run here: see binding.frame) still closes the
	// connection.
	defer func() {
		if !done {
			c.exited(rd)
		}
	}()
	if !c.spawn() {
		done = true
		return
	}
	rd = newReader(c.srv.cfg.framing)
	if !c.readDirect(rd) {
		c.read(rd)
	}
	c.finish(rd)
	done = true
}

// exited closes the connection whose reader goroutine is ending without
// having finished it: runtime.Goexit was called on it. Before the actor
// was spawned (by the session factory), the connection is refused as
// after a panic there; after (by a handler on a turn the reader ran,
// whose failure the actor has recorded), it closes as after a panic in
// Frame, and the actor gets Closed and stops.
func (c *Conn) exited(rd *reader) {
	if rd == nil {
		c.refuse(&actor.PanicError{Method: "serve.open", Value: errGoexit, Stack: debug.Stack()})
		return
	}
	c.closeWith(fmt.Errorf("%w: %w", ErrFramePanicked, &actor.PanicError{Method: "serve.frame", Value: errGoexit}))
	c.finish(rd)
}

// spawn starts the connection's actor, or closes the connection.
//
//go:noinline
func (c *Conn) spawn() bool {
	err := c.srv.b.spawn(c)
	if err == nil {
		return true
	}
	c.refuse(err)
	return false
}

// refuse closes a connection whose actor could not be spawned, logging
// why (with the stack, if the session factory panicked or exited).
func (c *Conn) refuse(err error) {
	if !errors.Is(err, ErrServerClosed) { // else closed by Close while its actor was made
		// Logged before the close: whoever sees the close can read why.
		args := []any{"remote", c.nc.RemoteAddr(), "err", err}
		if pe := (*actor.PanicError)(nil); errors.As(err, &pe) {
			args = append(args, "stack", string(pe.Stack))
		}
		c.srv.log(slog.LevelWarn, "serve: connection refused: cannot spawn its actor", args...)
	}
	c.abort(err)
	c.sealWriter() // the factory may have queued a greeting: its writer ends with the socket
}

// read delivers frames until the input ends or the connection closes. The
// reader goroutine spends its idle life parked in here: its frames are
// kept small, so that the goroutine's stack, grown by the calls, shrinks
// back when the GC finds it idle.
func (c *Conn) read(rd *reader) {
	for {
		p, need, err := rd.parse()
		switch {
		case need > 0:
			n, err := c.nc.Read(rd.room(need))
			rd.got(n, err)
		case err != nil:
			c.readFailed(err)
			return
		case !c.deliver(p):
			return
		}
	}
}

// deliver calls the actor with frame p; it reports whether to go on.
//
//go:noinline
func (c *Conn) deliver(p []byte) bool {
	if st, _ := c.status(); st != connOpen {
		return false // closing: frames not yet handled are dropped
	}
	s := c.srv
	c.fm.p = p
	if err := s.b.frame(c); err != nil {
		c.closeWith(err) // the actor is gone
		return false
	}
	select {
	case <-c.fm.done:
	case <-c.actorDone:
		select {
		case <-c.fm.done: // handled, then the actor stopped: the next frame finds it so
		default:
			// Killed with the frame queued: it failed as a dead letter.
			c.closeWith(actor.ErrStopped)
			return false
		}
	case <-s.forced.Done():
		// The handler may still run: the buffer must not be reused. So the
		// socket closes now, here, before finish could linger, reading
		// into it (forceStop may not have reached this connection yet).
		c.abort(ErrServerClosed)
		return false
	}
	c.fm.p = nil
	if err := c.fm.err; err != nil {
		c.closeWith(err)
		return false
	}
	return true
}

// readFailed closes the connection after a read error: gracefully at the
// end of the input or after a frame over its limit (what is queued is
// still written), at once after a network error. A connection already
// closing (its reader woken by closeWith) keeps its way and reason.
func (c *Conn) readFailed(err error) {
	if st, _ := c.status(); st != connOpen {
		return
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || isLimit(err) {
		c.closeWith(err)
		return
	}
	c.abort(err)
}

// finish flushes the queue (graceful close), shuts the server's side,
// lingers for the client's, closes the socket, then tells the actor and
// stops it. It runs on the reader goroutine.
func (c *Conn) finish(rd *reader) {
	s := c.srv
	c.mu.Lock()
	if c.state == connOpen {
		c.state = connClosing // not reached: the loop ends only after a close
	}
	c.mu.Unlock()
	c.sealWriter()
	if st, reason := c.status(); st == connClosing {
		c.linger(rd, errors.Is(reason, io.EOF))
	}
	c.abort(nil) // closes the socket; the reason stays
	_, reason := c.status()
	if reason != nil && !errors.Is(reason, io.EOF) {
		s.log(slog.LevelDebug, "serve: connection closed", "remote", c.nc.RemoteAddr(), "reason", reason)
	}
	_ = s.b.closed(s.forced, c)
}

// sealWriter takes no more writes and waits for the writer goroutine, if
// one runs, to write what is queued (or to fail, once the socket is
// closed); a forced stop aborts the connection, so the wait ends. It runs
// on the reader goroutine, before it ends: the server waits for the
// writer through it.
func (c *Conn) sealWriter() {
	c.mu.Lock()
	c.sealed = true
	var stopped chan struct{}
	if c.writing {
		c.stopped = make(chan struct{})
		stopped = c.stopped
	}
	c.mu.Unlock()
	if stopped == nil {
		return
	}
	select {
	case <-stopped:
	case <-c.srv.forced.Done():
		c.abort(ErrServerClosed)
		<-stopped // the socket is closed: the writer's Write returns
	}
}

// linger shuts the server's side of a gracefully closed connection and
// reads (discarding) until the client closes its own, for WithLinger at
// most: closing a socket with unread input would reset the connection and
// could destroy what the client had not read yet.
func (c *Conn) linger(rd *reader, sawEOF bool) {
	d := c.srv.cfg.linger
	cw, ok := c.nc.(interface{ CloseWrite() error })
	if !ok || d == 0 || cw.CloseWrite() != nil || sawEOF {
		return
	}
	deadline := time.Now().Add(d)
	if err := c.nc.SetReadDeadline(deadline); err != nil {
		return
	}
	if h := c.srv.cfg.hooks.lingering; h != nil {
		h(c)
	}
	buf := rd.discard()
	for {
		_, err := c.nc.Read(buf)
		if err == nil {
			continue
		}
		// closeWith's wake-up (a deadline in the past) may land after
		// this deadline was set: the connection was marked closing by
		// another goroutine while a frame sent its reader here. The
		// linger is not over: its own deadline is set again.
		if errors.Is(err, os.ErrDeadlineExceeded) && time.Now().Before(deadline) &&
			c.nc.SetReadDeadline(deadline) == nil {
			continue
		}
		if h := c.srv.cfg.hooks.lingered; h != nil {
			h(c, err)
		}
		return
	}
}

// writeErr is the close reason of a failed write.
func writeErr(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%w: %w", ErrWriteTimeout, err)
	}
	return fmt.Errorf("serve: write: %w", err)
}
