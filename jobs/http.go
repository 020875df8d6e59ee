package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/troupe-go/troupe/actor"
)

// DefaultMaxBody is the HTTP face's default cap on a request body.
const DefaultMaxBody = 1 << 20

// HandlerOption configures Handler: [WithAuthorize], [WithMaxBody],
// [WithPrefix].
type HandlerOption interface{ applyHandler(*handlerConfig) }

type handlerConfig struct {
	auth    func(*http.Request) error
	maxBody int64
	prefix  string
}

type handlerFunc func(*handlerConfig)

func (f handlerFunc) applyHandler(c *handlerConfig) { f(c) }

// WithAuthorize runs auth on every request before any other work (before
// its body is read): a non-nil error answers 401 with type
// "unauthorized" and the error's text. harp's server takes a user and a
// password: check r.BasicAuth here. auth runs on the request's goroutine.
// A panic of auth is answered 500 with type "panic" (neither its value
// nor its stack is shown to the client), and logged with its stack to the
// http.Server's ErrorLog.
func WithAuthorize(auth func(r *http.Request) error) HandlerOption {
	return handlerFunc(func(c *handlerConfig) { c.auth = auth })
}

// WithMaxBody caps request bodies at n bytes (default DefaultMaxBody; n >
// 0): a body over it is answered 413 before it is decoded.
func WithMaxBody(n int64) HandlerOption {
	return handlerFunc(func(c *handlerConfig) { c.maxBody = n })
}

// WithPrefix serves the routes under prefix instead of "/jobs" (it must
// start with "/" and not end with one; "" serves them at the root).
func WithPrefix(prefix string) HandlerOption {
	return handlerFunc(func(c *handlerConfig) { c.prefix = prefix })
}

// Handler is d's HTTP face (harpcallerd's role). Mount it where its prefix
// is served (http.Handle("/jobs/", jobs.Handler(d)) for the default). Its
// routes, under the prefix:
//
//	POST /                 submit: {"host", "procedure", "args", "id", "queue", "concurrency",
//	                       "max_exec_time", "timeout" (seconds), "info"} → 201 (200 for an id
//	                       already submitted with the same arguments) and the job
//	GET  /                 list: ?queue= &host= &procedure= &state= (repeatable) &limit=
//	GET  /{id}             the job: its status, "args" and "info"
//	GET  /{id}/result      {"id", "state", "value"} or {"id", "state", "error"}; ?wait=1 waits
//	                       for the end (bounded by the request, and by ?timeout= seconds)
//	POST /{id}/cancel      {"id", "cancelled": bool}
//	GET  /{id}/output      the job's output as JSON lines {"seq", "value"}, or as server-sent
//	                       events (Accept: text/event-stream, or ?format=sse; Last-Event-ID
//	                       resumes), from ?since= or ?recent=; ?follow=0 returns what is
//	                       kept without waiting (harp's stream; as Job.Collected with a
//	                       backend); HEAD answers the headers only
//
// The output ends with a line (an event named "end") {"end", "state",
// "error"}: end is true once the job has ended, error the reader's (a
// truncation) or else the job's outcome. With end true, state is the
// job's terminal state, read with its outcome (with a backend, from the
// store, retried within DefaultBackendTimeout while it cannot be
// reached); without end or error (?follow=0 of a running job), a state
// not ended (a job that ends as it is read is read again, to its end). A
// store that cannot show the end is said with end false and its error
// (type "unavailable"; "not_found", "closed"), the state the last one
// read: the output can be read again from the next item for its end.
// Errors are answered as JSON
// {"type", "message", "data", "also"} (see [Remote]; "data" and "also"
// only when there are some) with status 400 (bad input),
// 401, 404 (unknown job or route), 405 (a route asked with a method it
// does not serve: type "method_not_allowed", and an Allow header listing
// those it does), 409 (id reused with other arguments), 413 (body over
// the cap), 429 (queue full), 503 (dispatcher closed, or its backend
// unavailable: a list it cannot read, or a cancel it cannot make, is
// that, not an empty list or "cancelled": false). A client that goes
// away mid-follow detaches its reader; nothing is left running. A
// deadline or a cancel of the request's Context (a middleware's timeout,
// a server's BaseContext) ends a wait as ?timeout= does: a result answers not_finished, an output its end
// line with the error.
// Each batch of items is flushed as it is written; behind a
// ResponseWriter that cannot flush (a middleware's wrapper without
// Unwrap) the output still comes whole, as the writer's buffer fills and
// at the end — an output can be resumed, so late beats none (serve's SSE
// and JSONLines, live streams, refuse such a writer instead).
//
// It panics if d is nil or an option is out of range (programmer errors).
// Safe for concurrent use; it starts no goroutine (requests run on
// net/http's).
func Handler(d *Dispatcher, opts ...HandlerOption) http.Handler {
	if d == nil {
		panic("jobs: Handler with a nil dispatcher")
	}
	c := handlerConfig{maxBody: DefaultMaxBody, prefix: "/jobs"}
	for _, o := range opts {
		if o == nil {
			panic("jobs: Handler with a nil option")
		}
		o.applyHandler(&c)
	}
	if c.maxBody <= 0 {
		panic(fmt.Sprintf("jobs: WithMaxBody(%d): must be > 0", c.maxBody))
	}
	if c.prefix != "" && (!strings.HasPrefix(c.prefix, "/") || strings.HasSuffix(c.prefix, "/")) {
		panic(fmt.Sprintf("jobs: WithPrefix(%q): must start with / and not end with one", c.prefix))
	}
	h := &httpFace{d: d, cfg: c, mux: http.NewServeMux()}
	p := c.prefix
	h.mux.HandleFunc("POST "+p+"/{$}", h.submit)
	h.mux.HandleFunc("GET "+p+"/{$}", h.list)
	if p != "" {
		h.mux.HandleFunc("POST "+p, h.submit)
		h.mux.HandleFunc("GET "+p, h.list)
	}
	h.mux.HandleFunc("GET "+p+"/{id}", h.status)
	h.mux.HandleFunc("GET "+p+"/{id}/result", h.result)
	h.mux.HandleFunc("POST "+p+"/{id}/cancel", h.cancel)
	h.mux.HandleFunc("GET "+p+"/{id}/output", h.output)
	h.mux.HandleFunc("/", h.noRoute)
	return h
}

