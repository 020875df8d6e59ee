package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/engine"
	troupe "github.com/troupe-go/troupe/runtime"
)

// Server serves TCP connections, one actor per connection. Make it with
// New; run it with Serve or ListenAndServe; stop it with Shutdown or
// Close. Safe for concurrent use. A nil or zero *Server (not made by New)
// is a closed one: Serve and ListenAndServe return ErrServerClosed (Serve
// closes its listener), Conns 0, Shutdown and Close nil.
//
// Goroutines: one accept loop per Serve call (on the caller's goroutine)
// and, per connection, a reader and, while bytes are queued, a writer (see
// Conn). Shutdown and Close wait for every one of them.
type Server struct {
	b   binder
	cfg config

	forced context.Context    // done once the stop is forced (Close, or Shutdown's ctx)
	force  context.CancelFunc // forces it
	begun  chan struct{}      // closed once a stop has begun (graceful or forced)
	done   chan struct{}      // closed when every goroutine has exited, after a stop began

	mu        sync.Mutex // guards the fields below
	stopping  bool
	listeners map[net.Listener]struct{}
	conns     map[*Conn]struct{}
	wg        sync.WaitGroup // accept loops and readers; Add only under mu while !stopping
}

// New returns a server whose every connection runs an actor of state
// open(conn), spawned on rt when the connection is accepted (open runs on
// the connection's reader goroutine, before any frame). S may also
// implement IdleHandler, CloseHandler, actor.Starter and actor.Stopper.
// open should be quick (greet from it with Write, or from actor.Starter).
// If it panics (or calls runtime.Goexit), the connection is closed at once, unserved (what open
// wrote is dropped), and the panic is logged at warn level (WithLogger)
// as a *actor.PanicError with its stack; the server serves on.
// Errors: ErrNilRuntime (a nil or zero rt, not made by troupe.New),
// ErrInvalidOption. It starts no goroutine.
func New[S Session](rt *troupe.Runtime, open func(conn *Conn) S, opts ...Option) (*Server, error) {
	if rt.Engine(engine.Seal{}) == nil {
		return nil, ErrNilRuntime
	}
	if open == nil {
		return nil, fmt.Errorf("%w: nil session factory", ErrInvalidOption)
	}
	cfg := defaults()
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: nil option", ErrInvalidOption)
		}
		o.apply(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, begun: make(chan struct{}), done: make(chan struct{}),
		listeners: make(map[net.Listener]struct{}), conns: make(map[*Conn]struct{})}
	s.forced, s.force = context.WithCancel(context.Background())
	s.b = newBinding(rt, open, &s.cfg)
	return s, nil
}

// ListenAndServe listens on the TCP address addr and calls Serve. It
// blocks, and returns ErrServerClosed after Shutdown or Close, or the
// error that stopped it.
func (s *Server) ListenAndServe(addr string) error {
	if !s.made() || s.isStopping() {
		return ErrServerClosed
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return s.Serve(l)
}

// Serve accepts connections on l and serves each on its own actor, until
// l fails or the server stops. It blocks, closes l before it returns, and
// always returns an error: ErrServerClosed after Shutdown or Close, else
// l's. Temporary accept errors (out of file descriptors, …) are logged and
// retried after a pause of 5 ms doubling to 1 s. Past WithMaxConns, a
// connection is closed as soon as it is accepted. Serve may be called
// with several listeners at once. A nil l returns ErrInvalidOption.
func (s *Server) Serve(l net.Listener) error {
	if l == nil {
		return fmt.Errorf("%w: nil listener", ErrInvalidOption)
	}
	if !s.made() || !s.track(l) {
		_ = l.Close()
		return ErrServerClosed
	}
	defer s.untrack(l)
	var pause time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			if s.isStopping() {
				return ErrServerClosed
			}
			var ne interface{ Temporary() bool }
			if errors.As(err, &ne) && ne.Temporary() {
				pause = min(max(2*pause, 5*time.Millisecond), time.Second)
				s.log(slog.LevelWarn, "serve: accept failed; retrying", "err", err, "pause", pause)
				if !s.pause(pause) {
					return ErrServerClosed
				}
				continue
			}
			return err
		}
		pause = 0
		s.admit(nc)
	}
}

// pause waits d, or less if the server stops (gracefully or not); it
// reports whether the server still runs.
func (s *Server) pause(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return !s.isStopping()
	case <-s.begun:
		return false
	}
}

// admit starts serving nc, or refuses it.
func (s *Server) admit(nc net.Conn) {
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		_ = nc.Close()
		return
	}
	if n := s.cfg.maxConns; n > 0 && len(s.conns) >= n {
		s.mu.Unlock()
		// Logged before the close: whoever sees the close can read why.
		s.log(slog.LevelWarn, "serve: connection refused", "remote", nc.RemoteAddr(), "err", ErrTooManyConns, "max", n)
		_ = nc.Close()
		return
	}
	c := newConn(s, nc)
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go c.serve()
}

