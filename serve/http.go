package serve

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

// DefaultMaxBody is the request body cap of Method (WithMaxBody).
const DefaultMaxBody = 1 << 20

// Target picks the actor a request is for: one fixed actor (To), or one
// per session, found or made by name (runtime.LookupOrSpawn). Its error
// becomes the response's status through StatusOf (runtime.ErrNotFound:
// 404). With WithTimeout, the request it gets has a Context that ends at
// the timeout, as the call's does (pass it to LookupOrSpawn).
type Target[S any] func(r *http.Request) (*actor.Ref[S], error)

// To is the Target of one actor.
func To[S any](ref *actor.Ref[S]) Target[S] {
	return func(*http.Request) (*actor.Ref[S], error) { return ref, nil }
}

// MethodOption configures Method.
type MethodOption interface{ applyMethod(*methodConfig) }

type methodOption func(*methodConfig)

func (f methodOption) applyMethod(c *methodConfig) { f(c) }

type methodConfig struct {
	maxBody    int64
	timeout    time.Duration // 0: none given (the call's default timeout)
	timeoutSet bool          // WithTimeout was given: timeout must be > 0
	writeErr   func(w http.ResponseWriter, r *http.Request, code int, err error)
}

// WithMaxBody caps request bodies at n bytes (default DefaultMaxBody; must
// be > 0): a larger body is answered 413 Request Entity Too Large, before
// the call — at once if its Content-Length says so, else when decode reads
// past the cap.
func WithMaxBody(n int64) MethodOption {
	return methodOption(func(c *methodConfig) { c.maxBody = n })
}

// WithTimeout bounds each call to d from the request's arrival, when the
// handler gets it: the Target's time and decode's count (default: the
// runtime's call timeout; must be > 0); past it the answer is 504. The
// Target and decode get the request with the call's Context, which ends
// then: a Target that waits in it waits no longer. A call
// whose time is spent before it is sent does not run. The body's reading
// is bounded too, by the connection's read deadline (unless the
// http.Server's ReadTimeout ends first): a client that stalls in the
// middle of its body is answered 504 at the deadline, and its connection
// closed after the answer. Without WithTimeout only the http.Server's
// ReadTimeout bounds it (a body past it is answered 504 too).
func WithTimeout(d time.Duration) MethodOption {
	return methodOption(func(c *methodConfig) { c.timeout, c.timeoutSet = d, true })
}

// WithErrorWriter writes error responses with f instead of http.Error;
// code is the status StatusOf chose (400 for a decode error). A panic of
// f before it wrote is answered 500 by http.Error and logged, with its
// stack, to the http.Server's ErrorLog; after it wrote, it aborts the
// response, as encode's does.
func WithErrorWriter(f func(w http.ResponseWriter, r *http.Request, code int, err error)) MethodOption {
	return methodOption(func(c *methodConfig) { c.writeErr = f })
}

// StatusError is an error with the HTTP status it should be answered
// with. Return one from a Target, a decode function or a handler to choose
// the status; its message is the response's body.
type StatusError struct {
	Code int
	Err  error
}

// Error is the status code, its text and Err's message.
func (e *StatusError) Error() string {
	return fmt.Sprintf("%d %s: %v", e.Code, http.StatusText(e.Code), e.Err)
}

// Unwrap returns Err.
func (e *StatusError) Unwrap() error { return e.Err }

