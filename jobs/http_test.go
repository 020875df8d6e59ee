package jobs_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/jobs"
)

// The HTTP face is tested in real time, over loopback: sockets do not
// advance a synctest bubble's clock.

// server serves e's dispatcher under /jobs/ on loopback; its client has
// its own transport, whose idle connections close with the test.
func (e *env) server(t *testing.T, opts ...jobs.HandlerOption) (*httptest.Server, *http.Client) {
	t.Helper()
	return serveHandler(t, jobs.Handler(e.d, opts...))
}

func serveHandler(t *testing.T, h http.Handler) (*httptest.Server, *http.Client) {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("/jobs/", h)
	srv := httptest.NewServer(mux)
	tr := &http.Transport{}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		srv.Close()
	})
	return srv, &http.Client{Transport: tr}
}

// call makes one request and returns the status and body.
func call(t *testing.T, c *http.Client, method, url, body string, hdr ...string) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, b
}

// errType is the "type" of an error body.
func errType(b []byte) string {
	var re jobs.RemoteError
	_ = json.Unmarshal(b, &re)
	return re.Type
}

func TestHTTPSubmit(t *testing.T) {
	e := newEnv(t, 2, jobs.WithMaxQueued(1))
	srv, c := e.server(t, jobs.WithMaxBody(512))
	g := newGate()
	blocker := e.submit(t, "a1", "hold", g, jobs.Queue("full", 1))
	<-g.entered
	e.submit(t, "a1", "echo", "waits", jobs.Queue("full", 1))
	defer func() {
		close(g.release)
		_, _ = result(t, blocker)
	}()
	for _, tc := range []struct {
		name string
		body string
		code int
		typ  string
	}{
		{"created", `{"host":"a0","procedure":"add","args":{"A":1,"B":2},"id":"j1"}`, 201, ""},
		{"same id, same args", `{"host":"a0","procedure":"add","args":{"B":2,"A":1},"id":"j1"}`, 200, ""},
		{"same id, other args", `{"host":"a0","procedure":"add","args":{"A":9},"id":"j1"}`, 409, "conflict"},
		{"all options", `{"host":"a0","procedure":"echo","args":"x","queue":"q","concurrency":2,"max_exec_time":1.5,"timeout":3,"info":{"by":"ann"}}`, 201, ""},
		{"no args", `{"host":"a0","procedure":"add"}`, 201, ""},
		{"unknown host", `{"host":"zz","procedure":"add"}`, 400, "unknown_host"},
		{"unknown procedure", `{"host":"a0","procedure":"zz"}`, 400, "unknown_procedure"},
		{"args of another shape", `{"host":"a0","procedure":"add","args":"text"}`, 400, "bad_args"},
		{"malformed body", `{"host":`, 400, "bad_request"},
		{"unknown field", `{"host":"a0","procedure":"add","color":"red"}`, 400, "bad_request"},
		{"trailing data", `{"host":"a0","procedure":"add"} {}`, 400, "bad_request"},
		{"zero concurrency", `{"host":"a0","procedure":"add","queue":"q","concurrency":0}`, 400, "invalid_option"},
		{"negative concurrency", `{"host":"a0","procedure":"add","queue":"q","concurrency":-2}`, 400, "invalid_option"},
		{"queue without concurrency", `{"host":"a0","procedure":"add","queue":"q"}`, 400, "invalid_option"},
		{"concurrency without queue", `{"host":"a0","procedure":"add","concurrency":2}`, 400, "invalid_option"},
		{"negative max exec", `{"host":"a0","procedure":"add","max_exec_time":-1}`, 400, "invalid_option"},
		{"zero timeout", `{"host":"a0","procedure":"add","timeout":0}`, 400, "invalid_option"},
		{"id with a control character", `{"host":"a0","procedure":"add","id":"a\u0001"}`, 400, "invalid_id"},
		{"id of 256 bytes", `{"host":"a0","procedure":"add","id":"` + strings.Repeat("i", 256) + `"}`, 400, "invalid_id"},
		{"id ..", `{"host":"a0","procedure":"add","id":".."}`, 400, "invalid_id"},
		{"body over the cap", `{"host":"a0","procedure":"echo","args":"` + strings.Repeat("x", 600) + `"}`, 413, "too_large"},
		{"body over the cap past its JSON", `{"host":"a0","procedure":"add"}` + strings.Repeat(" ", 600), 413, "too_large"},
		{"queue full", `{"host":"a1","procedure":"echo","args":"x","queue":"full","concurrency":1}`, 429, "queue_full"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, b := call(t, c, "POST", srv.URL+"/jobs/", tc.body)
			if code != tc.code || errType(b) != tc.typ {
				t.Fatalf("got %d %s; want %d, type %q", code, b, tc.code, tc.typ)
			}
			if code/100 == 2 {
				var st jobs.Status
				if err := json.Unmarshal(b, &st); err != nil || st.ID == "" || st.State == "" || st.Submitted.IsZero() {
					t.Fatalf("job: got %s (%v)", b, err)
				}
			} else {
				var re jobs.RemoteError
				if err := json.Unmarshal(b, &re); err != nil || re.Message == "" {
					t.Fatalf("error body: got %s; want {type, message}", b)
				}
			}
		})
	}
	if j, err := e.d.Job("j1"); err != nil || j.Procedure() != "add" {
		t.Fatalf("j1: got %v, %v", j, err)
	}
	if n := len(e.d.List(jobs.Filter{Host: "a0"})); n != 3 {
		t.Fatalf("jobs on a0: got %d; want 3 (refused ones not submitted)", n)
	}
}

