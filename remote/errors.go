package remote

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/troupe-go/troupe/actor"
)

// Sentinel errors. Every error of this package is one of these, wraps one
// (test with errors.Is), or is an [*Error] or a [*PanicError] (test with
// errors.As) — which themselves unwrap to the sentinel of their code. The
// ones that mirror a local outcome wrap the actor package's sentinel, so
// code written for local calls keeps working:
//
//	errors.Is(err, remote.ErrTimeout) // and actor.ErrTimeout, context.DeadlineExceeded
//	errors.Is(err, remote.ErrStopped) // and actor.ErrStopped
var (
	// ErrTimeout: the call's deadline passed before its reply.
	ErrTimeout = fmt.Errorf("remote: call timed out: %w", actor.ErrTimeout)
	// ErrStopped: the exported actor is stopping or stopped (or its
	// runtime is closed).
	ErrStopped = fmt.Errorf("remote: actor stopped: %w", actor.ErrStopped)
	// ErrCallCycle: the call would close a cycle of actors waiting for each
	// other across nodes (A → B → A).
	ErrCallCycle = fmt.Errorf("remote: %w", actor.ErrCallCycle)
	// ErrMailboxFull: the exported actor's mailbox is full.
	ErrMailboxFull = fmt.Errorf("remote: %w", actor.ErrMailboxFull)
	// ErrNotFound: nothing serves that name and method (NATS "no
	// responders"): not exported, or its nodes are gone.
	ErrNotFound = errors.New("remote: not found")
	// ErrTooLarge: a request or reply exceeds the size cap
	// (WithMaxMessage) or the server's maximum payload.
	ErrTooLarge = errors.New("remote: message too large")
	// ErrUnauthorized: the serving node's authorization hook refused the
	// request.
	ErrUnauthorized = errors.New("remote: unauthorized")
	// ErrBadRequest: the request could not be decoded (malformed, or an
	// unknown codec).
	ErrBadRequest = errors.New("remote: bad request")
	// ErrCodec: this side could not encode a request or decode a reply.
	ErrCodec = errors.New("remote: codec")
	// ErrClosed: the node is closed (or closing), or its connection is.
	ErrClosed = errors.New("remote: node closed")
	// ErrUnavailable: the message could not be sent now: the node's
	// connection is down, reconnecting, and its buffer of messages kept
	// meanwhile (nats.ReconnectBufSize, 8 MiB by default) is full, or a
	// write to the server failed. Nothing was sent; unlike ErrClosed, a
	// retry may succeed once the connection is back.
	ErrUnavailable = errors.New("remote: connection unavailable")
	// ErrNoServer: Start found no URL (WithURL, TROUPE_NATS_URL) and no
	// embedded server (import remote/embedded, or WithServer).
	ErrNoServer = errors.New("remote: no NATS URL and no embedded server")
	// ErrInvalidName: an export or method name that is not a NATS
	// service name (letters, digits, '-' and '_', at most 64 bytes).
	ErrInvalidName = errors.New("remote: invalid name")
	// ErrExported: the name is already exported by this node.
	ErrExported = errors.New("remote: name already exported")
	// ErrInvalidOption: an option out of range.
	ErrInvalidOption = errors.New("remote: invalid option")
	// ErrNilNode: a nil *Node, or one not made by Start, was passed.
	ErrNilNode = errors.New("remote: nil node")
	// ErrNilRef: Export of a nil ref, or Bind of a nil method.
	ErrNilRef = errors.New("remote: nil ref or method")
	// ErrNameTaken: another node owns the name (see Claim); it matches
	// actor.ErrNameTaken too.
	ErrNameTaken = fmt.Errorf("remote: %w", actor.ErrNameTaken)
	// ErrNoJetStream: names across nodes need JetStream, which the server
	// does not offer.
	ErrNoJetStream = errors.New("remote: JetStream not available")
	// ErrStreamLost: a remote stream went silent for three heartbeats: its
	// node died, or the connection is down for longer than that.
	ErrStreamLost = errors.New("remote: stream lost")
	// ErrStreamClosed: a read on a remote reader after its Close (or after
	// a break out of All); it matches actor.ErrStreamClosed.
	ErrStreamClosed = fmt.Errorf("remote: %w", actor.ErrStreamClosed)
	// ErrFollowBusy: All or Collected on a remote reader that another
	// goroutine is reading; it matches actor.ErrFollowBusy.
	ErrFollowBusy = fmt.Errorf("remote: %w", actor.ErrFollowBusy)
	// ErrRemote: the serving node failed in a way this node does not know
	// (an unknown error code): the [*Error] carries the code.
	ErrRemote = errors.New("remote: remote error")
)

