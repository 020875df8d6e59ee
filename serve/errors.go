package serve

import (
	"errors"
	"fmt"
)

// Sentinel errors. A connection's close reason (see [CloseHandler]) and
// every error this package returns either is one of these, wraps one (test
// with errors.Is), is a [*LimitError] or [*QueueFullError] (errors.As; each
// also matches its sentinel), or is the error of the network, of a handler
// or of a decode or encode function, passed on unchanged or wrapped with %w.
var (
	// ErrServerClosed: Serve and ListenAndServe after Shutdown or Close;
	// also the close reason of connections closed by them.
	ErrServerClosed = errors.New("serve: server closed")
	// ErrConnClosed: Write or Send on a connection that is closing or
	// closed. It wraps the connection's close reason when there is one.
	ErrConnClosed = errors.New("serve: connection closed")
	// ErrQueueFull: a write that does not fit in the connection's write
	// queue; the error is a *QueueFullError.
	ErrQueueFull = errors.New("serve: write queue full")
	// ErrLineTooLong: a line longer than the limit of WithLines; the close
	// reason is a *LimitError.
	ErrLineTooLong = errors.New("serve: line too long")
	// ErrFrameTooLarge: a length prefix over the limit of WithLengthPrefix,
	// refused before anything is allocated; the close reason is a
	// *LimitError. Also Conn.Send's refusal of a frame whose length does
	// not fit a 4-byte prefix.
	ErrFrameTooLarge = errors.New("serve: frame too large")
	// ErrIdleTimeout: the close reason of a connection that delivered no
	// frame for the idle timeout (unless its IdleHandler chose otherwise).
	ErrIdleTimeout = errors.New("serve: idle timeout")
	// ErrWriteTimeout: the close reason of a connection whose queued bytes
	// missed their write deadline (it wraps the network's error too).
	ErrWriteTimeout = errors.New("serve: write timeout")
	// ErrFramePanicked: the close reason of a connection whose Frame
	// panicked; the reason also wraps the *actor.PanicError, with its
	// stack (errors.As), which went to the runtime's dead letters too.
	ErrFramePanicked = errors.New("serve: Frame panicked")
	// ErrTooManyConns: a connection refused because WithMaxConns was
	// reached (logged; the client sees its connection closed at once).
	ErrTooManyConns = errors.New("serve: too many connections")
	// ErrBadPosition: a Last-Event-ID (SSE) or since parameter
	// (JSONLines) that is not a sequence number; answered 400.
	ErrBadPosition = errors.New("serve: bad stream position")
	// ErrCannotFlush: SSE or JSONLines given a ResponseWriter that
	// http.ResponseController cannot flush (a middleware's wrapper with
	// neither Flush nor Unwrap); answered 500, the stream not opened.
	ErrCannotFlush = errors.New("serve: response writer cannot flush")
	// ErrTrailingJSON: DecodeJSON given a body with another JSON value
	// after the first; answered 400 by Method.
	ErrTrailingJSON = errors.New("serve: JSON body has more after its value")
	// ErrInvalidOption: New or Method with an option out of range; Serve
	// with a nil listener.
	ErrInvalidOption = errors.New("serve: invalid option")
	// ErrNilRuntime: New with a nil or zero runtime (not made by
	// troupe.New).
	ErrNilRuntime = errors.New("serve: nil runtime")
	// ErrHandlersStuck: Close waited the runtime's call timeout for
	// connections' actors to stop: a handler that ignores its cancelled
	// Context, or a Stopping hook that blocks (see Server.Close). The
	// connections' reader goroutines exit once their actors have stopped.
	ErrHandlersStuck = errors.New("serve: handlers did not return")
)

// LimitError is the close reason of a connection that sent a frame over
// its limit: a line longer than WithLines allows, or a length prefix over
// WithLengthPrefix's maximum. It matches ErrLineTooLong or ErrFrameTooLarge.
type LimitError struct {
	Err  error // ErrLineTooLong or ErrFrameTooLarge
	Size int64 // a frame's declared length; for a line, the bytes read without finding '\n'
	Max  int   // the limit
}

// Error names the limit passed and by how much.
func (e *LimitError) Error() string {
	if errors.Is(e.Err, ErrLineTooLong) {
		return fmt.Sprintf("%v: more than %d bytes without a newline", e.Err, e.Max)
	}
	return fmt.Sprintf("%v: %d bytes, limit %d", e.Err, e.Size, e.Max)
}

// Unwrap returns ErrLineTooLong or ErrFrameTooLarge.
func (e *LimitError) Unwrap() error { return e.Err }

// QueueFullError is returned by Write and Send when the bytes do not fit in
// the connection's write queue: the client reads more slowly than the
// connection writes. Nothing was queued. It matches ErrQueueFull.
type QueueFullError struct {
	Size   int // the bytes of the refused write
	Queued int // the bytes waiting to be written, the writer's batch included
	Max    int // the queue's capacity (WithWriteQueue)
}

// Error gives the queued bytes, the refused write's and the capacity.
func (e *QueueFullError) Error() string {
	return fmt.Sprintf("%v: %d bytes queued, %d more would pass the limit of %d", ErrQueueFull, e.Queued, e.Size, e.Max)
}

// Is reports whether target is ErrQueueFull.
func (e *QueueFullError) Is(target error) bool { return target == ErrQueueFull }

// errGoexit is the panic value recorded when runtime.Goexit ends a
// connection's reader goroutine (see Conn.exited).
var errGoexit = errors.New("serve: runtime.Goexit called on the connection's reader goroutine")