func TestHTTPNotFound(t *testing.T) {
	e := newEnv(t, 1)
	srv, c := e.server(t)
	for _, tc := range []struct{ method, path string }{
		{"GET", "/jobs/ghost"},
		{"GET", "/jobs/ghost/result"},
		{"GET", "/jobs/ghost/result?wait=1"},
		{"POST", "/jobs/ghost/cancel"},
		{"GET", "/jobs/ghost/output"},
		{"GET", "/jobs/ghost/output?format=sse"},
		{"GET", "/jobs/a/b/c"},
		{"DELETE", "/jobs/a/b/c"}, // no route at that path for any method
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			if code, b := call(t, c, tc.method, srv.URL+tc.path, ""); code != 404 || errType(b) != "not_found" {
				t.Fatalf("got %d %s; want 404 not_found", code, b)
			}
		})
	}
}

// TestHTTPMethodNotAllowed: a route asked with a method it does not
// serve is answered 405 with the methods it does serve, as a JSON error
// of type "method_not_allowed" — not 404, which would say the job does
// not exist.
func TestHTTPMethodNotAllowed(t *testing.T) {
	e := newEnv(t, 1)
	srv, c := e.server(t)
	j := e.submit(t, "a0", "echo", "x", jobs.ID("x"))
	if _, err := result(t, j); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ method, path, allow string }{
		{"DELETE", "/jobs/x", "GET, HEAD"},
		{"DELETE", "/jobs/ghost", "GET, HEAD"},
		{"PUT", "/jobs/x", "GET, HEAD"},
		{"GET", "/jobs/x/cancel", "POST"},
		{"POST", "/jobs/x/result", "GET, HEAD"},
		{"DELETE", "/jobs/x/output", "GET, HEAD"},
		{"DELETE", "/jobs/", "GET, HEAD, POST"},
		{"PATCH", "/jobs/?state=done", "GET, HEAD, POST"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, tc.method, srv.URL+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			res, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			if res.StatusCode != http.StatusMethodNotAllowed || errType(b) != "method_not_allowed" {
				t.Fatalf("got %d %s; want 405 method_not_allowed", res.StatusCode, b)
			}
			if got := res.Header.Get("Allow"); got != tc.allow {
				t.Fatalf("Allow: got %q; want %q", got, tc.allow)
			}
			if ct := res.Header.Get("Content-Type"); ct != "application/json" {
				t.Fatalf("Content-Type: got %q; want application/json", ct)
			}
		})
	}
	// The job is still there: nothing was done to it.
	if _, err := e.d.Job("x"); err != nil {
		t.Fatalf("Job after the refused requests: %v", err)
	}
}

