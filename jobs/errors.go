package jobs

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/troupe-go/troupe/actor"
)

// Sentinel errors. Every error this package returns is one of these or
// wraps one (test with errors.Is), except a job's own outcome: its
// handler's error as it returned it, or a *actor.PanicError (test with
// errors.As). Over HTTP each travels as a [*RemoteError] whose Type names
// it and which matches it with errors.Is.
var (
	// ErrClosed: the dispatcher is shutting down or closed (or a nil or zero
	// one, not made by New): Submit is refused. A job still queued or
	// running when it is closed (Close, or Shutdown past its ctx) is
	// cancelled with an error wrapping both ErrCancelled and ErrClosed
	// (over HTTP: type "cancelled", also ["closed"]; a Client's error
	// matches both too).
	ErrClosed = errors.New("jobs: dispatcher closed")
	// ErrNotFound: no job has that id (never submitted, or no longer
	// retained), or a nil or zero Job or RemoteJob. HTTP 404.
	ErrNotFound = errors.New("jobs: job not found")
	// ErrUnknownHost: Submit names a host with no registered procedure.
	// HTTP 400.
	ErrUnknownHost = errors.New("jobs: unknown host")
	// ErrUnknownProcedure: Submit names a procedure its host does not
	// have. HTTP 400.
	ErrUnknownProcedure = errors.New("jobs: unknown procedure")
	// ErrBadArgs: the args are neither the procedure's request type nor
	// JSON that decodes to it. HTTP 400.
	ErrBadArgs = errors.New("jobs: bad args")
	// ErrInvalidID: a job id that is empty, longer than 255 bytes, not
	// UTF-8, holds a control character, or is "." or "..". HTTP 400.
	ErrInvalidID = errors.New("jobs: invalid job id")
	// ErrInvalidOption: an option out of range (a concurrency, max exec
	// time or read timeout ≤ 0, an info that does not encode as JSON, a
	// nil option, …), a registration that cannot be made, or a call of a
	// Client not made by NewClient. HTTP 400.
	ErrInvalidOption = errors.New("jobs: invalid option")
	// ErrConflict: Submit with the id of a job that has other host,
	// procedure or args. HTTP 409.
	ErrConflict = errors.New("jobs: job id reused with other arguments")
	// ErrQueueFull: the queue already holds its bound of waiting jobs
	// (WithMaxQueued). Nothing was submitted. HTTP 429.
	ErrQueueFull = errors.New("jobs: queue full")
	// ErrNotFinished: Result without waiting on a job still queued or
	// running (harp's CALL_NOT_FINISHED).
	ErrNotFinished = errors.New("jobs: job not finished")
	// ErrCancelled: the job was cancelled (harp's CALL_CANCELLED).
	ErrCancelled = errors.New("jobs: job cancelled")
	// ErrExpired: the job ran past its max exec time or its read timeout.
	// ErrMaxExec and ErrReadIdle wrap it.
	ErrExpired = errors.New("jobs: job expired")
	// ErrMaxExec: the job ran past its max exec time. It wraps ErrExpired.
	ErrMaxExec = fmt.Errorf("%w: max exec time passed", ErrExpired)
	// ErrReadIdle: the job produced no output for longer than its read
	// timeout. It wraps ErrExpired.
	ErrReadIdle = fmt.Errorf("%w: read timeout passed", ErrExpired)
	// ErrUnreachable: the job's host could not be reached when it started
	// (no running actor of that name, or the actor stopped): harp's
	// RemoteError. The cause is wrapped too.
	ErrUnreachable = errors.New("jobs: host unreachable")
	// ErrDuplicate: a procedure registered twice on one host, or a host
	// name registered with two different actors.
	ErrDuplicate = errors.New("jobs: already registered")
	// ErrUnauthorized: the HTTP face's authorization hook refused the
	// request. HTTP 401.
	ErrUnauthorized = errors.New("jobs: unauthorized")
	// ErrMethodNotAllowed: an HTTP request with a method its route does
	// not serve (DELETE /jobs/{id}, GET /jobs/{id}/cancel, …); the
	// answer's Allow header lists those it does. Nothing was done: the
	// job, if any, is as it was. HTTP 405.
	ErrMethodNotAllowed = errors.New("jobs: method not allowed")
	// ErrTooLarge: a request body over the HTTP face's cap, or a job too
	// large for its backend to store (a NATS server's max payload). HTTP
	// 413. A Client's call also returns it for a response, or a line of
	// an output, over the client's cap (WithMaxResponse).
	ErrTooLarge = errors.New("jobs: request body too large")
	// ErrBadRequest: an HTTP request that is not well formed (bad JSON,
	// a bad query parameter). HTTP 400.
	ErrBadRequest = errors.New("jobs: bad request")
	// ErrCutShort: a RemoteJob's output response ended without its end
	// line (the connection broke, or a line was not one an output
	// response has: not JSON, or neither an item nor an end; then it
	// is ErrBadResponse too).
	ErrCutShort = errors.New("jobs: output cut short")
	// ErrBadResponse: a Client's call got an answer that no troupe jobs
	// server sends (a proxy's or a load balancer's): a 2xx that is not
	// its route's JSON (not JSON, null, a field it always has missing),
	// an error status without its {"type", "message"} body (a bare 503
	// or 404 says nothing of the dispatcher: it is not ErrClosed or
	// ErrNotFound), or an output line that is neither an item nor an end
	// (with ErrCutShort). The error names the status and quotes the
	// start of the body. A bare 400, 401, 403, 405, 413 or 429 also
	// matches that status's sentinel (the request was refused, nothing
	// was done). Client only: it has no wire type of its own.
	ErrBadResponse = errors.New("jobs: not a jobs server's answer")
	// ErrWorkerLost: the node running the job died (or lost its store)
	// before the job ended, and its lease ran out: the job is failed with
	// it and not run again (a job runs at most once). Backend only.
	ErrWorkerLost = errors.New("jobs: worker lost")
	// ErrUnavailable: the dispatcher's backend could not be reached in
	// time; what was asked may not have been done (a Submit that returns
	// it left nothing stored). HTTP 503.
	ErrUnavailable = errors.New("jobs: backend unavailable")
)