// noRoute answers a request that no route serves: 405 with an Allow
// header when a route serves its path with other methods, else 404. (The
// mux would answer 405 itself, in plain text, without this catch-all.)
func (h *httpFace) noRoute(w http.ResponseWriter, r *http.Request) {
	if allow := h.allowed(r); allow != "" {
		w.Header().Set("Allow", allow)
		writeError(w, fmt.Errorf("%w: %s %s (allowed: %s)", ErrMethodNotAllowed, r.Method, r.URL.Path, allow))
		return
	}
	writeError(w, fmt.Errorf("%w: no route %s %s", ErrNotFound, r.Method, r.URL.Path))
}

// routeMethods are the methods the routes serve (a GET route serves HEAD
// too), in the order Allow lists them.
var routeMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost}

// allowed lists the methods that some route serves at r's path, as an
// Allow header ("" for none): the mux is asked which pattern each would
// match. O(routes) per method; only on a request that no route serves.
func (h *httpFace) allowed(r *http.Request) string {
	var allow []string
	for _, m := range routeMethods {
		probe := r.WithContext(r.Context()) // a shallow copy, to change its method
		probe.Method = m
		if _, pattern := h.mux.Handler(probe); pattern != "/" {
			allow = append(allow, m)
		}
	}
	return strings.Join(allow, ", ")
}

// httpFace is the http.Handler that Handler returns.
type httpFace struct {
	d   *Dispatcher
	cfg handlerConfig
	mux *http.ServeMux
}

func (h *httpFace) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.cfg.auth != nil {
		if err := authorize(h.cfg.auth, r); err != nil {
			writeError(w, err)
			return
		}
	}
	r.Body = http.MaxBytesReader(w, r.Body, h.cfg.maxBody)
	h.mux.ServeHTTP(w, r)
}