// countingBody records whether the handler read the body.
type countingBody struct {
	io.Reader
	read atomic.Bool
}

func (b *countingBody) Read(p []byte) (int, error) {
	b.read.Store(true)
	return b.Reader.Read(p)
}

func TestHTTPAuthorize(t *testing.T) {
	e := newEnv(t, 1)
	var calls atomic.Int64
	srv, c := e.server(t, jobs.WithAuthorize(func(r *http.Request) error {
		calls.Add(1)
		if u, p, ok := r.BasicAuth(); !ok || u != "harp" || p != "secret" {
			return errors.New("bad credentials")
		}
		return nil
	}))
	body := &countingBody{Reader: strings.NewReader(`{"host":"a0","procedure":"echo","args":"x"}`)}
	req, _ := http.NewRequest("POST", srv.URL+"/jobs/", body)
	req.ContentLength = -1 // send it chunked: the server reads it only if the handler does
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 401 || errType(b) != "unauthorized" || !strings.Contains(string(b), "bad credentials") {
		t.Fatalf("no credentials: got %d %s; want 401 unauthorized", res.StatusCode, b)
	}
	if n := len(e.d.List(jobs.Filter{})); n != 0 {
		t.Fatalf("jobs after a refused request: got %d; want 0", n)
	}
	req, _ = http.NewRequest("POST", srv.URL+"/jobs/", strings.NewReader(`{"host":"a0","procedure":"echo","args":"x"}`))
	req.SetBasicAuth("harp", "secret")
	res, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("with credentials: got %d; want 201", res.StatusCode)
	}
	if code, _ := call(t, c, "GET", srv.URL+"/jobs/ghost", ""); code != 401 {
		t.Fatalf("unknown job without credentials: got %d; want 401 (authorization first)", code)
	}
	if calls.Load() != 3 {
		t.Fatalf("hook calls: got %d; want 3", calls.Load())
	}
}

func TestHTTPResult(t *testing.T) {
	e := newEnv(t, 2)
	srv, c := e.server(t)
	done := e.submit(t, "a0", "add", pair{2, 2})
	failed := e.submit(t, "a0", "fail", nil)
	crashed := e.submit(t, "a0", "crash", nil)
	for _, j := range []*jobs.Job{done, failed, crashed} {
		_, _ = result(t, j)
	}
	g := newGate()
	held := e.submit(t, "a1", "hold", g)
	<-g.entered
	type res struct {
		ID    string            `json:"id"`
		State jobs.State        `json:"state"`
		Value json.RawMessage   `json:"value"`
		Error *jobs.RemoteError `json:"error"`
	}
	get := func(t *testing.T, path string) res {
		t.Helper()
		code, b := call(t, c, "GET", srv.URL+path, "")
		var r res
		if code != 200 || json.Unmarshal(b, &r) != nil {
			t.Fatalf("got %d %s; want 200 and a result", code, b)
		}
		return r
	}
	if r := get(t, "/jobs/"+done.ID()+"/result"); r.State != jobs.Done || string(r.Value) != "4" || r.Error != nil {
		t.Fatalf("done: got %+v", r)
	}
	if r := get(t, "/jobs/"+failed.ID()+"/result"); r.State != jobs.Failed || r.Error == nil || r.Error.Type != "error" || !strings.Contains(r.Error.Message, "boom") {
		t.Fatalf("failed: got %+v", r)
	}
	r := get(t, "/jobs/"+crashed.ID()+"/result")
	var data struct{ Value, Stack string }
	if r.Error == nil || r.Error.Type != "panic" || json.Unmarshal(r.Error.Data, &data) != nil || data.Value != "crash" || !strings.Contains(data.Stack, "goroutine") {
		t.Fatalf("panic: got %+v", r)
	}
	if r := get(t, "/jobs/"+held.ID()+"/result"); r.State != jobs.Running || r.Error == nil || r.Error.Type != "not_finished" {
		t.Fatalf("running, no wait: got %+v", r)
	}
	if r := get(t, "/jobs/"+held.ID()+"/result?wait=1&timeout=0.01"); r.Error == nil || r.Error.Type != "not_finished" {
		t.Fatalf("running, wait with a timeout: got %+v", r)
	}
	waited := make(chan res, 1)
	go func() { waited <- get(t, "/jobs/"+held.ID()+"/result?wait=true") }()
	time.Sleep(10 * time.Millisecond)
	close(g.release)
	if r := <-waited; r.State != jobs.Done || string(r.Value) != `"released"` {
		t.Fatalf("waited: got %+v", r)
	}
	for _, q := range []string{"?wait=maybe", "?wait=1&timeout=x", "?wait=1&timeout=-1"} {
		if code, b := call(t, c, "GET", srv.URL+"/jobs/"+done.ID()+"/result"+q, ""); code != 400 {
			t.Fatalf("%s: got %d %s; want 400", q, code, b)
		}
	}
}

