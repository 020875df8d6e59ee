package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/jobs"
)

func (e *env) client(t *testing.T, hopts []jobs.HandlerOption, copts ...jobs.ClientOption) *jobs.Client {
	t.Helper()
	srv, hc := e.server(t, hopts...)
	cl, err := jobs.NewClient(srv.URL+"/jobs", append([]jobs.ClientOption{jobs.WithHTTPClient(hc)}, copts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func bg(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// remoteItems reads a RemoteJob's output until its end or n items.
func remoteItems(t *testing.T, j *jobs.RemoteJob, n int, opts ...actor.FollowOption) ([]string, error) {
	t.Helper()
	var got []string
	for it, err := range j.Follow(bg(t), opts...) {
		if err != nil {
			return got, err
		}
		var s string
		if err := json.Unmarshal(it.V, &s); err != nil {
			t.Fatalf("item %d: %s: %v", it.Seq, it.V, err)
		}
		got = append(got, s)
		if len(got) == n {
			break
		}
	}
	return got, nil
}

// TestClientHarpShape drives the dispatcher as harp's client does: a host
// with job options, a call returning a job, its follow, result, status,
// info, and the job found again by id.
func TestClientHarpShape(t *testing.T) {
	e := newEnv(t, 1)
	cl := e.client(t, nil)
	ctx := bg(t)
	host := cl.Host("a0", jobs.Queue("ticks", 2), jobs.MaxExec(time.Minute), jobs.Info(map[string]string{"by": "ann"}))
	job, err := host.Call(ctx, "ticker", tickReq{Every: time.Millisecond, N: 5})
	if err != nil {
		t.Fatal(err)
	}
	got, err := remoteItems(t, job, 0)
	if want := []string{"tick 0", "tick 1", "tick 2", "tick 3", "tick 4"}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("follow: got %v, %v; want %v", got, err, want)
	}
	if got, err := remoteItems(t, job, 0, actor.Since(3)); err != nil || !slices.Equal(got, []string{"tick 3", "tick 4"}) {
		t.Fatalf("resumed with since 3: got %v, %v", got, err)
	}
	if got, err := remoteItems(t, job, 0, actor.Recent(1)); err != nil || !slices.Equal(got, []string{"tick 4"}) {
		t.Fatalf("recent 1: got %v, %v", got, err)
	}
	if v, err := job.Result(ctx, true); err != nil || string(v) != "null" {
		t.Fatalf("result: got %s, %v; want null", v, err)
	}
	st, err := job.Status(ctx)
	if err != nil || st.ID != job.ID() || st.State != jobs.Done || st.Queue != "ticks" || st.Procedure != "ticker" || st.Host != "a0" || st.Started.IsZero() || st.Ended.IsZero() {
		t.Fatalf("status: got %+v, %v", st, err)
	}
	if info, err := job.Info(ctx); err != nil || string(info) != `{"by":"ann"}` {
		t.Fatalf("info: got %s, %v", info, err)
	}
	if args, err := job.Args(ctx); err != nil || string(args) != `{"Every":1000000,"N":5}` {
		t.Fatalf("args: got %s, %v", args, err)
	}
	// Found again by id, after it ended.
	again := cl.Job(job.ID())
	items, err := again.Collected(ctx)
	if err != io.EOF || len(items) != 5 || items[4].Seq != 4 {
		t.Fatalf("collected by id: got %d items, %v; want 5, io.EOF", len(items), err)
	}
	if v, err := again.Result(ctx, false); err != nil || string(v) != "null" {
		t.Fatalf("result by id: got %s, %v", v, err)
	}
	// A value, at once.
	v, err := cl.Host("a0").Call(ctx, "add", pair{20, 22})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := v.Result(ctx, true); err != nil || string(r) != "42" {
		t.Fatalf("add: got %s, %v", r, err)
	}
	list, err := cl.List(ctx, jobs.Filter{Queue: "ticks"})
	if err != nil || len(list) != 1 || list[0].ID != job.ID() {
		t.Fatalf("list: got %v, %v", list, err)
	}
}

func TestClientOutcomes(t *testing.T) {
	e := newEnv(t, 2)
	cl := e.client(t, nil)
	ctx := bg(t)
	h := cl.Host("a0")
	crashed, err := h.Call(ctx, "crash", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = crashed.Result(ctx, true)
	var re *jobs.RemoteError
	if !errors.As(err, &re) || re.Type != "panic" || len(re.Data) == 0 {
		t.Fatalf("panic: got %v; want a *RemoteError of type panic with data", err)
	}
	g := newGate()
	held := e.submit(t, "a1", "hold", g)
	<-g.entered
	rj := cl.Job(held.ID())
	if _, err := rj.Result(ctx, false); !errors.Is(err, jobs.ErrNotFinished) {
		t.Fatalf("running: got %v; want ErrNotFinished", err)
	}
	if ok, err := rj.Cancel(ctx); !ok || err != nil {
		t.Fatalf("cancel: got %v, %v; want true", ok, err)
	}
	if ok, err := rj.Cancel(ctx); ok || err != nil {
		t.Fatalf("second cancel: got %v, %v; want false", ok, err)
	}
	if _, err := rj.Result(ctx, true); !errors.Is(err, jobs.ErrCancelled) {
		t.Fatalf("cancelled: got %v; want ErrCancelled", err)
	}
	silentJob, err := cl.Host("a1", jobs.ReadIdle(20*time.Millisecond)).Call(ctx, "silent", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := silentJob.Result(ctx, true); !errors.Is(err, jobs.ErrReadIdle) || !errors.Is(err, jobs.ErrExpired) {
		t.Fatalf("read timeout: got %v; want ErrReadIdle", err)
	}
	maxJob, err := cl.Host("a1", jobs.MaxExec(20*time.Millisecond)).Call(ctx, "ticker", tickReq{Every: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := maxJob.Result(ctx, true); !errors.Is(err, jobs.ErrMaxExec) {
		t.Fatalf("max exec: got %v; want ErrMaxExec", err)
	}
}

func TestClientErrors(t *testing.T) {
	e := newEnv(t, 1, jobs.WithMaxQueued(1))
	cl := e.client(t, nil)
	ctx := bg(t)
	for _, u := range []string{"", "ftp://x/jobs", "http://", "::"} {
		if _, err := jobs.NewClient(u); !errors.Is(err, jobs.ErrInvalidOption) {
			t.Fatalf("NewClient(%q): got %v; want ErrInvalidOption", u, err)
		}
	}
	if _, err := jobs.NewClient("http://x", nil); !errors.Is(err, jobs.ErrInvalidOption) {
		t.Fatalf("nil option: got %v", err)
	}
	if _, err := jobs.NewClient("http://x", jobs.WithHTTPClient(nil)); !errors.Is(err, jobs.ErrInvalidOption) {
		t.Fatalf("nil HTTP client: got %v", err)
	}
	ghost := cl.Job("ghost")
	if _, err := ghost.Status(ctx); !errors.Is(err, jobs.ErrNotFound) {
		t.Fatalf("status of an unknown job: got %v; want ErrNotFound", err)
	}
	if _, err := remoteItems(t, ghost, 0); !errors.Is(err, jobs.ErrNotFound) {
		t.Fatalf("follow of an unknown job: got %v; want ErrNotFound", err)
	}
	for _, tc := range []struct {
		name string
		host string
		proc string
		args any
		opts []jobs.SubmitOption
		want error
	}{
		{"unknown host", "zz", "echo", "x", nil, jobs.ErrUnknownHost},
		{"unknown procedure", "a0", "zz", "x", nil, jobs.ErrUnknownProcedure},
		{"bad args", "a0", "add", "text", nil, jobs.ErrBadArgs},
		{"bad option", "a0", "echo", "x", []jobs.SubmitOption{jobs.MaxExec(-1)}, jobs.ErrInvalidOption},
		{"args that do not encode", "a0", "echo", make(chan int), nil, jobs.ErrBadArgs},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := cl.Host(tc.host).Call(ctx, tc.proc, tc.args, tc.opts...); !errors.Is(err, tc.want) {
				t.Fatalf("got %v; want %v", err, tc.want)
			}
		})
	}
	h := cl.Host("a0", jobs.ID("fixed"))
	first, err := h.Call(ctx, "echo", "x")
	if err != nil {
		t.Fatal(err)
	}
	if again, err := h.Call(ctx, "echo", "x"); err != nil || again.ID() != first.ID() {
		t.Fatalf("same id, same args: got %v, %v", again, err)
	}
	if _, err := h.Call(ctx, "echo", "y"); !errors.Is(err, jobs.ErrConflict) {
		t.Fatalf("same id, other args: got %v; want ErrConflict", err)
	}
	g := newGate()
	e.submit(t, "a0", "hold", g, jobs.Queue("q", 1))
	<-g.entered
	defer close(g.release)
	if _, err := cl.Host("a0", jobs.Queue("q", 1)).Call(ctx, "echo", "1"); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.Host("a0", jobs.Queue("q", 1)).Call(ctx, "echo", "2"); !errors.Is(err, jobs.ErrQueueFull) {
		t.Fatalf("queue full: got %v; want ErrQueueFull", err)
	}
	if _, err := cl.Host("a0").Call(nil, "echo", "x"); !errors.Is(err, actor.ErrNilContext) { //nolint:staticcheck // the nil ctx is the test
		t.Fatalf("nil ctx: got %v; want ErrNilContext", err)
	}
}

// TestClientIDsNoJobHas: a RemoteJob whose id no job can have ("", ".",
// "..", which a server cleans out of a path) answers ErrNotFound from
// every method, not what another route answers: GET /jobs/ is the list,
// and /jobs//result is redirected to the job named "result".
func TestClientIDsNoJobHas(t *testing.T) {
	e := newEnv(t, 1)
	cl := e.client(t, nil)
	ctx := bg(t)
	if _, err := result(t, e.submit(t, "a0", "echo", "x", jobs.ID("result"))); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"", ".", ".."} {
		j := cl.Job(id)
		calls := map[string]func() error{
			"Status":    func() error { _, err := j.Status(ctx); return err },
			"Info":      func() error { _, err := j.Info(ctx); return err },
			"Args":      func() error { _, err := j.Args(ctx); return err },
			"Result":    func() error { _, err := j.Result(ctx, true); return err },
			"Cancel":    func() error { _, err := j.Cancel(ctx); return err },
			"Collected": func() error { _, err := j.Collected(ctx); return err },
			"Follow":    func() error { _, err := remoteItems(t, j, 0); return err },
		}
		for name, call := range calls {
			var re *jobs.RemoteError
			if err := call(); !errors.Is(err, jobs.ErrNotFound) || !errors.As(err, &re) {
				t.Errorf("Job(%q).%s: got %v; want a *RemoteError matching ErrNotFound", id, name, err)
			}
		}
	}
}

func TestClientAuth(t *testing.T) {
	e := newEnv(t, 1)
	auth := jobs.WithAuthorize(func(r *http.Request) error {
		if u, p, _ := r.BasicAuth(); u != "harp" || p != "secret" {
			return errors.New("who are you?")
		}
		return nil
	})
	cl := e.client(t, []jobs.HandlerOption{auth}, jobs.WithBasicAuth("harp", "secret"))
	if _, err := cl.Host("a0").Call(bg(t), "echo", "x"); err != nil {
		t.Fatalf("with credentials: %v", err)
	}
	anon := e.client(t, []jobs.HandlerOption{auth})
	if _, err := anon.Host("a0").Call(bg(t), "echo", "x"); !errors.Is(err, jobs.ErrUnauthorized) {
		t.Fatalf("without credentials: got %v; want ErrUnauthorized", err)
	}
}

// TestClientOddIDs: ids with a slash, a space and a percent sign travel
// in URLs.
func TestClientOddIDs(t *testing.T) {
	e := newEnv(t, 1)
	cl := e.client(t, nil)
	ctx := bg(t)
	for _, id := range []string{"a/b", "with space", "100%", "ünï"} {
		j, err := cl.Host("a0", jobs.ID(id)).Call(ctx, "echo", id)
		if err != nil || j.ID() != id {
			t.Fatalf("%q: got %v, %v", id, j, err)
		}
		if v, err := cl.Job(id).Result(ctx, true); err != nil || string(v) != jsonString(id+"!") {
			t.Fatalf("%q: result %s, %v", id, v, err)
		}
	}
	// "." and ".." would be cleaned out of the URL (GET /jobs/. is the
	// list): they are refused.
	for _, id := range []string{".", ".."} {
		if j, err := cl.Host("a0", jobs.ID(id)).Call(ctx, "echo", id); !errors.Is(err, jobs.ErrInvalidID) {
			t.Fatalf("%q: got %v, %v; want ErrInvalidID", id, j, err)
		}
	}
}

// TestClientMethodNotAllowed: a server that answers 405 (here a proxy
// that turns every request into a DELETE) gives the Client's calls an
// error matching ErrMethodNotAllowed, not ErrNotFound: the job may well
// exist. A 405 without the JSON body is read the same way.
func TestClientMethodNotAllowed(t *testing.T) {
	e := newEnv(t, 1)
	j := e.submit(t, "a0", "echo", "x", jobs.ID("x"))
	if _, err := result(t, j); err != nil {
		t.Fatal(err)
	}
	h := jobs.Handler(e.d)
	for name, proxy := range map[string]http.Handler{
		"json": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Method = http.MethodDelete
			h.ServeHTTP(w, r)
		}),
		"plain": http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "nope", http.StatusMethodNotAllowed)
		}),
	} {
		t.Run(name, func(t *testing.T) {
			srv, hc := serveHandler(t, proxy)
			cl, err := jobs.NewClient(srv.URL+"/jobs", jobs.WithHTTPClient(hc))
			if err != nil {
				t.Fatal(err)
			}
			_, err = cl.Job("x").Status(bg(t))
			var re *jobs.RemoteError
			if !errors.Is(err, jobs.ErrMethodNotAllowed) || errors.Is(err, jobs.ErrNotFound) || !errors.As(err, &re) {
				t.Fatalf("Status: got %v; want a *RemoteError matching ErrMethodNotAllowed and not ErrNotFound", err)
			}
			if _, err := cl.Job("x").Cancel(bg(t)); !errors.Is(err, jobs.ErrMethodNotAllowed) || errors.Is(err, jobs.ErrNotFound) {
				t.Fatalf("Cancel: got %v; want ErrMethodNotAllowed, not ErrNotFound", err)
			}
		})
	}
}

