package serve

import (
	"context"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/engine"
	troupe "github.com/troupe-go/troupe/runtime"
)

// Session is the state of a connection's actor. Frame handles one frame of
// input, on the actor's turn: the connection's reader sends it as a
// message to the actor and waits until Frame has returned before it reads
// on, so a slow actor slows its client down through TCP, never queues
// without bound. frame is valid only until Frame returns: Write and Send
// copy it; copy it to keep it. A non-nil error closes the connection
// gracefully with that reason; so does a panic or runtime.Goexit (with a
// reason that matches ErrFramePanicked and wraps the *actor.PanicError;
// the panic also goes to the runtime's dead letters and the actor's
// supervision, as for any oneway). Frame has no deadline of its own: one
// that never returns holds its connection (even its idle timeout waits for
// the turn) until Server.Close; hand long work off the turn. The turn that
// runs Frame may run on the reader goroutine and take other messages
// after it (see Server.Close): the reader reads on once that turn ends,
// so a session's other methods should not block either.
type Session interface {
	Frame(c *actor.Ctx, frame []byte) error
}

// IdleHandler is implemented by sessions that choose what an idle timeout
// does. Idle runs on the actor's turn as a oneway once the connection has
// delivered no frame for the idle timeout; a nil error keeps the
// connection open (the next frame restarts the count; a write too, with
// WithIdleOnWrite), a non-nil one closes it gracefully with that reason.
// Without it the connection closes with ErrIdleTimeout; if it panics, with
// a reason that matches ErrIdleTimeout and wraps the *actor.PanicError.
type IdleHandler interface {
	Idle(c *actor.Ctx) error
}

// CloseHandler is implemented by sessions that want to know why their
// connection closed. Closed runs on the actor's turn as a oneway, once,
// after the socket is closed and the connection's goroutines have ended;
// the actor then stops (after what is queued). A forced stop (Close, or a
// Shutdown past its ctx) kills the actor instead: Closed does not start
// once it has begun, even if already queued (one already running is a
// handler in hand, whose Context the kill cancels),
// nor when the actor stopped first (the connection then closes with
// actor.ErrStopped); the actor's Stopping hook (actor.Stopper) always
// does. reason is nil if the session closed the connection with
// Conn.Close, io.EOF if the client closed its side, else ErrServerClosed,
// ErrIdleTimeout, ErrWriteTimeout, a *LimitError, the error Frame or Idle
// returned, or the network's error. After a panic in Frame it matches
// ErrFramePanicked, after one in Idle ErrIdleTimeout, and it wraps the
// panic as a *actor.PanicError, with its stack (errors.As).
type CloseHandler interface {
	Closed(c *actor.Ctx, reason error)
}

// frameMsg is a connection's frame on its way to the actor: one per
// connection, reused for every frame, so that delivering one allocates
// nothing. The reader writes p, casts the message, and waits on done;
// the actor's turn writes err and signals done. The cast and the channel
// order their accesses.
type frameMsg struct {
	p    []byte
	err  error
	done chan struct{} // capacity 1
}

func (f *frameMsg) handled() { f.done <- struct{}{} }

// binder is what a Server knows of its sessions' type: how to spawn a
// connection's actor and call it.
type binder interface {
	spawn(c *Conn) error // sets c.ref and c.actorDone, closes c when the actor stops
	frame(c *Conn) error
	wrote(c *Conn)
	closed(ctx context.Context, c *Conn) error
	kill(c *Conn)
	closeWait() time.Duration // how long Close waits for handlers that ignore their Context
}

// binding is the binder of sessions of type S: the methods every
// connection's actor of one server runs.
type binding[S Session] struct {
	rt      *troupe.Runtime
	open    func(*Conn) S
	idle    *actor.Method[S, *Conn, struct{}]
	frameM  *actor.Method[S, *frameMsg, struct{}]
	wroteM  *actor.Method[S, struct{}, struct{}]
	closedM *actor.Method[S, *Conn, struct{}]
}

func newBinding[S Session](rt *troupe.Runtime, open func(*Conn) S, cfg *config) *binding[S] {
	b := &binding[S]{rt: rt, open: open}
	b.frameM = actor.NewMethod("serve.frame", func(s S, c *actor.Ctx, f *frameMsg) (struct{}, error) {
		f.err = ErrFramePanicked // stays if Frame calls runtime.Goexit
		defer f.handled()        // also when Frame panics
		defer notePanic(&f.err, ErrFramePanicked, "serve.frame")
		f.err = s.Frame(c, f.p)
		c.TouchIdle() // a frame is the client's activity
		return struct{}{}, nil
	})
	b.wroteM = actor.NewMethod("serve.wrote", func(_ S, c *actor.Ctx, _ struct{}) (struct{}, error) {
		c.TouchIdle() // a write counts as activity for the idle timeout
		return struct{}{}, nil
	})
	b.closedM = actor.NewMethod("serve.closed", func(s S, c *actor.Ctx, conn *Conn) (struct{}, error) {
		// A forced stop that began after Closed was queued kills the
		// actor; its kill may not have come yet, but Closed does not
		// run after it began (see CloseHandler).
		if conn.srv.forced.Err() != nil {
			return struct{}{}, nil
		}
		if h, ok := any(s).(CloseHandler); ok {
			_, reason := conn.status()
			h.Closed(c, reason)
		}
		return struct{}{}, nil
	})
	b.idle = actor.NewMethod("serve.idle", func(s S, c *actor.Ctx, conn *Conn) (struct{}, error) {
		reason, decided := error(ErrIdleTimeout), false
		// A panic in Idle goes on to the actor's supervision, and the
		// connection still closes.
		defer func() {
			if !decided || reason != nil {
				conn.closeWith(reason)
			}
		}()
		defer notePanic(&reason, ErrIdleTimeout, "serve.idle")
		if h, ok := any(s).(IdleHandler); ok {
			reason = h.Idle(c)
		}
		decided = true
		return struct{}{}, nil
	})
	return b
}