func TestHTTPCancelAndList(t *testing.T) {
	e := newEnv(t, 2)
	srv, c := e.server(t)
	g := newGate()
	held := e.submit(t, "a0", "hold", g, jobs.Queue("q", 1))
	<-g.entered
	waiting := e.submit(t, "a1", "echo", "x", jobs.Queue("q", 1))
	code, b := call(t, c, "GET", srv.URL+"/jobs/?queue=q&state=queued", "")
	var list struct{ Jobs []jobs.Status }
	if code != 200 || json.Unmarshal(b, &list) != nil || len(list.Jobs) != 1 || list.Jobs[0].ID != waiting.ID() {
		t.Fatalf("list queued: got %d %s; want the waiting job", code, b)
	}
	if code, b := call(t, c, "GET", srv.URL+"/jobs/?state=running,queued&limit=5", ""); code != 200 || json.Unmarshal(b, &list) != nil || len(list.Jobs) != 2 {
		t.Fatalf("list running,queued: got %d %s; want 2 jobs", code, b)
	}
	for _, q := range []string{"?state=sleeping", "?limit=x", "?limit=-1"} {
		if code, b := call(t, c, "GET", srv.URL+"/jobs/"+q, ""); code != 400 || errType(b) != "bad_request" {
			t.Fatalf("list %s: got %d %s; want 400", q, code, b)
		}
	}
	for _, want := range []bool{true, false} {
		code, b := call(t, c, "POST", srv.URL+"/jobs/"+held.ID()+"/cancel", "")
		var out struct{ Cancelled bool }
		if code != 200 || json.Unmarshal(b, &out) != nil || out.Cancelled != want {
			t.Fatalf("cancel: got %d %s; want cancelled %v", code, b, want)
		}
	}
	if _, err := result(t, waiting); err != nil {
		t.Fatal(err)
	}
	code, b = call(t, c, "GET", srv.URL+"/jobs/"+held.ID(), "")
	var st jobs.Status
	if code != 200 || json.Unmarshal(b, &st) != nil || st.State != jobs.Cancelled {
		t.Fatalf("status: got %d %s; want cancelled", code, b)
	}
}