// TestClientFollowNilContext: a RemoteJob's Follow and Collected with a
// nil ctx return actor.ErrNilContext, as its other methods do; they
// panicked in context.WithCancel.
func TestClientFollowNilContext(t *testing.T) {
	e := newEnv(t, 1)
	cl := e.client(t, nil)
	j := e.submit(t, "a0", "lines", 2)
	rj := cl.Job(j.ID())
	var got error
	for _, err := range rj.Follow(nil) { //nolint:staticcheck // the nil ctx is the test
		got = err
	}
	if !errors.Is(got, actor.ErrNilContext) {
		t.Fatalf("Follow(nil): got %v; want ErrNilContext", got)
	}
	if _, err := rj.Collected(nil); !errors.Is(err, actor.ErrNilContext) { //nolint:staticcheck // the nil ctx is the test
		t.Fatalf("Collected(nil): got %v; want ErrNilContext", err)
	}
}

// TestClientResultWaitPastCtx: a RemoteJob's Result that waits past its
// ctx returns ErrNotFinished wrapping ctx's cause, as Job.Result does;
// it returned the transport's error alone.
func TestClientResultWaitPastCtx(t *testing.T) {
	e := newEnv(t, 1)
	cl := e.client(t, nil)
	g := newGate()
	j := e.submit(t, "a0", "hold", g)
	defer close(g.release)
	<-g.entered
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := cl.Job(j.ID()).Result(ctx, true); !errors.Is(err, jobs.ErrNotFinished) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("wait past ctx: got %v; want ErrNotFinished and DeadlineExceeded", err)
	}
}