// authorize runs the authorization hook: its error wraps
// ErrUnauthorized. A panic of the hook (but http.ErrAbortHandler,
// net/http's abort) is answered, not left to net/http, which would cut
// the connection without an answer: it is a *RemoteError of type "panic"
// that names the hook but shows neither the panic's value nor its stack
// to the client, which is not authorized; they are logged, as a
// *actor.PanicError "jobs.authorize", to the http.Server's ErrorLog,
// where net/http logs a handler's panic.
func authorize(auth func(*http.Request) error, r *http.Request) (err error) {
	defer func() {
		v := recover()
		switch {
		case v == nil:
			return
		case v == http.ErrAbortHandler:
			panic(v)
		}
		pe := &actor.PanicError{Method: "jobs.authorize", Value: v, Stack: debug.Stack()}
		logf(r, "jobs: %s %s: %v\n%s", r.Method, r.URL.Path, pe, pe.Stack)
		err = &RemoteError{Type: typePanic, Message: "jobs: the authorization hook panicked"}
	}()
	if err := auth(r); err != nil {
		return fmt.Errorf("%w: %w", ErrUnauthorized, err)
	}
	return nil
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

// submitRequest is the body of a submission.
type submitRequest struct {
	Host        string          `json:"host"`
	Procedure   string          `json:"procedure"`
	Args        json.RawMessage `json:"args,omitempty"`
	ID          string          `json:"id,omitempty"`
	Queue       string          `json:"queue,omitempty"`
	Concurrency *int            `json:"concurrency,omitempty"`
	MaxExec     *float64        `json:"max_exec_time,omitempty"`
	Timeout     *float64        `json:"timeout,omitempty"`
	Info        json.RawMessage `json:"info,omitempty"`
}

// options turns a submission's fields into Submit's options.
func (s *submitRequest) options() ([]SubmitOption, error) {
	var opts []SubmitOption
	if s.ID != "" {
		opts = append(opts, ID(s.ID))
	}
	switch {
	case s.Queue != "" && s.Concurrency == nil:
		return nil, fmt.Errorf("%w: queue %q without a concurrency", ErrInvalidOption, s.Queue)
	case s.Queue != "":
		opts = append(opts, Queue(s.Queue, *s.Concurrency))
	case s.Concurrency != nil:
		return nil, fmt.Errorf("%w: concurrency without a queue", ErrInvalidOption)
	}
	if s.MaxExec != nil {
		d, err := seconds("max_exec_time", *s.MaxExec)
		if err != nil {
			return nil, err
		}
		opts = append(opts, MaxExec(d))
	}
	if s.Timeout != nil {
		d, err := seconds("timeout", *s.Timeout)
		if err != nil {
			return nil, err
		}
		opts = append(opts, ReadIdle(d))
	}
	if s.Info != nil {
		opts = append(opts, Info(s.Info))
	}
	return opts, nil
}

// seconds converts a positive number of seconds to a duration. The
// largest it takes, float64(math.MaxInt64)/1e9 (what a Client sends for
// a Duration of math.MaxInt64), is 2^63 ns, past a Duration: it is the
// largest Duration, not a wrapped one.
func seconds(name string, s float64) (time.Duration, error) {
	if !(s > 0) || s > math.MaxInt64/float64(time.Second) {
		return 0, fmt.Errorf("%w: %s %v must be a positive number of seconds", ErrInvalidOption, name, s)
	}
	if ns := s * float64(time.Second); ns < math.MaxInt64 {
		return max(time.Duration(ns), 1), nil
	}
	return math.MaxInt64, nil
}

func (h *httpFace) submit(w http.ResponseWriter, r *http.Request) {
	var req submitRequest
	if err := decodeBody(r.Body, &req); err != nil {
		writeError(w, err)
		return
	}
	opts, err := req.options()
	if err != nil {
		writeError(w, err)
		return
	}
	var args any
	if req.Args != nil {
		args = req.Args
	}
	j, created, err := h.d.submit(r.Context(), req.Host, req.Procedure, args, opts)
	if err != nil {
		writeError(w, err)
		return
	}
	code := http.StatusOK
	if created {
		code = http.StatusCreated
	}
	writeJSON(w, code, jobJSONOf(j))
}

// decodeBody decodes a JSON body strictly: unknown fields and trailing
// data are bad requests, a body over the cap is too large.
func decodeBody(body io.Reader, v any) error {
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	var mbe *http.MaxBytesError
	if err == nil {
		switch _, terr := dec.Token(); {
		case terr == io.EOF:
		case errors.As(terr, &mbe): // the cap, met past the value
			err = terr
		default:
			err = errors.New("trailing data after the body")
		}
	}
	switch {
	case err == nil:
		return nil
	case errors.As(err, &mbe):
		return fmt.Errorf("%w: over %d bytes", ErrTooLarge, mbe.Limit)
	}
	return fmt.Errorf("%w: %w", ErrBadRequest, err)
}

// jobJSON is a job as the HTTP face shows it.
type jobJSON struct {
	Status
	Args json.RawMessage `json:"args,omitempty"`
	Info json.RawMessage `json:"info,omitempty"`
}

func jobJSONOf(j *Job) jobJSON {
	args, err := marshalJSON(j.args)
	if err != nil {
		args = nil // args that do not encode are not shown
	}
	var st Status
	if j.view != nil { // a view just read (submitted, found, listed): as it is
		r := j.record()
		st = r.Status()
	} else {
		st = j.Status()
	}
	return jobJSON{Status: st, Args: args, Info: j.infoRaw}
}

func (h *httpFace) job(w http.ResponseWriter, r *http.Request) (*Job, bool) {
	j, err := h.d.Job(r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return nil, false
	}
	return j, true
}

func (h *httpFace) status(w http.ResponseWriter, r *http.Request) {
	if j, ok := h.job(w, r); ok {
		writeJSON(w, http.StatusOK, jobJSONOf(j))
	}
}

// resultJSON is a job's outcome as the HTTP face shows it.
type resultJSON struct {
	ID    string          `json:"id"`
	State State           `json:"state"`
	Value json.RawMessage `json:"value,omitempty"`
	Error *RemoteError    `json:"error,omitempty"`
}

func (h *httpFace) result(w http.ResponseWriter, r *http.Request) {
	j, ok := h.job(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	wait, err := boolParam(q.Get("wait"), false)
	if err != nil {
		writeError(w, err)
		return
	}
	ctx := r.Context()
	if t := q.Get("timeout"); t != "" {
		s, err := strconv.ParseFloat(t, 64)
		if err != nil {
			writeError(w, fmt.Errorf("%w: timeout %q", ErrBadRequest, t))
			return
		}
		d, err := seconds("timeout", s)
		if err != nil {
			writeError(w, err)
			return
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	// Answered even when r's Context was cancelled: net/http does that
	// when the client goes away (then the answer goes nowhere, at no
	// cost), but so does a server's BaseContext or a middleware while
	// the client waits; no answer would be an empty 200, no jobs
	// server's.
	v, err := j.Result(ctx, wait)
	res := resultJSON{ID: j.id, State: j.Status().State}
	if errors.Is(err, ErrNotFinished) && res.State.Terminal() {
		// It ended between the two reads: the outcome of the state shown
		// (an ended job's no longer changes).
		v, err = j.Result(context.Background(), false)
	}
	if err == nil {
		if res.Value, err = marshalJSON(v); err != nil {
			err = fmt.Errorf("jobs: the result does not encode as JSON: %w", err)
		}
	}
	res.Error = Remote(err)
	writeJSON(w, http.StatusOK, res)
}

func (h *httpFace) cancel(w http.ResponseWriter, r *http.Request) {
	j, ok := h.job(w, r)
	if !ok {
		return
	}
	cancelled, err := j.cancelErr()
	if err != nil {
		writeError(w, err) // not "not cancelled": the job may run on
		return
	}
	writeJSON(w, http.StatusOK, struct {
		ID        string `json:"id"`
		Cancelled bool   `json:"cancelled"`
	}{j.id, cancelled})
}

func (h *httpFace) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := Filter{Queue: q.Get("queue"), Host: q.Get("host"), Procedure: q.Get("procedure")}
	for _, v := range q["state"] {
		for s := range strings.SplitSeq(v, ",") {
			if st := State(s); st.valid() {
				f.States = append(f.States, st)
			} else {
				writeError(w, fmt.Errorf("%w: state %q", ErrBadRequest, s))
				return
			}
		}
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			writeError(w, fmt.Errorf("%w: limit %q", ErrBadRequest, l))
			return
		}
		f.Limit = n
	}
	jobs, err := h.d.list(f)
	if err != nil {
		writeError(w, err)
		return
	}
	out := struct {
		Jobs []jobJSON `json:"jobs"`
	}{make([]jobJSON, len(jobs))}
	for i, j := range jobs {
		out.Jobs[i] = jobJSONOf(j)
	}
	writeJSON(w, http.StatusOK, out)
}

// boolParam parses a boolean query parameter; "" is def.
func boolParam(s string, def bool) (bool, error) {
	if s == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, fmt.Errorf("%w: %q is not a boolean", ErrBadRequest, s)
	}
	return b, nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(v); err != nil {
		code = http.StatusInternalServerError
		b.Reset()
		_ = json.NewEncoder(&b).Encode(Remote(err))
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(code)
	_, _ = w.Write(b.Bytes())
}

func writeError(w http.ResponseWriter, err error) {
	writeJSON(w, statusOf(err), Remote(err))
}