// lines splits a JSON lines body.
func jsonLines(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	for l := range bytes.Lines(b) {
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func TestHTTPOutputJSONLines(t *testing.T) {
	e := newEnv(t, 2)
	srv, c := e.server(t)
	j := e.submit(t, "a0", "lines", 5)
	if _, err := result(t, j); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		query string
		want  string
	}{
		{"", `0 1 2 3 4 end:done`},
		{"?since=3", `3 4 end:done`},
		{"?recent=2", `3 4 end:done`},
		{"?since=0&follow=0", `0 1 2 3 4 end:done`},
	} {
		t.Run(tc.query, func(t *testing.T) {
			code, b := call(t, c, "GET", srv.URL+"/jobs/"+j.ID()+"/output"+tc.query, "")
			if code != 200 {
				t.Fatalf("got %d %s", code, b)
			}
			var got []string
			for _, m := range jsonLines(t, b) {
				if m["end"] == true {
					got = append(got, "end:"+m["state"].(string))
				} else {
					got = append(got, strings.TrimSuffix(strings.TrimSuffix(jsonString(m["seq"]), ".0"), "e+00"))
					if m["seq"] != m["value"] {
						t.Fatalf("item %v has value %v", m["seq"], m["value"])
					}
				}
			}
			if s := strings.Join(got, " "); s != tc.want {
				t.Fatalf("got %s; want %s", s, tc.want)
			}
		})
	}
	failed := e.submit(t, "a0", "fail_stream", 1)
	_, _ = result(t, failed)
	_, b := call(t, c, "GET", srv.URL+"/jobs/"+failed.ID()+"/output", "")
	ls := jsonLines(t, b)
	if last := ls[len(ls)-1]; last["end"] != true || last["state"] != "failed" || last["error"].(map[string]any)["type"] != "error" {
		t.Fatalf("failed job's end line: got %v", last)
	}
	// Without follow, a running job's output ends with end false.
	g := newGate()
	running := e.submit(t, "a1", "stuck_stream", g)
	<-g.entered
	waitFor(t, "the first item", func() bool { items, _ := follow1(running); return items > 0 })
	_, b = call(t, c, "GET", srv.URL+"/jobs/"+running.ID()+"/output?follow=false", "")
	ls = jsonLines(t, b)
	if len(ls) != 2 || ls[0]["value"] != "working" || ls[1]["end"] != false || ls[1]["state"] != "running" {
		t.Fatalf("no follow on a running job: got %v", ls)
	}
	close(g.release)
	_, _ = result(t, running)
	for _, q := range []string{"?since=x", "?recent=-1", "?since=1&recent=1", "?format=xml", "?follow=perhaps"} {
		if code, b := call(t, c, "GET", srv.URL+"/jobs/"+j.ID()+"/output"+q, ""); code != 400 {
			t.Fatalf("%s: got %d %s; want 400", q, code, b)
		}
	}
}

func follow1(j *jobs.Job) (int, error) {
	f, err := j.Follow(context.Background())
	if err != nil {
		return 0, err
	}
	defer f.Close()
	items, err := f.Collected()
	return len(items), err
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestHTTPOutputSSE(t *testing.T) {
	e := newEnv(t, 1, jobs.WithOutputLimit(3, 1<<20))
	srv, c := e.server(t)
	j := e.submit(t, "a0", "lines", 5)
	if _, err := result(t, j); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		hdr  []string
		q    string
		want string
	}{
		{"accept", []string{"Accept", "text/event-stream"}, "?since=2",
			"id: 2\ndata: 2\n\nid: 3\ndata: 3\n\nid: 4\ndata: 4\n\nevent: end\ndata: {\"end\":true,\"state\":\"done\"}\n\n"},
		{"last event id", []string{"Last-Event-ID", "3"}, "?format=sse",
			"id: 4\ndata: 4\n\nevent: end\ndata: {\"end\":true,\"state\":\"done\"}\n\n"},
		{"truncated", nil, "?format=sse&since=0",
			"event: end\ndata: {\"end\":false,\"state\":\"done\",\"error\":{\"type\":\"truncated\",\"message\":\"actor: stream truncated: the oldest item kept is 2\",\"data\":{\"oldest\":2}}}\n\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, b := call(t, c, "GET", srv.URL+"/jobs/"+j.ID()+"/output"+tc.q, "", tc.hdr...)
			if code != 200 || string(b) != tc.want {
				t.Fatalf("got %d\n%s\nwant\n%s", code, b, tc.want)
			}
		})
	}
	if code, _ := call(t, c, "GET", srv.URL+"/jobs/"+j.ID()+"/output?format=sse", "", "Last-Event-ID", "x"); code != 400 {
		t.Fatalf("bad Last-Event-ID: got %d; want 400", code)
	}
}

