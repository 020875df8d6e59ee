package serve_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	"github.com/troupe-go/troupe/serve"
)

// Log produces streams of lines.
type Log struct {
	open chan context.Context // the Context of each stream left open
}

// tailReq asks for n lines, then an end: a clean one, an error, or none
// (the stream stays open).
type tailReq struct {
	N      int    `json:"n"`
	Fail   string `json:"fail"`   // the stream's error, if any
	Open   bool   `json:"open"`   // leave the stream open
	Before bool   `json:"before"` // fail before the first item
	Big    bool   `json:"big"`    // items of 1 MiB
}

var Tail = actor.NewStream("tail", func(l *Log, _ *actor.Ctx, req tailReq, out *actor.Out[string]) error {
	if req.Before {
		return errors.New("no log")
	}
	for i := range req.N {
		line := fmt.Sprintf("line %d", i)
		if req.Big {
			line = bigItem
		}
		_ = out.Send(line)
	}
	switch {
	case req.Open:
		l.open <- out.Context()
		return nil
	case req.Fail != "":
		return errors.New(req.Fail)
	}
	return out.Close(nil)
})

// bigItem is the item of a tailReq with Big.
var bigItem = strings.Repeat(".", 1<<20)

// queryReq decodes a tailReq from the query string.
func queryReq(r *http.Request) (tailReq, error) {
	var q tailReq
	if s := r.URL.Query().Get("q"); s != "" {
		if err := json.Unmarshal([]byte(s), &q); err != nil {
			return q, err
		}
	}
	return q, nil
}

func encodeLine(s string) ([]byte, error) {
	if s == "line 1" {
		return []byte("line 1\nsecond half\r\nthird"), nil // a multi-line item
	}
	return []byte(s), nil
}

func streamServer(t *testing.T) (*httptest.Server, *Log) {
	t.Helper()
	rt := testkit.NewRuntime(t)
	lg := &Log{open: make(chan context.Context, 1)}
	ref, err := actor.Spawn(rt, lg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /sse", serve.SSE(Tail, serve.To(ref), queryReq, encodeLine))
	mux.Handle("GET /lines", serve.JSONLines(Tail, serve.To(ref), queryReq))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, lg
}

func get(t *testing.T, u string, hdr map[string]string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("body: %v", err)
	}
	return res.StatusCode, res.Header, string(b)
}

func q(req string) string { return "?q=" + url.QueryEscape(req) }

// SSE: ids are sequence numbers, multi-line items become several data
// lines, the end is an "end" event or an "error" event, Last-Event-ID
// resumes after the id, and a bad one is 400.
func TestSSE(t *testing.T) {
	srv, _ := streamServer(t)
	tests := []struct {
		name   string
		req    string
		lastID string
		code   int
		want   string
	}{
		{"items and end", `{"n": 3}`, "", 200,
			"id: 0\ndata: line 0\n\nid: 1\ndata: line 1\ndata: second half\ndata: third\n\nid: 2\ndata: line 2\n\nevent: end\ndata:\n\n"},
		{"resume", `{"n": 4}`, "1", 200,
			"id: 2\ndata: line 2\n\nid: 3\ndata: line 3\n\nevent: end\ndata:\n\n"},
		{"error after items", `{"n": 1, "fail": "disk gone"}`, "", 200,
			"id: 0\ndata: line 0\n\nevent: error\ndata: disk gone\n\n"},
		{"error before items", `{"before": true}`, "", 500, "Internal Server Error\n"},
		{"bad Last-Event-ID", `{"n": 1}`, "abc", 400, "serve: bad stream position: Last-Event-ID \"abc\"\n"},
		{"negative Last-Event-ID", `{"n": 1}`, "-1", 400, "serve: bad stream position: Last-Event-ID \"-1\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tt.lastID != "" {
				hdr["Last-Event-ID"] = tt.lastID
			}
			code, h, body := get(t, srv.URL+"/sse"+q(tt.req), hdr)
			if code != tt.code || body != tt.want {
				t.Fatalf("got %d %q; want %d %q", code, body, tt.code, tt.want)
			}
			if code == 200 && h.Get("Content-Type") != "text/event-stream" {
				t.Fatalf("Content-Type %q; want text/event-stream", h.Get("Content-Type"))
			}
		})
	}
}

// plainWriter is a middleware's ResponseWriter that hides the one it
// wraps: no Flush, no Unwrap.
type plainWriter struct{ w http.ResponseWriter }

func (p plainWriter) Header() http.Header         { return p.w.Header() }
func (p plainWriter) Write(b []byte) (int, error) { return p.w.Write(b) }
func (p plainWriter) WriteHeader(code int)        { p.w.WriteHeader(code) }

// unwrapWriter is a middleware's ResponseWriter with Unwrap but no Flush.
type unwrapWriter struct{ plainWriter }

func (u unwrapWriter) Unwrap() http.ResponseWriter { return u.w }