func (s *Server) connDone(c *Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	s.wg.Done()
}

func (s *Server) track(l net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return false
	}
	s.listeners[l] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) untrack(l net.Listener) {
	s.mu.Lock()
	_, ok := s.listeners[l]
	delete(s.listeners, l)
	s.mu.Unlock()
	if ok {
		_ = l.Close()
	}
	s.wg.Done()
}

// made reports whether s was made by New (see Server).
func (s *Server) made() bool { return s != nil && s.b != nil }

func (s *Server) isStopping() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopping
}

// Conns is the number of connections being served, those closing
// included. It does not block for long; O(1).
func (s *Server) Conns() int {
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Shutdown stops the server gracefully and waits: it closes the listeners
// (Serve returns ErrServerClosed), then closes every connection as
// Conn.Close does — the frame being handled finishes, frames not yet
// handled are dropped, queued writes are written — with reason
// ErrServerClosed, and stops every connection's actor. It returns nil once
// every goroutine of the server has exited and every actor has stopped.
//
// If ctx ends first, the stop is forced as by Close and Shutdown returns
// ctx's error at once; call Close to wait for the forced stop. Shut the
// server down before its runtime. Safe to call many times, and
// concurrently with Close: each caller waits on its own ctx. A nil ctx
// returns actor.ErrNilContext and stops nothing.
func (s *Server) Shutdown(ctx context.Context) error {
	if !s.made() {
		return nil
	}
	if ctx == nil {
		return actor.ErrNilContext
	}
	s.begin()
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
	}
	s.forceStop()
	return ctx.Err()
}

// Close stops the server now and waits: listeners and sockets are closed,
// queued writes dropped, frame calls in flight abandoned (the handlers'
// Contexts are cancelled), and every connection's actor is killed. It
// returns nil once every goroutine of the server has exited and every
// connection's actor has stopped (its running handler and its Stopping
// hook returned): no session code runs after it. The reason given to
// CloseHandlers is ErrServerClosed (or an earlier one). So a handler of a
// connection's actor that ignores its cancelled Context, or a Stopping
// hook that blocks, holds Close: it waits up to the runtime's call
// timeout, then returns ErrHandlersStuck (the connection's reader
// goroutine exits once the actor has stopped). When a frame finds its
// actor idle, the actor's turn runs on that reader goroutine: Frame, then
// up to 15 more messages queued meanwhile, whatever their method (calls
// from other actors, the idle timeout). Do not call Close from a handler
// of a connection's actor: it would wait for that handler. It forces a
// Shutdown under way. Safe to call many times.
func (s *Server) Close() error {
	if !s.made() {
		return nil
	}
	s.begin()
	s.forceStop()
	t := time.NewTimer(s.b.closeWait())
	defer t.Stop()
	select {
	case <-s.done:
		return nil
	case <-t.C:
		return ErrHandlersStuck
	}
}

// begin starts the stop, once: no more listeners or connections, every
// listener closed, every connection asked to close gracefully, and a
// goroutine that closes done once all the server's goroutines are gone.
func (s *Server) begin() {
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		return
	}
	s.stopping = true
	close(s.begun)
	ls := make([]net.Listener, 0, len(s.listeners))
	for l := range s.listeners {
		ls = append(ls, l)
	}
	clear(s.listeners)
	cs := s.connList()
	s.mu.Unlock()
	for _, l := range ls {
		_ = l.Close()
	}
	for _, c := range cs {
		c.closeWith(ErrServerClosed)
	}
	go func() {
		s.wg.Wait()
		s.force() // releases the context's resources
		close(s.done)
	}()
}

// forceStop aborts every connection that is left and kills its actor: a
// handler running on a reader goroutine (see binding.frame) sees its
// Context end.
func (s *Server) forceStop() {
	s.force()
	s.mu.Lock()
	cs := s.connList()
	s.mu.Unlock()
	for _, c := range cs {
		c.abort(ErrServerClosed)
		s.b.kill(c)
	}
}

// connList returns the connections; the caller holds mu.
func (s *Server) connList() []*Conn {
	cs := make([]*Conn, 0, len(s.conns))
	for c := range s.conns {
		cs = append(cs, c)
	}
	return cs
}

// log logs msg at level through the WithLogger logger, if any.
func (s *Server) log(level slog.Level, msg string, args ...any) {
	if s.cfg.logger != nil {
		s.cfg.logger.Log(context.Background(), level, msg, args...)
	}
}