// RemoteError is an error as the HTTP face sends it and the [Client]
// returns it: harp's RemoteException{type, message, data}. Type is stable
// and names what happened ("not_found", "cancelled", "panic", "error", …;
// see the package doc); Message is the error's text; Data is optional JSON
// context (a panic's value and stack, a truncation's oldest item); Also
// lists the types of the other sentinels the error wraps (a job cancelled
// as its dispatcher closed: type "cancelled", also ["closed"]).
//
// A procedure may return a *RemoteError itself to choose the type and data
// its callers see over HTTP. errors.Is(err, s) is true when Type, or a
// type in Also, is the type of sentinel s (or of a sentinel wrapping s): a
// RemoteError of type "max_exec" matches ErrMaxExec and ErrExpired. So a
// RemoteError made by [Remote] matches the sentinels of this package (and
// actor.ErrTruncated) that the error it was made from matches. errors.As
// makes one of type "truncated" an *actor.TruncatedError, with Oldest
// from its data, as a reader in process gets.
type RemoteError struct {
	Type    string          `json:"type"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
	// Also: the wire types of the other sentinels the error matches, most
	// specific first; unknown ones are ignored. Omitted when empty: an
	// answer without it (an older server's) matches its Type's only, and
	// an older client, which does not know it, reads Type as before.
	Also []string `json:"also,omitempty"`
}

// Error is the message, or the type if there is none.
func (e *RemoteError) Error() string {
	if e == nil {
		return "jobs: <nil RemoteError>"
	}
	if e.Message == "" {
		return "jobs: " + e.Type
	}
	return e.Message
}

// Is reports whether e's type, or a type in e.Also, is that of target or
// of a sentinel that wraps target. A nil RemoteError matches none.
func (e *RemoteError) Is(target error) bool {
	if e == nil {
		return false
	}
	if s, ok := sentinelOf[e.Type]; ok && errors.Is(s, target) {
		return true
	}
	for _, t := range e.Also {
		if s, ok := sentinelOf[t]; ok && errors.Is(s, target) {
			return true
		}
	}
	return false
}

// As makes a RemoteError of type "truncated" whose data has its "oldest"
// an *actor.TruncatedError (target a **actor.TruncatedError): a
// truncation read over HTTP resumes as one read in process does, with
// actor.Since(te.Oldest). Any other target, type or data: false.
func (e *RemoteError) As(target any) bool {
	te, ok := target.(**actor.TruncatedError)
	if e == nil || !ok || e.Type != typeTruncated {
		return false
	}
	var d struct {
		Oldest *uint64 `json:"oldest"`
	}
	if json.Unmarshal(e.Data, &d) != nil || d.Oldest == nil {
		return false
	}
	*te = &actor.TruncatedError{Oldest: *d.Oldest}
	return true
}

// The wire types of the sentinels and of job outcomes. Tests pin them:
// they are part of the HTTP face's contract.
const (
	typeNotFound         = "not_found"
	typeConflict         = "conflict"
	typeTooLarge         = "too_large"
	typeQueueFull        = "queue_full"
	typeUnknownHost      = "unknown_host"
	typeUnknownProcedure = "unknown_procedure"
	typeBadArgs          = "bad_args"
	typeInvalidID        = "invalid_id"
	typeInvalidOption    = "invalid_option"
	typeBadRequest       = "bad_request"
	typeUnauthorized     = "unauthorized"
	typeMethodNotAllowed = "method_not_allowed"
	typeClosed           = "closed"
	typeNotFinished      = "not_finished"
	typeCancelled        = "cancelled"
	typeMaxExec          = "max_exec"
	typeReadIdle         = "read_idle"
	typeExpired          = "expired"
	typeUnreachable      = "unreachable"
	typeTruncated        = "truncated"
	typePanic            = "panic"
	typeError            = "error"
	typeDuplicate        = "duplicate"
	typeWorkerLost       = "worker_lost"
	typeUnavailable      = "unavailable"
)

// sentinels lists each sentinel with its wire type, most specific first
// (ErrMaxExec before ErrExpired): typeOf takes the first that matches,
// and alsoOf the others.
var sentinels = []struct {
	err error
	typ string
}{
	{ErrNotFound, typeNotFound},
	{ErrConflict, typeConflict},
	{ErrTooLarge, typeTooLarge},
	{ErrQueueFull, typeQueueFull},
	{ErrUnknownHost, typeUnknownHost},
	{ErrUnknownProcedure, typeUnknownProcedure},
	{ErrBadArgs, typeBadArgs},
	{ErrInvalidID, typeInvalidID},
	{ErrInvalidOption, typeInvalidOption},
	{ErrBadRequest, typeBadRequest},
	{ErrUnauthorized, typeUnauthorized},
	{ErrMethodNotAllowed, typeMethodNotAllowed},
	{ErrNotFinished, typeNotFinished},
	{ErrCancelled, typeCancelled},
	{ErrClosed, typeClosed},
	{ErrMaxExec, typeMaxExec},
	{ErrReadIdle, typeReadIdle},
	{ErrExpired, typeExpired},
	{ErrUnreachable, typeUnreachable},
	{ErrDuplicate, typeDuplicate},
	{ErrWorkerLost, typeWorkerLost},
	{ErrUnavailable, typeUnavailable},
}

// wireSentinels are the sentinels with a wire type: those of this
// package, then actor.ErrTruncated (type "truncated").
var wireSentinels = append(slices.Clip(sentinels), struct {
	err error
	typ string
}{actor.ErrTruncated, typeTruncated})

// sentinelOf maps a wire type back to its sentinel.
var sentinelOf = func() map[string]error {
	m := make(map[string]error, len(wireSentinels))
	for _, s := range wireSentinels {
		m[s.typ] = s.err
	}
	return m
}()