// StatusOf maps an error to the HTTP status Method answers it with:
//
//	nil                                   200 OK
//	*StatusError                          its Code
//	*actor.PanicError                     500 Internal Server Error
//	*http.MaxBytesError                   413 Request Entity Too Large
//	runtime.ErrNotFound                   404 Not Found
//	actor.ErrTimeout (DeadlineExceeded)   504 Gateway Timeout
//	actor.ErrMailboxFull (ErrDropped)     503 Service Unavailable, with Retry-After: 1
//	actor.ErrStopped                      503 Service Unavailable
//	anything else (a handler's error,
//	  ErrCallCycle)                       500 Internal Server Error
//
// The first of a *StatusError and a *actor.PanicError in err's chain
// decides: a panic is 500 whatever its value (a handler's panic(err) on
// another call's timeout is its bug, not a 504), unless a *StatusError
// wraps it.
// A full mailbox is 503, not 429: it says the actor is overloaded, which
// is the server's state, not that this client sent too much (a Target
// that rate-limits per client can return a *StatusError with 429). It
// differs from a stopped actor by its Retry-After. O(depth of err's chain).
func StatusOf(err error) int {
	se, pe := outer(err)
	var mb *http.MaxBytesError
	switch {
	case err == nil:
		return http.StatusOK
	case se != nil:
		return se.Code
	case pe != nil:
		return http.StatusInternalServerError
	case errors.As(err, &mb):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, troupe.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, actor.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	case errors.Is(err, actor.ErrMailboxFull), errors.Is(err, actor.ErrStopped):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// outer returns the first *StatusError or *actor.PanicError in err's chain
// (depth first, as errors.As looks), or neither. O(depth of err's chain).
func outer(err error) (*StatusError, *actor.PanicError) {
	for err != nil {
		switch e := err.(type) {
		case *StatusError:
			return e, nil
		case *actor.PanicError:
			return nil, e
		case interface{ Unwrap() error }:
			err = e.Unwrap()
		case interface{ Unwrap() []error }:
			for _, err := range e.Unwrap() {
				if se, pe := outer(err); se != nil || pe != nil {
					return se, pe
				}
			}
			return nil, nil
		default:
			return nil, nil
		}
	}
	return nil, nil
}

// Method serves m, called on the actor to picks, as an http.Handler: decode
// reads the request (its body capped, WithMaxBody), the call runs with
// r.Context() as its ctx, and encode writes the reply. The actor never
// sees the ResponseWriter: only this handler writes, after the call ended
// and before it returns.
//
// A client that goes away cancels the call (the handler's c.Context() is
// cancelled; a call not started yet never runs) and nothing is written:
// the response is aborted (a panic with http.ErrAbortHandler, as below).
// So does any cancel of r's Context, a middleware's with its client still
// there included: a handler that returned without writing would be
// answered 200 OK with an empty body. A deadline r's Context has of its
// own (a middleware's timeout) ends the call too, answered 504.
// So that net/http notices it, what decode left of the body is read and
// discarded before the call (a body over the cap is then 413): decode
// must take from the body all that the call needs. A
// Target or call error is answered with StatusOf's status, a decode error
// with 400 (or StatusOf's status if it is a *StatusError or a body over
// the cap), an encode error with 500 if encode wrote nothing yet (with
// the headers as they were before encode: not those it set for the reply
// it did not give), else by aborting the response (a panic with http.ErrAbortHandler, which
// net/http recovers silently: the client sees the connection end, not a
// truncated 200 that looks whole). Error
// bodies are the error's message for 4xx and *StatusError, the status text
// for 5xx (WithErrorWriter changes that).
//
// A panic in to, decode or encode (they run on net/http's goroutine, not
// on the actor's turn) is recovered as a *actor.PanicError with the
// function's name ("serve.target", "serve.decode", "serve.encode") and
// the stack, and answered 500 through the error writer, as a panic of the
// handler is. A panic in encode after it wrote goes on to net/http: the
// response is aborted as above, and net/http logs the panic, with its
// stack, to the http.Server's ErrorLog. A panic with http.ErrAbortHandler
// is net/http's abort in any of them.
//
// It panics if m, to, decode or encode is nil or an option is out of
// range: programmer errors. The handler is safe for concurrent use; its
// cost is the call's (two allocations) plus decode's and encode's.
func Method[S, Q, R any](m *actor.Method[S, Q, R], to Target[S], decode func(*http.Request) (Q, error),
	encode func(http.ResponseWriter, R) error, opts ...MethodOption) http.Handler {
	if m == nil || to == nil || decode == nil || encode == nil {
		panic("serve: Method with a nil method, target, decode or encode")
	}
	return &methodHandler[S, Q, R]{m: m, to: to, decode: decode, encode: encode, cfg: methodConfigOf(opts)}
}

// methodConfigOf applies opts; it panics on an invalid one.
func methodConfigOf(opts []MethodOption) methodConfig {
	cfg := methodConfig{maxBody: DefaultMaxBody, writeErr: writeError}
	for _, o := range opts {
		if o == nil {
			panic("serve: nil MethodOption")
		}
		o.applyMethod(&cfg)
	}
	if cfg.maxBody <= 0 || cfg.timeout < 0 || cfg.timeoutSet && cfg.timeout == 0 || cfg.writeErr == nil {
		panic(fmt.Sprintf("serve: %v: body cap %d, timeout %v, error writer set %t",
			ErrInvalidOption, cfg.maxBody, cfg.timeout, cfg.writeErr != nil))
	}
	return cfg
}

type methodHandler[S, Q, R any] struct {
	m      *actor.Method[S, Q, R]
	to     Target[S]
	decode func(*http.Request) (Q, error)
	encode func(http.ResponseWriter, R) error
	cfg    methodConfig
}

func (h *methodHandler[S, Q, R]) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	ctx, cancel := h.cfg.bound(r, arrived)
	defer cancel()
	ref, q, ok := prepare(ctx, &h.cfg, w, r, arrived, h.to, h.decode)
	if !ok {
		return
	}
	v, err := h.m.Call(ctx, ref, q)
	if err != nil {
		h.cfg.fail(w, r, err)
		return
	}
	saved := saveHeader(w.Header())
	tw := &trackedWriter{ResponseWriter: w}
	if err := encodeReply(h.encode, tw, v); err != nil {
		if tw.wrote {
			// Part of a 200 is out: returning would end it as if whole.
			panic(http.ErrAbortHandler)
		}
		saved.restore() // not the failed reply's headers on the error answer
		h.cfg.fail(w, r, err)
	}
}

// The user's functions that run on net/http's goroutine, not on an
// actor's turn, have their panics recovered here, one function each, as
// a *actor.PanicError named after the function: the handler answers it
// as it does an error (500, through the error writer). Left to net/http,
// a panic would cut the connection without an answer. A panic with
// http.ErrAbortHandler is net/http's way to abort a response: it goes on.

// target calls to, recovering a panic (Method "serve.target").
func target[S any](to Target[S], r *http.Request) (_ *actor.Ref[S], err error) {
	defer recoverUser(&err, "serve.target", nil)
	return to(r)
}

// decodeRequest calls decode, recovering a panic (Method "serve.decode").
func decodeRequest[Q any](decode func(*http.Request) (Q, error), r *http.Request) (_ Q, err error) {
	defer recoverUser(&err, "serve.decode", nil)
	return decode(r)
}

// encodeReply calls encode, recovering a panic (Method "serve.encode")
// unless encode wrote before it: the response is then under way, and the
// panic goes on to net/http, which cuts the connection (the client does
// not take the part for the whole) and logs the panic, with its stack,
// to the http.Server's ErrorLog.
func encodeReply[R any](encode func(http.ResponseWriter, R) error, tw *trackedWriter, v R) (err error) {
	defer recoverUser(&err, "serve.encode", tw)
	return encode(tw, v)
}

// encodeItem calls an SSE item's encode, recovering a panic (Method
// "serve.encode").
func encodeItem[E any](encode func(E) ([]byte, error), v E) (_ []byte, err error) {
	defer recoverUser(&err, "serve.encode", nil)
	return encode(v)
}

// recoverUser, deferred by the functions above, sets *err to a
// *actor.PanicError if the user's function panicked, but for
// http.ErrAbortHandler and a panic after tw (if not nil) was written to,
// which it panics on with.
func recoverUser(err *error, method string, tw *trackedWriter) {
	v := recover()
	switch {
	case v == nil:
		return
	case v == http.ErrAbortHandler, tw != nil && tw.wrote:
		panic(v)
	}
	*err = &actor.PanicError{Method: method, Value: v, Stack: debug.Stack()}
}

// prepare caps the body, picks the actor and decodes the request, reading
// the body within WithTimeout after arrived; it answers a failure itself
// and then reports false. to and decode get r with ctx, the call's (bound),
// as its Context: a Target that waits (LookupOrSpawn, for a session still
// stopping) waits no longer than WithTimeout.
func prepare[S, Q any](ctx context.Context, cfg *methodConfig, w http.ResponseWriter, r *http.Request, arrived time.Time,
	to Target[S], decode func(*http.Request) (Q, error)) (*actor.Ref[S], Q, bool) {
	var q Q
	if r.ContentLength > cfg.maxBody {
		cfg.fail(w, r, &http.MaxBytesError{Limit: cfg.maxBody})
		return nil, q, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, cfg.maxBody)
	restore, bounded := cfg.readDeadline(w, r, arrived)
	ur := r // the user's functions' request
	if ctx != r.Context() {
		ur = r.WithContext(ctx)
	}
	ref, err := target(to, ur)
	if err != nil {
		cfg.fail(w, r, err)
		return nil, q, false
	}
	q, err = decodeRequest(decode, ur)
	if err == nil {
		// What decode left is read (discarded) now, within the cap:
		// net/http notices a client that goes away, and so cancels the
		// call's ctx, only once the body has been read to its end.
		_, err = io.Copy(io.Discard, r.Body)
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		// The body did not come in time, by WithTimeout's deadline or
		// the http.Server's ReadTimeout: 504, as for a call past the
		// timeout. The failed read ended r's Context, so fail would
		// take the client for gone, but it is still there, waiting.
		cfg.answer(w, r, http.StatusGatewayTimeout, fmt.Errorf("%w: reading the body: %w", context.DeadlineExceeded, err))
		return nil, q, false
	}
	if err != nil {
		var pe *actor.PanicError
		if code := StatusOf(err); code == http.StatusInternalServerError && !errors.As(err, &pe) {
			err = &StatusError{Code: http.StatusBadRequest, Err: err}
		}
		cfg.fail(w, r, err)
		return nil, q, false
	}
	if bounded {
		restore()
	}
	return ref, q, true
}

// readDeadline sets the connection's read deadline to WithTimeout after
// arrived, so that a body that stalls (a client that stays connected but
// sends no more) fails decode, or the discard of what decode left, at the
// timeout instead of holding the handler as long as the client stays. It
// reports false, setting nothing, without WithTimeout, if the
// http.Server's ReadTimeout ends earlier (it bounds the body then), or if
// w cannot set one. restore gives the connection back the deadline of
// the server's ReadTimeout (none without one), once the body is read. A
// request that fails before keeps the deadline: net/http, which reads
// what is left of the body before it answers, then gives up on it at
// the deadline too (and closes the connection after the answer).
func (cfg *methodConfig) readDeadline(w http.ResponseWriter, r *http.Request, arrived time.Time) (restore func(), ok bool) {
	if cfg.timeout == 0 {
		return nil, false
	}
	deadline := arrived.Add(cfg.timeout)
	var theirs time.Time // zero: no deadline
	if hs, ok := r.Context().Value(http.ServerContextKey).(*http.Server); ok && hs.ReadTimeout > 0 {
		if theirs = arrived.Add(hs.ReadTimeout); !deadline.Before(theirs) {
			return nil, false
		}
	}
	rc := http.NewResponseController(w)
	if rc.SetReadDeadline(deadline) != nil {
		return nil, false
	}
	return func() { _ = rc.SetReadDeadline(theirs) }, true
}

// bound returns the request's ctx, ending WithTimeout after arrived (the
// handler's start): the time spent picking the actor and decoding counts.
func (cfg *methodConfig) bound(r *http.Request, arrived time.Time) (context.Context, context.CancelFunc) {
	if cfg.timeout == 0 {
		return r.Context(), func() {}
	}
	return context.WithDeadline(r.Context(), arrived.Add(cfg.timeout))
}

// fail answers err, unless the client has gone: then the response is
// aborted (abortIfGone).
func (cfg *methodConfig) fail(w http.ResponseWriter, r *http.Request, err error) {
	abortIfGone(r)
	cfg.answer(w, r, StatusOf(err), err)
}

// answer writes err with the error writer. Its panic (user code on
// net/http's goroutine) is recovered as the other user functions' are, as
// a *actor.PanicError "serve.writeError": logged, with the error it was
// writing and its stack, to the http.Server's ErrorLog (where net/http
// logs a handler's panic: the writer, which the other panics are reported
// to, is the one that failed), and answered 500 by the default writer.
// The 500 goes out with the headers as they were before the answer (a
// middleware's): not with those set for the answer it replaces, by the
// writer (a Content-Encoding would have the client decode plain text)
// or by answer (Retry-After). A panic after the writer wrote goes on to
// net/http, as encode's does.
func (cfg *methodConfig) answer(w http.ResponseWriter, r *http.Request, code int, err error) {
	h := w.Header()
	saved := saveHeader(h)
	if code == http.StatusServiceUnavailable && errors.Is(err, actor.ErrMailboxFull) {
		h.Set("Retry-After", "1") // not on a 504: a full Block mailbox past the deadline
	}
	tw := &trackedWriter{ResponseWriter: w}
	var perr error
	func() {
		defer recoverUser(&perr, "serve.writeError", tw)
		cfg.writeErr(tw, r, code, err)
	}()
	if perr != nil {
		pe := perr.(*actor.PanicError)
		logf(r, "serve: %s %s: %v (writing %d: %v)\n%s", r.Method, r.URL.Path, pe, code, err, pe.Stack)
		saved.restore()
		writeError(w, r, http.StatusInternalServerError, pe)
	}
}

// savedHeader is a response's headers as they were before an answer
// (a middleware's), to put back when that answer is not given: an
// error answer in its place must not go out with the headers set for it
// (a Content-Encoding would have the client decode plain text, a
// Content-Type mislabel the error's body).
type savedHeader struct {
	h      http.Header
	before http.Header // nil if h was empty
}

// saveHeader saves h; it allocates only if h is not empty. O(len(h)).
func saveHeader(h http.Header) savedHeader {
	s := savedHeader{h: h}
	if len(h) > 0 {
		s.before = h.Clone()
	}
	return s
}

// restore puts the saved headers back in h, dropping those set since.
func (s savedHeader) restore() {
	clear(s.h)
	maps.Copy(s.h, s.before)
}

// logf logs to r's http.Server's ErrorLog, or else the log package's
// standard logger, as net/http does.
func logf(r *http.Request, format string, args ...any) {
	if s, ok := r.Context().Value(http.ServerContextKey).(*http.Server); ok && s.ErrorLog != nil {
		s.ErrorLog.Printf(format, args...)
		return
	}
	log.Printf(format, args...)
}

// clientGone reports whether r's Context was cancelled, as net/http does
// when the client goes away. A deadline of its own (a middleware's
// timeout) that has passed is not that: the client still waits for the
// answer, a 504.
func clientGone(r *http.Request) bool { return errors.Is(r.Context().Err(), context.Canceled) }

// abortIfGone aborts the response if the client has gone (clientGone),
// with panic(http.ErrAbortHandler), which net/http recovers silently: it
// closes the connection. Returning instead would end the response as
// whole, a 200 OK if nothing was written, a stream's clean end if one was
// under way, which a client still there (r's Context cancelled by a
// middleware) would take for the answer.
func abortIfGone(r *http.Request) {
	if clientGone(r) {
		panic(http.ErrAbortHandler)
	}
}

// writeError is the default error writer: http.Error with the error's
// message for 4xx and *StatusError, the status text for 5xx.
func writeError(w http.ResponseWriter, _ *http.Request, code int, err error) {
	msg := http.StatusText(code)
	if se, _ := outer(err); se != nil {
		msg = se.Err.Error()
	} else if code < 500 {
		msg = err.Error()
	}
	http.Error(w, msg, code)
}

// trackedWriter notes whether anything was written. It flushes, as the
// writer it wraps does (encode functions may assert http.Flusher).
type trackedWriter struct {
	http.ResponseWriter
	wrote bool
}

func (t *trackedWriter) WriteHeader(code int) {
	t.wrote = true
	t.ResponseWriter.WriteHeader(code)
}

func (t *trackedWriter) Write(p []byte) (int, error) {
	t.wrote = true
	return t.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the original writer.
func (t *trackedWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }

var _ http.Flusher = (*trackedWriter)(nil)

// Flush flushes the original writer, for an encode function that asserts
// http.Flusher; it does nothing if that writer cannot flush (FlushError
// says so).
func (t *trackedWriter) Flush() { _ = t.FlushError() }

// FlushError flushes the original writer, through Unwrap if need be: what
// http.ResponseController.Flush calls. A flush sends the header: it counts
// as written. The error wraps http.ErrNotSupported if nothing can flush.
func (t *trackedWriter) FlushError() error {
	err := http.NewResponseController(t.ResponseWriter).Flush()
	if err == nil {
		t.wrote = true
	}
	return err
}

// DecodeJSON decodes the request's body as one JSON value of type Q: a
// decode function for Method. An empty body is an error (io.EOF), and so
// is anything but white space after the value (ErrTrailingJSON, or the
// syntax error): Method answers them 400.
func DecodeJSON[Q any](r *http.Request) (Q, error) {
	var q Q
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(&q); err != nil {
		return q, err
	}
	switch _, err := dec.Token(); {
	case err == nil:
		return q, ErrTrailingJSON
	case err != io.EOF:
		return q, err // a syntax error, or the body's (over the cap: 413)
	}
	return q, nil
}

// EncodeJSON writes v as JSON with Content-Type application/json: an
// encode function for Method. It marshals before writing, so a value that
// cannot be marshalled is answered 500.
func EncodeJSON[R any](w http.ResponseWriter, v R) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	_, err = w.Write(append(b, '\n'))
	return err
}