// TestHTTPFollowDisconnect: a client that goes away mid-follow leaves no
// handler running (goleak checks the goroutines at the end), and the job
// goes on.
func TestHTTPFollowDisconnect(t *testing.T) {
	e := newEnv(t, 1)
	returned := make(chan struct{}, 1)
	h := jobs.Handler(e.d)
	srv, c := serveHandler(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		if strings.HasSuffix(r.URL.Path, "/output") {
			returned <- struct{}{}
		}
	}))
	j := e.submit(t, "a0", "ticker", tickReq{Every: 5 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/jobs/"+j.ID()+"/output", nil)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(res.Body)
	for i := 0; i < 3 && sc.Scan(); i++ {
	}
	cancel()
	res.Body.Close()
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal("the follow handler did not return after its client went away")
	}
	if state(j) != jobs.Running {
		t.Fatalf("job after its follower left: got %s; want running", state(j))
	}
	j.Cancel()
	if _, err := result(t, j); !errors.Is(err, jobs.ErrCancelled) {
		t.Fatal(err)
	}
}

func TestHTTPPrefix(t *testing.T) {
	e := newEnv(t, 1)
	for _, tc := range []struct{ prefix, mount, base string }{
		{"", "/", "/"},
		{"/api/v1/jobs", "/api/v1/jobs/", "/api/v1/jobs/"},
	} {
		t.Run(tc.prefix, func(t *testing.T) {
			mux := http.NewServeMux()
			mux.Handle(tc.mount, jobs.Handler(e.d, jobs.WithPrefix(tc.prefix)))
			srv := httptest.NewServer(mux)
			tr := &http.Transport{}
			defer func() {
				tr.CloseIdleConnections()
				srv.Close()
			}()
			c := &http.Client{Transport: tr}
			code, b := call(t, c, "POST", srv.URL+tc.base, `{"host":"a0","procedure":"echo","args":"x"}`)
			var st jobs.Status
			if code != 201 || json.Unmarshal(b, &st) != nil {
				t.Fatalf("submit: got %d %s", code, b)
			}
			if code, b := call(t, c, "GET", srv.URL+tc.base+st.ID+"/result?wait=1", ""); code != 200 || !strings.Contains(string(b), `"x!"`) {
				t.Fatalf("result: got %d %s", code, b)
			}
			if code, _ := call(t, c, "GET", srv.URL+tc.base, ""); code != 200 {
				t.Fatalf("list: got %d", code)
			}
		})
	}
}

func TestHandlerBadOptions(t *testing.T) {
	e := newEnv(t, 1)
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"nil dispatcher", func() { jobs.Handler(nil) }},
		{"nil option", func() { jobs.Handler(e.d, nil) }},
		{"zero max body", func() { jobs.Handler(e.d, jobs.WithMaxBody(0)) }},
		{"prefix without a slash", func() { jobs.Handler(e.d, jobs.WithPrefix("jobs")) }},
		{"prefix ending with a slash", func() { jobs.Handler(e.d, jobs.WithPrefix("/jobs/")) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if v := recover(); v == nil || !strings.HasPrefix(fmt.Sprint(v), "jobs: ") {
					t.Fatalf("got panic %v; want one starting with jobs:", v)
				}
			}()
			tc.f()
		})
	}
}

