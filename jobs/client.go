package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/troupe-go/troupe/actor"
)

// Client drives a dispatcher over its HTTP face, from another process:
// harp's HarpCaller. Hosts carry job options ([Client.Host]), a call
// returns a [RemoteJob], and a job is found again by id ([Client.Job]).
// Errors the server answers are *RemoteError values, which match this
// package's sentinels with errors.Is (ErrNotFound, ErrConflict,
// ErrQueueFull, ErrCancelled, ErrExpired, …) as the server's error did (a
// job cancelled as its dispatcher closed matches ErrCancelled and
// ErrClosed; see [RemoteError]'s Also); a 405 (a server or proxy
// that refuses the request's method) is ErrMethodNotAllowed, never
// ErrNotFound, and so is a POST (Call, Cancel) that a 301, 302 or 303
// redirected, which net/http follows with a GET: nothing was done. An
// answer that no troupe jobs server sends (a proxy's page, a 2xx without
// its route's fields, an error status without a {"type", "message"}
// body: a bare 503 or 404) is an error wrapping [ErrBadResponse], not a
// *RemoteError, with its status and the start of its body (a bare 405 is
// also ErrMethodNotAllowed, as above). Safe for concurrent use; it starts no
// goroutine of its own (net/http's transport has its own). A nil or zero *Client (not made
// by NewClient), and the RemoteHosts and RemoteJobs it gives, send
// nothing: their calls return ErrInvalidOption (a RemoteJob's whose id no
// job can have, ErrNotFound, as always).
type Client struct {
	base string // the handler's URL, without a trailing slash
	hc   *http.Client
	user string
	pass string
	auth bool
	max  int64 // the cap on a response body, or on a line of an output
}

// DefaultMaxResponse is the Client's default cap on what it reads of one
// response (a status, a result, a list) and of one line of an output (an
// item, however long the output): see [WithMaxResponse].
const DefaultMaxResponse = 64 << 20

// ClientOption configures NewClient: [WithHTTPClient], [WithBasicAuth],
// [WithMaxResponse].
type ClientOption interface{ applyClient(*Client) }

type clientFunc func(*Client)

func (f clientFunc) applyClient(c *Client) { f(c) }

// WithHTTPClient sends the client's requests with hc (default
// http.DefaultClient). Bound calls with their ctx, not hc's Timeout, which
// would also cut follows short.
func WithHTTPClient(hc *http.Client) ClientOption {
	return clientFunc(func(c *Client) { c.hc = hc })
}

// WithBasicAuth sends user and password with every request (harp's
// server takes them; check them with WithAuthorize).
func WithBasicAuth(user, password string) ClientOption {
	return clientFunc(func(c *Client) { c.user, c.pass, c.auth = user, password, true })
}

// WithMaxResponse caps what the client reads at n bytes (default
// DefaultMaxResponse; n > 0, else NewClient returns ErrInvalidOption): a
// response body, and each line (item) of an output, whose length is not
// bounded as a whole. Past it the call returns an error wrapping
// ErrTooLarge (a Follow as its last pair), having read at most about n
// bytes of it, so that a broken or hostile server cannot exhaust the
// client's memory.
func WithMaxResponse(n int64) ClientOption {
	return clientFunc(func(c *Client) { c.max = n })
}

// NewClient returns a client of the HTTP face served at baseURL (the
// handler's prefix included: "http://host:3502/jobs"). Errors:
// ErrInvalidOption (not an http or https URL, a nil option or client,
// a cap ≤ 0).
// It does not connect.
func NewClient(baseURL string, opts ...ClientOption) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: base URL %q", ErrInvalidOption, baseURL)
	}
	c := &Client{base: strings.TrimSuffix(u.String(), "/"), hc: http.DefaultClient, max: DefaultMaxResponse}
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: nil client option", ErrInvalidOption)
		}
		o.applyClient(c)
	}
	if c.hc == nil {
		return nil, fmt.Errorf("%w: nil HTTP client", ErrInvalidOption)
	}
	if c.max <= 0 {
		return nil, fmt.Errorf("%w: WithMaxResponse(%d): must be > 0", ErrInvalidOption, c.max)
	}
	return c, nil
}

// RemoteHost is a host with job options: harp's RemoteServer. It is
// immutable; safe for concurrent use. A nil or zero one (not made by
// Client.Host) has no client: Call returns ErrInvalidOption.
type RemoteHost struct {
	c    *Client
	name string
	opts []SubmitOption
}

// Host returns host name with opts for the jobs it is asked to run
// (harp's rpc.host(name, queue=..., max_exec_time=...)). It does not
// block; bad options are returned by Call.
func (c *Client) Host(name string, opts ...SubmitOption) *RemoteHost {
	return &RemoteHost{c: c, name: name, opts: opts}
}