// Stable error codes: the value of [Error.Code] and of the
// Nats-Service-Error-Code header, so that non-Go clients and `nats micro
// stats` see them.
const (
	CodeHandler      = "handler"      // the handler returned an error
	CodePanic        = "panic"        // the handler panicked (see PanicError)
	CodeTimeout      = "timeout"      // ErrTimeout
	CodeStopped      = "stopped"      // ErrStopped
	CodeCycle        = "cycle"        // ErrCallCycle
	CodeMailboxFull  = "mailbox_full" // ErrMailboxFull
	CodeTooLarge     = "too_large"    // ErrTooLarge
	CodeUnauthorized = "unauthorized" // ErrUnauthorized
	CodeBadRequest   = "bad_request"  // ErrBadRequest
	CodeClosed       = "closed"       // ErrClosed: the serving node is closing
	CodeNotFound     = "not_found"    // ErrNotFound
	CodeTruncated    = "truncated"    // a stream's end by *actor.TruncatedError
)

// sentinelOf maps a code to its sentinel (nil for CodeHandler).
func sentinelOf(code string) error {
	switch code {
	case CodeHandler:
		return nil
	case CodePanic:
		return nil
	case CodeTimeout:
		return ErrTimeout
	case CodeStopped:
		return ErrStopped
	case CodeCycle:
		return ErrCallCycle
	case CodeMailboxFull:
		return ErrMailboxFull
	case CodeTooLarge:
		return ErrTooLarge
	case CodeUnauthorized:
		return ErrUnauthorized
	case CodeBadRequest:
		return ErrBadRequest
	case CodeClosed:
		return ErrClosed
	case CodeNotFound:
		return ErrNotFound
	}
	return ErrRemote
}

// codeOf maps a local outcome to its wire code.
func codeOf(err error) string {
	var pe *actor.PanicError
	switch {
	case errors.As(err, &pe):
		return CodePanic
	case errors.Is(err, actor.ErrCallCycle):
		return CodeCycle
	case errors.Is(err, actor.ErrTimeout):
		return CodeTimeout
	case errors.Is(err, actor.ErrStopped):
		return CodeStopped
	case errors.Is(err, actor.ErrMailboxFull):
		return CodeMailboxFull
	}
	var c coder
	if errors.As(err, &c) {
		if code := c.ErrorCode(); validCode(code) {
			return code
		}
	}
	return CodeHandler
}

// coder is an error that chooses its own wire code: a handler returns one
// to give its callers a stable code to test.
type coder interface{ ErrorCode() string }

// validCode: a code a handler may choose (not one of ours, short, printable).
func validCode(code string) bool {
	if code == "" || len(code) > 64 || code == CodeTruncated || sentinelOf(code) != ErrRemote {
		return false
	}
	for i := 0; i < len(code); i++ {
		if c := code[i]; c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}

// Error is a failure reported by the serving node: a handler's error, or a
// refusal. Code is stable across versions (one of the Code constants, or a
// code the handler's error chose with an ErrorCode() string method);
// Message is the remote error's text. It unwraps to the sentinel of its
// code (ErrStopped for CodeStopped, …; nil for a handler's error), so
// errors.Is works as for a local call.
type Error struct {
	Code    string // stable code
	Message string // the remote error's text
	Method  string // "name.method"
	Node    string // the serving node's id, if known
}

// Error names the method, the remote error's text and its code.
func (e *Error) Error() string {
	if e == nil {
		return "remote: <nil Error>"
	}
	return fmt.Sprintf("remote: %s: %s (%s)", e.Method, e.Message, e.Code)
}

// Unwrap returns the sentinel of e's code, or nil for a handler's error.
func (e *Error) Unwrap() error {
	if e == nil {
		return nil
	}
	return sentinelOf(e.Code)
}

// PanicError is the outcome of a remote handler that panicked: the panic
// value's text and the stack where it happened, on the serving node.
type PanicError struct {
	Method string // "name.method"
	Node   string // the serving node's id
	Value  string // the panic value, formatted with %v
	Stack  string // the serving goroutine's stack at the panic
}

// Error names the method, the serving node and the panic's value; the
// stack is in Stack.
func (e *PanicError) Error() string {
	if e == nil {
		return "remote: <nil PanicError>"
	}
	return fmt.Sprintf("remote: %s panicked on %s: %s", e.Method, e.Node, e.Value)
}

// CodedError is a handler error with a stable code for remote callers:
// return one (or any error with an ErrorCode() string method) from a
// handler, and the caller's [*Error] carries Code. Codes must be short
// printable ASCII and not one of this package's Code constants. Err may
// be nil: the code alone is then the error.
type CodedError struct {
	Code string
	Err  error
}

// Error is the wrapped error's text: what the remote caller's Message
// says; without Err, it names the code.
func (e *CodedError) Error() string {
	switch {
	case e == nil:
		return "remote: <nil CodedError>"
	case e.Err == nil:
		return "remote: error " + strconv.Quote(e.Code)
	}
	return e.Err.Error()
}

// Unwrap returns the wrapped error, for errors.Is on the serving side.
func (e *CodedError) Unwrap() error {
	if e == nil {
		return nil
	}
	return e.Err
}

// ErrorCode is the code the remote caller's [*Error] carries ("" for a
// nil CodedError).
func (e *CodedError) ErrorCode() string {
	if e == nil {
		return ""
	}
	return e.Code
}