// TestHTTPOutputHead: a HEAD of a running job's output is answered with
// the headers, and its handler returns: it does not follow the job for
// a client that reads no body (net/http eats a HEAD's writes, so such a
// handler ran until the job ended, holding the connection the client
// had put back in its pool).
func TestHTTPOutputHead(t *testing.T) {
	e := newEnv(t, 1)
	returned := make(chan struct{}, 1)
	h := jobs.Handler(e.d)
	srv, c := serveHandler(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		if r.Method == http.MethodHead {
			returned <- struct{}{}
		}
	}))
	j := e.submit(t, "a0", "ticker", tickReq{Every: 5 * time.Millisecond})
	defer j.Cancel()
	code, b := call(t, c, "HEAD", srv.URL+"/jobs/"+j.ID()+"/output", "")
	if code != 200 || len(b) != 0 {
		t.Fatalf("HEAD: got %d %q; want 200 and no body", code, b)
	}
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal("the HEAD handler still follows the job")
	}
	if code, _ := call(t, c, "GET", srv.URL+"/jobs/"+j.ID(), ""); code != 200 {
		t.Fatalf("GET after the HEAD: got %d", code)
	}
}

// plainWriter hides the ResponseWriter's Flush, as a middleware's
// wrapper without Unwrap does.
type plainWriter struct{ http.ResponseWriter }

// TestHTTPOutputNoFlush: behind a ResponseWriter that cannot flush, a
// followed output is still written whole (it reaches the client as the
// server's buffer fills, and at the end); it was cut off after the
// headers, an empty 200 that the Client reads as ErrCutShort.
func TestHTTPOutputNoFlush(t *testing.T) {
	e := newEnv(t, 1)
	h := jobs.Handler(e.d)
	srv, c := serveHandler(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(plainWriter{w}, r)
	}))
	j := e.submit(t, "a0", "lines", 3)
	if _, err := result(t, j); err != nil {
		t.Fatal(err)
	}
	code, b := call(t, c, "GET", srv.URL+"/jobs/"+j.ID()+"/output", "")
	var got []string
	for _, m := range jsonLines(t, b) {
		if m["end"] == true {
			got = append(got, "end:"+m["state"].(string))
		} else {
			got = append(got, jsonString(m["seq"]))
		}
	}
	if s := strings.Join(got, " "); code != 200 || s != "0 1 2 end:done" {
		t.Fatalf("got %d %q; want 200 and 0 1 2 end:done", code, s)
	}
}

// TestHTTPOutputItemNotJSON: an item that does not encode as JSON (NaN)
// ends an output response with one end line, its error, with follow or
// without. Without follow a second end line followed it, the job's
// outcome ({"end":true} with no error), so a reader that read to the
// last line saw a clean end of the whole output.
func TestHTTPOutputItemNotJSON(t *testing.T) {
	e := newEnv(t, 1)
	nan := actor.NewStream("nan", func(_ *agent, _ *actor.Ctx, _ struct{}, out *actor.Out[float64]) error {
		_ = out.Send(1)
		_ = out.Send(math.NaN())
		_ = out.Send(3)
		return out.Close(nil)
	})
	if err := jobs.RegisterStream(e.d, jobs.Ref("a0", e.hosts[0]), nan); err != nil {
		t.Fatal(err)
	}
	j := e.submit(t, "a0", "nan", nil)
	if _, err := result(t, j); err != nil {
		t.Fatal(err)
	}
	srv, c := e.server(t)
	for _, q := range []string{"", "?follow=0"} {
		code, b := call(t, c, "GET", srv.URL+"/jobs/"+j.ID()+"/output"+q, "")
		lines := jsonLines(t, b)
		if code != http.StatusOK || len(lines) != 2 || lines[0]["seq"] != 0.0 || lines[1]["end"] != false || lines[1]["error"] == nil {
			t.Fatalf("output%s: got %d %s; want item 0, then one end line with the error", q, code, b)
		}
	}
}