// TestClientReadTimeout: actor.ReadTimeout bounds a RemoteJob reader's
// wait for each item, as a Job's local reader's: the loop body's time
// does not count; past it the loop ends with actor.ErrTimeout. Bad
// options are refused before any request.
func TestClientReadTimeout(t *testing.T) {
	e := newEnv(t, 1)
	cl := e.client(t, nil)
	// No deadline: a read timeout that did not work would end the reader
	// with the watchdog's cancel, not ErrTimeout.
	ctx, cancel := context.WithCancel(context.Background())
	watchdog := time.AfterFunc(20*time.Second, cancel)
	t.Cleanup(func() { watchdog.Stop(); cancel() })
	// Ten times the ticks' interval: a tick late on a loaded machine is
	// no timeout.
	const d = time.Second

	// Ticks come every 100 ms; the body of the first takes twice the
	// timeout, and the reader still reads to the job's clean end.
	ticks, err := cl.Host("a0").Call(ctx, "ticker", tickReq{Every: 100 * time.Millisecond, N: 3})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	for it, err := range ticks.Follow(ctx, actor.ReadTimeout(d)) {
		if err != nil {
			t.Fatalf("ticks: item %d: %v", n, err)
		}
		if n++; it.Seq == 0 {
			time.Sleep(2 * d)
		}
	}
	if n != 3 {
		t.Fatalf("ticks: read %d items; want 3", n)
	}

	// One item, then silence: the reader ends with ErrTimeout.
	quiet, err := cl.Host("a0").Call(ctx, "silent", nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	var end error
	for it, err := range quiet.Follow(ctx, actor.ReadTimeout(d)) {
		if err != nil {
			end = err
			break
		}
		got = append(got, string(it.V))
	}
	if !slices.Equal(got, []string{`"hello"`}) || !errors.Is(end, actor.ErrTimeout) {
		t.Fatalf("silent: got %v, then %v; want \"hello\", then ErrTimeout", got, end)
	}

	for _, opts := range [][]actor.FollowOption{{actor.ReadTimeout(-1)}, {actor.Since(1), actor.Recent(1)}, {nil}} {
		for _, err := range quiet.Follow(ctx, opts...) {
			if !errors.Is(err, jobs.ErrInvalidOption) {
				t.Fatalf("options %v: got %v; want ErrInvalidOption", opts, err)
			}
		}
		if _, err := quiet.Collected(ctx, opts...); !errors.Is(err, jobs.ErrInvalidOption) {
			t.Fatalf("Collected with options %v: got %v; want ErrInvalidOption", opts, err)
		}
	}
}
