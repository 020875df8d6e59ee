package actor

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"

	"github.com/troupe-go/troupe/internal/engine"
	"github.com/troupe-go/troupe/mailbox"
)

// Sentinel errors. Every error a call returns either is one of these or
// wraps one (test with errors.Is), except a handler's own error and a
// [*PanicError] (test with errors.As).
var (
	// ErrStopped: the actor is stopping or stopped, or the runtime is closed.
	ErrStopped = engine.ErrStopped
	// ErrMailboxFull: the actor's mailbox is at capacity (Reject policy, or
	// Block policy when the wait timed out).
	ErrMailboxFull = errors.New("actor: mailbox full")
	// ErrDropped: the call was evicted from a full DropOldest mailbox by a
	// newer one. It wraps ErrMailboxFull.
	ErrDropped = fmt.Errorf("actor: dropped from a full mailbox: %w", ErrMailboxFull)
	// ErrCallCycle: the sync call would close a cycle of actors waiting for
	// each other (A→A, A→B→A, …); it fails at once instead of at the deadline.
	// Also a Ref.Stop from a handler whose stop waits for that handler (see
	// Ref.Stop): the stop is asked for, not waited for.
	ErrCallCycle = errors.New("actor: call cycle")
	// ErrNilRef: a call on a nil or zero *Ref (not made by Spawn), a
	// Process of a nil or zero *Handler, or a nil or zero *Future awaited.
	ErrNilRef = errors.New("actor: nil ref")
	// ErrNilContext: a nil context.Context was passed, or a nil or zero
	// *Ctx (one not passed to a handler, or kept past its turn) to Go,
	// After, Every or Ctx.Only.
	ErrNilContext = errors.New("actor: nil context")
	// ErrNilState: Spawn with a nil state.
	ErrNilState = errors.New("actor: nil state")
	// ErrNilHandler: a Method made with a nil function, or not made by
	// NewMethod (nil, or a zero Method); a Stream made with one, or not
	// made by NewStream (nil, or a zero Stream).
	ErrNilHandler = errors.New("actor: nil handler")
	// ErrInvalidName: a method or actor name that is empty, longer than 255
	// bytes, or holds control characters.
	ErrInvalidName = engine.ErrInvalidName
	// ErrNameTaken: an actor with that name is already running, or is
	// still stopping (the name is free once its Done closes).
	ErrNameTaken = engine.ErrNameTaken
	// ErrNegativeDuration: a negative timeout, delay or period.
	ErrNegativeDuration = errors.New("actor: negative duration")
	// ErrInvalidOption: an option out of range.
	ErrInvalidOption = engine.ErrInvalidOption
	// ErrNilRuntime: Spawn, NewHandler or runtime.Lookup on a nil runtime.
	ErrNilRuntime = errors.New("actor: nil runtime")
	// ErrWrongActor: a whitelist or timer names a method of another actor
	// type.
	ErrWrongActor = errors.New("actor: method of another actor type")
	// ErrProcessing: Handler.Process called while another Process runs, or
	// from inside a handler of the same actor.
	ErrProcessing = errors.New("actor: already processing")
)

// ErrTimeout is returned when a sync call's deadline passes before its reply
// (the caller's ctx deadline, or the runtime's default call timeout). It
// matches context.DeadlineExceeded too:
//
//	errors.Is(err, actor.ErrTimeout)              // true
//	errors.Is(err, context.DeadlineExceeded)      // true
var ErrTimeout error = timeoutError{}

type timeoutError struct{}

func (timeoutError) Error() string        { return "actor: call timed out" }
func (timeoutError) Is(target error) bool { return target == context.DeadlineExceeded }
func (timeoutError) Timeout() bool        { return true }
func (timeoutError) Temporary() bool      { return true }

// PanicError is the outcome of a handler that panicked (or called
// runtime.Goexit): the recovered value and the stack where it happened.
type PanicError struct {
	Method string // the method whose handler panicked
	Value  any    // the value passed to panic
	Stack  []byte // the goroutine's stack at the panic
}

// Error names the method and the panic's value; the stack is in Stack.
func (e *PanicError) Error() string {
	return fmt.Sprintf("actor: %s panicked: %v", e.Method, e.Value)
}

// Unwrap returns the panic value if it is an error, so errors.Is and
// errors.As see through a panic(err).
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

func newPanicError(method string, v any) *PanicError {
	return &PanicError{Method: method, Value: v, Stack: debug.Stack()}
}

// errGoexit is the panic value recorded when a handler calls runtime.Goexit.
var errGoexit = errors.New("actor: handler called runtime.Goexit")

// timeoutFor is ErrTimeout naming the method.
func timeoutFor(method string) error { return fmt.Errorf("%w (%s)", ErrTimeout, method) }

// ctxErr maps a finished caller context to the call's outcome.
func ctxErr(ctx context.Context, method string) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return timeoutFor(method)
	}
	return fmt.Errorf("actor: call %s: %w", method, context.Cause(ctx))
}

// pushErr maps a mailbox error to ours.
func pushErr(err error) error {
	switch {
	case errors.Is(err, mailbox.ErrClosed):
		return ErrStopped
	case errors.Is(err, mailbox.ErrFull):
		return ErrMailboxFull
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: %w", ErrMailboxFull, ErrTimeout)
	}
	return err
}