// The stream handlers flush through http.ResponseController: behind a
// middleware's writer that can Unwrap, the whole stream arrives; behind
// one that cannot flush at all, the answer is 500 with ErrCannotFlush,
// not a stream cut after its first item.
func TestStreamMiddlewareWriter(t *testing.T) {
	rt := testkit.NewRuntime(t)
	ref, err := actor.Spawn(rt, &Log{open: make(chan context.Context, 1)})
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 1)
	onError := serve.WithErrorWriter(func(w http.ResponseWriter, _ *http.Request, code int, err error) {
		errs <- err
		http.Error(w, err.Error(), code)
	})
	handlers := map[string]http.Handler{
		"sse":   serve.SSE(Tail, serve.To(ref), queryReq, encodeLine, onError),
		"lines": serve.JSONLines(Tail, serve.To(ref), queryReq, onError),
	}
	wrappers := map[string]func(http.ResponseWriter) http.ResponseWriter{
		"plain":  func(w http.ResponseWriter) http.ResponseWriter { return plainWriter{w} },
		"unwrap": func(w http.ResponseWriter) http.ResponseWriter { return unwrapWriter{plainWriter{w}} },
	}
	for hname, h := range handlers {
		for wname, wrap := range wrappers {
			t.Run(hname+"/"+wname, func(t *testing.T) {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					h.ServeHTTP(wrap(w), r)
				}))
				defer srv.Close()
				code, _, body := get(t, srv.URL+q(`{"n": 3}`), nil)
				if wname == "plain" {
					if code != http.StatusInternalServerError || body != serve.ErrCannotFlush.Error()+"\n" {
						t.Fatalf("got %d %q; want 500 %q", code, body, serve.ErrCannotFlush)
					}
					if err := <-errs; !errors.Is(err, serve.ErrCannotFlush) {
						t.Fatalf("error writer got %v; want ErrCannotFlush", err)
					}
					return
				}
				if code != http.StatusOK || !strings.Contains(body, "line 2") {
					t.Fatalf("got %d %q; want 200 and every item", code, body)
				}
			})
		}
	}
}

// JSON lines: {"seq","value"} per item, since resumes, a failed end is a
// last {"error"} line, a bad since is 400.
func TestJSONLines(t *testing.T) {
	srv, _ := streamServer(t)
	tests := []struct {
		name, query string
		code        int
		want        string
	}{
		{"items", q(`{"n": 2}`), 200, "{\"seq\":0,\"value\":\"line 0\"}\n{\"seq\":1,\"value\":\"line 1\"}\n"},
		{"since", q(`{"n": 3}`) + "&since=2", 200, "{\"seq\":2,\"value\":\"line 2\"}\n"},
		{"error", q(`{"n": 1, "fail": "disk gone"}`), 200, "{\"seq\":0,\"value\":\"line 0\"}\n{\"error\":\"disk gone\"}\n"},
		{"bad since", q(`{"n": 1}`) + "&since=x", 400, "serve: bad stream position: since \"x\"\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, body := get(t, srv.URL+"/lines"+tt.query, nil)
			if code != tt.code || body != tt.want {
				t.Fatalf("got %d %q; want %d %q", code, body, tt.code, tt.want)
			}
		})
	}
}

// JSON lines go out chunked, as application/x-ndjson, each line flushed
// as it comes: a client reads them while the stream is still open.
func TestJSONLinesStreamed(t *testing.T) {
	srv, lg := streamServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/lines"+q(`{"n": 2, "open": true}`), nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		t.Errorf("Content-Type %q; want application/x-ndjson", ct)
	}
	if te := res.TransferEncoding; len(te) != 1 || te[0] != "chunked" || res.ContentLength != -1 {
		t.Errorf("transfer encoding %v, length %d; want chunked, unknown length", te, res.ContentLength)
	}
	br := bufio.NewReader(res.Body)
	for _, want := range []string{"{\"seq\":0,\"value\":\"line 0\"}\n", "{\"seq\":1,\"value\":\"line 1\"}\n"} {
		if got, err := br.ReadString('\n'); got != want {
			t.Fatalf("got %q, %v; want %q, flushed while the stream is open", got, err, want)
		}
	}
	producer := <-lg.open
	cancel()
	select {
	case <-producer.Done():
	case <-time.After(wait):
		t.Fatal("the producer's Context was not cancelled")
	}
}

// Items are flushed as they come, and a client that goes away detaches its
// reader: the producer's Context is cancelled.
func TestSSEClientGone(t *testing.T) {
	srv, lg := streamServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/sse"+q(`{"n": 1, "open": true}`), nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	br := bufio.NewReader(res.Body)
	for _, want := range []string{"id: 0\n", "data: line 0\n"} {
		if got, err := br.ReadString('\n'); got != want {
			t.Fatalf("got %q, %v; want %q, flushed while the stream is open", got, err, want)
		}
	}
	producer := <-lg.open
	cancel()
	select {
	case <-producer.Done():
		if !errors.Is(context.Cause(producer), actor.ErrNoReader) {
			t.Fatalf("producer's cause %v; want ErrNoReader", context.Cause(producer))
		}
	case <-time.After(wait):
		t.Fatal("the producer's Context was not cancelled")
	}
}

// The stream handlers panic on programmer errors.
func TestStreamHandlerPanics(t *testing.T) {
	tests := []struct {
		name string
		f    func()
	}{
		{"nil stream", func() { serve.JSONLines[*Log, tailReq, string](nil, nil, queryReq) }},
		{"nil encode", func() { serve.SSE(Tail, serve.To[*Log](nil), queryReq, nil) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if v := recover(); v == nil || !strings.HasPrefix(fmt.Sprint(v), "serve: ") {
					t.Fatalf("recovered %v; want a panic prefixed serve:", v)
				}
			}()
			tt.f()
		})
	}
}