// notePanic, deferred by a handler, makes *reason wrap sentinel and, if
// the handler panics, a *actor.PanicError with the value and the stack,
// then panics again with the same value. The panic is not handled here:
// the actor's own recover, the one place panics are handled, still gives
// it to the dead letters and the actor's supervision. This only lets the
// close reason carry the stack, for a CloseHandler to log (errors.As).
// A runtime.Goexit is not a panic: *reason is left as it is.
func notePanic(reason *error, sentinel error, method string) {
	v := recover()
	if v == nil {
		return
	}
	*reason = fmt.Errorf("%w: %w", sentinel, &actor.PanicError{Method: method, Value: v, Stack: debug.Stack()})
	panic(v)
}

func (b *binding[S]) ref(c *Conn) *actor.Ref[S] { return c.ref.(*actor.Ref[S]) }

func (b *binding[S]) spawn(c *Conn) error {
	var opts []actor.Option
	if d := c.srv.cfg.idle; d > 0 {
		// Only the client's activity restarts the count (TouchIdle in
		// frame and wrote), not the calls the actor gets from elsewhere.
		opts = append(opts, actor.WithIdleTimeout(d, b.idle, c), actor.IdleOnTouch())
	}
	st, err := b.opened(c)
	if err != nil {
		return err
	}
	ref, err := actor.Spawn(b.rt, st, opts...)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.ref = ref
	c.mu.Unlock()
	if c.srv.forced.Err() != nil {
		// A forced stop began while the actor was being made: its kill
		// (after force, reading ref under mu) may have missed it.
		ref.Kill()
		<-ref.Done() // Close waits for the actors (see binding.closed)
		return ErrServerClosed
	}
	c.actorDone = ref.Done()
	// However and whenever the actor stops, even by a kill from its
	// Started hook before it ran anything else, its connection closes:
	// its reader may be waiting for a silent client.
	if !ref.AtStop(engine.Seal{}, c.actorStopped) {
		c.actorStopped() // it has stopped already
	}
	return nil
}

// opened runs the session factory. It runs on the reader goroutine,
// outside any actor: a panic in it is recovered here, as a
// *actor.PanicError, so that it refuses this connection only.
func (b *binding[S]) opened(c *Conn) (s S, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &actor.PanicError{Method: "serve.open", Value: v, Stack: debug.Stack()}
		}
	}()
	return b.open(c), nil
}

// frame hands the connection's frame message to the actor; the reader
// then waits for its handled signal. If the actor is idle, its turn runs
// right here, on the reader goroutine, which would only wait for it
// otherwise (two goroutine hand-offs saved per frame: see
// actor.Method.CastInline).
func (b *binding[S]) frame(c *Conn) error { return b.frameM.CastInline(engine.Seal{}, b.ref(c), &c.fm) }

// kill kills the connection's actor, if spawned: a handler running on the
// reader sees its Context end.
func (b *binding[S]) kill(c *Conn) {
	c.mu.Lock()
	ref, ok := c.ref.(*actor.Ref[S])
	c.mu.Unlock()
	if ok {
		ref.Kill()
	}
}

// closeWait is the runtime's call timeout.
func (b *binding[S]) closeWait() time.Duration { return b.rt.Engine(engine.Seal{}).CallTimeout }

// wrote tells the actor a batch was written, from the writer goroutine: a
// batch written before the spawn returned (a greeting) needs no telling.
func (b *binding[S]) wrote(c *Conn) {
	c.mu.Lock()
	ref, _ := c.ref.(*actor.Ref[S])
	c.mu.Unlock()
	if ref != nil {
		_ = b.wroteM.Cast(ref, struct{}{})
	}
}

// closed tells the actor why its connection closed (c's reason, settled
// once its socket is closed) and stops it, waiting for its stop within
// ctx, the server's forced stop: once that has begun the actor is killed
// and Closed does not run. It returns once the actor has stopped, however
// (an actor already stopping on its own is waited for too).
func (b *binding[S]) closed(ctx context.Context, c *Conn) error {
	ref := b.ref(c)
	if !ref.Stopped() { // else stopping on its own: nobody to tell
		if h := c.srv.cfg.hooks.closing; h != nil {
			h(c)
		}
		_ = b.closedM.Cast(ref, c) // refused only if the actor is stopping: nobody to tell
		if h := c.srv.cfg.hooks.closedQueued; h != nil {
			h(c)
		}
	}
	err := ref.Stop(ctx)
	// Past ctx the stop is a kill: it still ends once the running handler
	// (its Context cancelled) and the Stopping hook return. Shutdown and
	// Close wait for it through this goroutine (Close within its bound).
	<-ref.Done()
	return err
}