// Call submits procedure with args (encoded as JSON; json.RawMessage as
// it is) and the host's options followed by opts, and returns the job
// (harp's host.procedure(args...)). Errors: the option sentinels, a
// *RemoteError from the server (ErrUnknownHost, ErrBadArgs, ErrConflict,
// ErrQueueFull, …), ErrBadArgs for args that do not encode (their
// MarshalJSON's panic as a *actor.PanicError), ErrBadResponse (an answer
// that is not a job's), ctx's error, a transport error. Blocks for one
// round trip.
func (h *RemoteHost) Call(ctx context.Context, procedure string, args any, opts ...SubmitOption) (*RemoteJob, error) {
	if h == nil || !h.c.made() {
		return nil, errNoClient
	}
	cfg, err := submitConfigOf(append(append([]SubmitOption(nil), h.opts...), opts...))
	if err != nil {
		return nil, err
	}
	req := submitRequest{Host: h.name, Procedure: procedure, ID: cfg.id, Queue: cfg.queue, Info: cfg.infoJSON}
	if args != nil {
		if req.Args, err = marshalJSON(args); err != nil { // a panic of args' MarshalJSON too
			return nil, fmt.Errorf("%w: %w", ErrBadArgs, err)
		}
	}
	if cfg.queue != "" {
		req.Concurrency = &cfg.concurrency
	}
	if cfg.maxExec > 0 {
		s := cfg.maxExec.Seconds()
		req.MaxExec = &s
	}
	if cfg.readIdle > 0 {
		s := cfg.readIdle.Seconds()
		req.Timeout = &s
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	var out jobJSON
	// A 2xx that is not a job's (a proxy's, another route's) is no job:
	// none could be found again by it.
	if err := h.c.do(ctx, http.MethodPost, h.c.base+"/", body, &out, func() string { return out.lacks(cfg.id) }); err != nil {
		return nil, err
	}
	return &RemoteJob{c: h.c, id: out.ID}, nil
}

// Job returns the job with this id, without asking the server (harp's
// rpc.job(id)): its methods say whether it exists (ErrNotFound).
func (c *Client) Job(id string) *RemoteJob { return &RemoteJob{c: c, id: id} }

// List returns the status of the jobs f selects, as Dispatcher.List.
// Blocks for one round trip.
func (c *Client) List(ctx context.Context, f Filter) ([]Status, error) {
	if !c.made() {
		return nil, errNoClient
	}
	q := url.Values{}
	for k, v := range map[string]string{"queue": f.Queue, "host": f.Host, "procedure": f.Procedure} {
		if v != "" {
			q.Set(k, v)
		}
	}
	for _, s := range f.States {
		q.Add("state", string(s))
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var out struct {
		Jobs []jobJSON `json:"jobs"`
	}
	lacks := func() string {
		if out.Jobs == nil {
			return "no job list"
		}
		for i := range out.Jobs {
			if why := out.Jobs[i].lacks(""); why != "" {
				return fmt.Sprintf("job %d: %s", i, why)
			}
		}
		return ""
	}
	if err := c.do(ctx, http.MethodGet, c.base+"/?"+q.Encode(), nil, &out, lacks); err != nil {
		return nil, err
	}
	st := make([]Status, len(out.Jobs))
	for i, j := range out.Jobs {
		st[i] = j.Status
	}
	return st, nil
}

// RemoteJob is a job on a dispatcher served over HTTP: harp's RemoteCall.
// Each method is one round trip (Follow one long one). Safe for
// concurrent use. A nil or zero one (not made by a Client) is a job that
// no server has: ID is "", the other methods return ErrNotFound.
type RemoteJob struct {
	c  *Client
	id string
}

// ID is the job's id. It does not block.
func (j *RemoteJob) ID() string {
	if j == nil {
		return ""
	}
	return j.id
}

// url is the URL of the job's route suffix. An id that no job can have
// (see ID) is answered ErrNotFound here, not sent: a server cleans "" or
// "." out of a path and would answer another route (the list for "").
func (j *RemoteJob) url(suffix string) (string, error) {
	if j == nil {
		return "", Remote(fmt.Errorf("%w: nil RemoteJob", ErrNotFound))
	}
	if err := validID(j.id); err != nil {
		return "", Remote(fmt.Errorf("%w: %q", ErrNotFound, j.id))
	}
	if !j.c.made() {
		return "", errNoClient
	}
	return j.c.base + "/" + url.PathEscape(j.id) + suffix, nil
}

// do sends a request to the job's route suffix, as Client.do.
func (j *RemoteJob) do(ctx context.Context, method, suffix string, out any, lacks func() string) error {
	u, err := j.url(suffix)
	if err != nil {
		return err
	}
	return j.c.do(ctx, method, u, nil, out, lacks)
}

// status reads the job's answer (its status, args and info).
func (j *RemoteJob) status(ctx context.Context) (jobJSON, error) {
	var out jobJSON
	err := j.do(ctx, http.MethodGet, "", &out, func() string { return out.lacks(j.id) })
	return out, err
}

// lacks names what a troupe server's answer of a job always has and o
// lacks, o's id if it is not id (unless id is ""), or "" if nothing.
func (o *jobJSON) lacks(id string) string {
	switch {
	case validID(o.ID) != nil:
		return "no job id"
	case id != "" && o.ID != id:
		return fmt.Sprintf("job %.64q's", o.ID)
	case !o.State.valid():
		return "no job state"
	}
	return ""
}

// Status returns the job's state and times. Errors: ErrNotFound (a
// *RemoteError), ErrBadResponse (an answer that is not this job's),
// ctx's, the transport's.
func (j *RemoteJob) Status(ctx context.Context) (Status, error) {
	out, err := j.status(ctx)
	return out.Status, err
}

// Info returns the JSON of the job's info (null without one). Errors as
// Status.
func (j *RemoteJob) Info(ctx context.Context) (json.RawMessage, error) {
	out, err := j.status(ctx)
	if err != nil {
		return nil, err
	}
	if out.Info == nil {
		return json.RawMessage("null"), nil
	}
	return out.Info, nil
}

// Args returns the JSON of the request the job's procedure got. Errors as
// Status.
func (j *RemoteJob) Args(ctx context.Context) (json.RawMessage, error) {
	out, err := j.status(ctx)
	if err != nil {
		return nil, err
	}
	return out.Args, nil
}

// Result returns the JSON of the job's value, as Job.Result: with wait it waits
// for the job's end, or until ctx ends (ErrNotFinished wrapping ctx's cause);
// without, a job not finished is ErrNotFinished. A job that did not succeed
// returns its outcome as a
// *RemoteError (ErrCancelled, ErrMaxExec and ErrReadIdle match it, and
// ErrClosed too for a job its dispatcher's close cancelled; a
// panic has type "panic" with the value and stack in its data; a
// procedure's error type "error" and its text). An answer that is not
// this job's result is ErrBadResponse.
func (j *RemoteJob) Result(ctx context.Context, wait bool) (json.RawMessage, error) {
	var out resultJSON
	lacks := func() string {
		switch {
		case out.ID != j.id:
			return fmt.Sprintf("job %.64q's", out.ID)
		case !out.State.valid():
			return "no job state"
		case (out.Value == nil) == (out.Error == nil):
			return "neither a value nor an error, or both"
		case out.Error != nil && out.Error.Type == "":
			return "an error without a type"
		}
		return ""
	}
	if err := j.do(ctx, http.MethodGet, "/result?wait="+strconv.FormatBool(wait), &out, lacks); err != nil {
		if wait && ctx != nil && ctx.Err() != nil {
			return nil, fmt.Errorf("%w: %w", ErrNotFinished, context.Cause(ctx))
		}
		return nil, err
	}
	if out.Error != nil {
		return nil, out.Error
	}
	return out.Value, nil
}

// Cancel cancels the job and reports whether it was still queued or
// running, as Job.Cancel. Errors as Status.
func (j *RemoteJob) Cancel(ctx context.Context) (bool, error) {
	var out struct {
		ID        string `json:"id"`
		Cancelled *bool  `json:"cancelled"`
	}
	lacks := func() string {
		switch {
		case out.ID != j.id:
			return fmt.Sprintf("job %.64q's", out.ID)
		case out.Cancelled == nil:
			return `no "cancelled"`
		}
		return ""
	}
	if err := j.do(ctx, http.MethodPost, "/cancel", &out, lacks); err != nil {
		return false, err
	}
	return *out.Cancelled, nil
}

// made reports whether c was made by NewClient (see Client).
func (c *Client) made() bool { return c != nil && c.hc != nil }

// errNoClient is the error of the calls of a nil or zero Client.
var errNoClient = fmt.Errorf("%w: a Client not made by NewClient", ErrInvalidOption)

// do sends a request and decodes a JSON answer into out, or returns the
// error the server answered. lacks names what out lacks of its route's
// answer, once decoded ("" for nothing): an answer that lacks something
// is ErrBadResponse.
func (c *Client) do(ctx context.Context, method, u string, body []byte, out any, lacks func() string) error {
	res, err := c.send(ctx, method, u, body, "application/json")
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.Request != nil && res.Request.Method != method {
		// A 301, 302 or 303 made net/http send a GET, without the body,
		// to the new place: its answer is not that of this request.
		return Remote(fmt.Errorf("%w: %s %s was redirected as %s %s", ErrMethodNotAllowed, method, u, res.Request.Method, res.Request.URL))
	}
	b, err := io.ReadAll(io.LimitReader(res.Body, c.max+1))
	if err != nil {
		return err
	}
	if int64(len(b)) > c.max {
		return fmt.Errorf("%w: %s %s: a response over the client's cap of %d bytes", ErrTooLarge, method, u, c.max)
	}
	if res.StatusCode/100 != 2 {
		return errorAnswer(method, u, res.StatusCode, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return badResponse(method, u, res.StatusCode, "not JSON", b)
	}
	if why := lacks(); why != "" {
		return badResponse(method, u, res.StatusCode, why, b)
	}
	return nil
}

// send sends a request.
func (c *Client) send(ctx context.Context, method, u string, body []byte, accept string) (*http.Response, error) {
	if ctx == nil {
		return nil, actor.ErrNilContext
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", accept)
	if c.auth {
		req.SetBasicAuth(c.user, c.pass)
	}
	return c.hc.Do(req)
}
