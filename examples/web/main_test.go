package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, goleak.IgnoreCurrent()) }

// wait bounds every real-time wait: generous, never a speed assertion.
const wait = 10 * time.Second

// server runs the app on loopback until the test ends or stop is called.
func server(t *testing.T, ttl time.Duration) (base string, stop func() error) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, l, ttl, wait, nil) }()
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			runErr = <-done
		})
		return runErr
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Errorf("run: %v", err)
		}
	})
	return "http://" + l.Addr().String(), stop
}

// browser is a client with its own cookies: one session.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: wait}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func do(t *testing.T, c *http.Client, method, u, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	if method == "POST" && strings.HasPrefix(body, "text=") {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

var visitsRe = regexp.MustCompile(`Visits: (\d+)`)

func visits(t *testing.T, page string) string {
	t.Helper()
	m := visitsRe.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no visit count in %q", page)
	}
	return m[1]
}

// Each browser has its own session actor, kept across requests by its
// cookie; the page, the form and the JSON API all call it.
func TestSessions(t *testing.T) {
	base, _ := server(t, time.Minute)
	ada, bob := browser(t), browser(t)
	steps := []struct {
		name         string
		who          *http.Client
		method, path string
		body         string
		code         int
		want         string // a substring of the body
	}{
		{"ada's first visit", ada, "GET", "/", "", 200, "Visits: 1"},
		{"ada's second visit", ada, "GET", "/", "", 200, "Visits: 2"},
		{"bob's own session", bob, "GET", "/", "", 200, "Visits: 1"},
		{"ada adds a note with the form", ada, "POST", "/notes", "text=tea", 200, "<li>tea</li>"},
		{"ada adds a note with the API", ada, "POST", "/api/notes", `{"text": "milk"}`, 200, `"notes":["tea","milk"]`},
		{"an empty note", ada, "POST", "/api/notes", `{"text": " "}`, 400, "empty note"},
		{"a body over the cap", ada, "POST", "/api/notes", `{"text": "` + strings.Repeat("x", 5000) + `"}`, 413, "too large"},
		{"a JSON note, then the body goes over the cap", ada, "POST", "/api/notes", `{"text": "no"}` + strings.Repeat(" ", 5000), 413, "too large"},
		{"a form over the cap", ada, "POST", "/notes", "text=" + strings.Repeat("x", 5000), 413, "too large"},
		{"a malformed form", ada, "POST", "/notes", "text=%zz", 400, "invalid URL escape"},
		{"ada's session", ada, "GET", "/api/session", "", 200, `"visits":3,"notes":["tea","milk"]`},
		{"bob's session", bob, "GET", "/api/session", "", 200, `"visits":1,"notes":[]`},
	}
	for _, s := range steps {
		code, body := do(t, s.who, s.method, base+s.path, s.body)
		if code != s.code || !strings.Contains(body, s.want) {
			t.Fatalf("%s: got %d %.200q; want %d and %q", s.name, code, body, s.code, s.want)
		}
	}
}

// A session without requests for its ttl stops; the next request gets a
// fresh one under the same cookie.
func TestSessionExpires(t *testing.T) {
	const ttl = 100 * time.Millisecond
	base, _ := server(t, ttl)
	c := browser(t)
	for _, want := range []string{"1", "2"} {
		if _, page := do(t, c, "GET", base+"/", ""); visits(t, page) != want {
			t.Fatalf("visits %s; want %s", visits(t, page), want)
		}
	}
	time.Sleep(10 * ttl) // the session stops after ttl; a wide margin, not a speed check
	if _, page := do(t, c, "GET", base+"/", ""); visits(t, page) != "1" {
		t.Fatalf("visits after the ttl %s; want 1 (a new session)", visits(t, page))
	}
}

// A session that stops between its lookup and the call (it expired just
// then) is made again, once, on every route that calls it: the JSON API,
// the page and the form all answer from a fresh session, none with 503.
func TestSessionStopsBeforeCall(t *testing.T) {
	srv, stopNext := stoppingApp(t)
	c := browser(t)
	if code, body := do(t, c, "GET", srv.URL+"/api/session", ""); code != 200 {
		t.Fatalf("first request: got %d %q; want 200", code, body)
	}
	steps := []struct {
		name, method, path, body string
		want                     string // a substring of the body
	}{
		{"API look", "GET", "/api/session", "", `"visits":0,"notes":[]`},
		{"API note", "POST", "/api/notes", `{"text": "milk"}`, `"notes":["milk"]`},
		{"page", "GET", "/", "", "Visits: 1"},
		{"form", "POST", "/notes", "text=tea", "<li>tea</li>"},
	}
	for _, s := range steps {
		stopNext.Store(true)
		code, body := do(t, c, s.method, srv.URL+s.path, s.body)
		if code != 200 || !strings.Contains(body, s.want) {
			t.Fatalf("%s: got %d %.200q; want 200 and %q", s.name, code, body, s.want)
		}
		if stopNext.Load() {
			t.Fatalf("%s: the session was not picked", s.name)
		}
	}
}

// stoppingApp serves the app on loopback until the test ends; while
// stopNext is set, the session the next request picks is stopped before it
// is called, as if it expired just then.
func stoppingApp(t *testing.T) (srv *httptest.Server, stopNext *atomic.Bool) {
	t.Helper()
	rt, err := troupe.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), wait)
		defer cancel()
		if err := rt.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	a := newApp(rt, time.Minute, context.Background())
	stopNext = new(atomic.Bool)
	a.picked = func(ref *actor.Ref[*Session]) {
		if stopNext.CompareAndSwap(true, false) {
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			_ = ref.Stop(ctx)
		}
	}
	srv = httptest.NewServer(a.routes())
	t.Cleanup(srv.Close) // after the streams' bodies are closed: cleanups run last first
	return srv, stopNext
}

// A session that stops between its lookup and the stream's open is made
// again, once, on the stream routes too (SSE and JSON lines), as on the
// others: the stream opens (200, not 503) on the fresh session, whose new
// notes it then carries. Both answered 503 without the retry.
func TestStreamSessionStopsBeforeOpen(t *testing.T) {
	srv, stopNext := stoppingApp(t)
	c := browser(t)
	if code, body := do(t, c, "GET", srv.URL+"/api/session", ""); code != 200 {
		t.Fatalf("first request: got %d %q; want 200", code, body)
	}
	for _, route := range []string{"events", "lines"} {
		t.Run(route, func(t *testing.T) {
			stopNext.Store(true)
			req, _ := http.NewRequest("GET", srv.URL+"/api/notes/"+route, nil)
			c2 := *c
			c2.Timeout = 0 // a stream outlives a request timeout
			res, err := c2.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			if res.StatusCode != 200 {
				b, _ := io.ReadAll(res.Body)
				t.Fatalf("got %d %q; want 200", res.StatusCode, b)
			}
			if stopNext.Load() {
				t.Fatal("the session was not picked")
			}
			if code, body := do(t, c, "POST", srv.URL+"/api/notes", `{"text": "`+route+`"}`); code != 200 {
				t.Fatalf("note: got %d %q; want 200", code, body)
			}
			br := bufio.NewReader(res.Body)
			if route == "events" {
				if e, err := readEvent(br); err != nil || e != (event{id: "0", data: route}) {
					t.Fatalf("got %+v, %v; want the new note", e, err)
				}
				return
			}
			var line struct {
				Seq   int    `json:"seq"`
				Value string `json:"value"`
			}
			if err := json.NewDecoder(br).Decode(&line); err != nil || line.Value != route {
				t.Fatalf("JSON line: got %+v, %v; want %q", line, err, route)
			}
		})
	}
}

// sse reads server-sent events: id and data of each message.
type event struct{ id, name, data string }

func readEvent(br *bufio.Reader) (event, error) {
	var e event
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return e, err
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			return e, nil
		case strings.HasPrefix(line, "id: "):
			e.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			e.name = line[7:]
		case strings.HasPrefix(line, "data: "):
			e.data = line[6:]
		}
	}
}

func openEvents(t *testing.T, c *http.Client, u, lastID string) (*http.Response, *bufio.Reader) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	c2 := *c
	c2.Timeout = 0 // a stream outlives a request timeout
	res, err := c2.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	return res, bufio.NewReader(res.Body)
}

// The notes stream: what the session has, then each new note as it is
// added; Last-Event-ID resumes after the last event seen; JSON lines too.
func TestNotesStream(t *testing.T) {
	base, _ := server(t, time.Minute)
	c := browser(t)
	do(t, c, "POST", base+"/api/notes", `{"text": "one"}`)
	_, br := openEvents(t, c, base+"/api/notes/events", "")
	if e, err := readEvent(br); err != nil || e != (event{id: "0", data: "one"}) {
		t.Fatalf("got %+v, %v; want the first note", e, err)
	}
	do(t, c, "POST", base+"/api/notes", `{"text": "two"}`)
	if e, err := readEvent(br); err != nil || e != (event{id: "1", data: "two"}) {
		t.Fatalf("got %+v, %v; want the new note, live", e, err)
	}
	do(t, c, "POST", base+"/api/notes", `{"text": "three"}`)
	_, br2 := openEvents(t, c, base+"/api/notes/events", "1") // a reconnecting browser
	if e, err := readEvent(br2); err != nil || e != (event{id: "2", data: "three"}) {
		t.Fatalf("resumed: got %+v, %v; want the note after id 1", e, err)
	}

	u, _ := url.Parse(base + "/api/notes/lines?since=1")
	res, err := (&http.Client{Jar: c.Jar}).Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	dec := json.NewDecoder(res.Body)
	for _, want := range []string{"two", "three"} {
		var line struct {
			Seq   int    `json:"seq"`
			Value string `json:"value"`
		}
		if err := dec.Decode(&line); err != nil || line.Value != want {
			t.Fatalf("JSON line: got %+v, %v; want %q", line, err, want)
		}
	}
}

// A graceful shutdown with a stream open: the stream ends (the browser
// would resume elsewhere), run returns nil, no goroutine is left.
func TestShutdown(t *testing.T) {
	base, stop := server(t, time.Minute)
	c := browser(t)
	do(t, c, "POST", base+"/api/notes", `{"text": "one"}`)
	_, br := openEvents(t, c, base+"/api/notes/events", "")
	if _, err := readEvent(br); err != nil {
		t.Fatal(err)
	}
	if err := stop(); err != nil {
		t.Fatalf("run: %v", err)
	}
	if _, err := readEvent(br); !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("stream after shutdown: %v; want its end", err)
	}
	if _, err := http.Get(base + "/"); err == nil {
		t.Fatal("the server still answers after shutdown")
	}
}

// SIGINT shuts the server down gracefully (main's path).
func TestSIGINT(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + l.Addr().String()
	done := make(chan error, 1)
	go func() {
		done <- serveUntilInterrupt(l, time.Minute, func() {
			c := &http.Client{Timeout: wait}
			if res, err := c.Get(base + "/"); err != nil || res.StatusCode != 200 {
				t.Errorf("GET /: %v; want 200", err)
			} else {
				res.Body.Close()
			}
			c.CloseIdleConnections()
			_ = syscall.Kill(syscall.Getpid(), syscall.SIGINT)
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serveUntilInterrupt: %v", err)
		}
	case <-time.After(wait):
		t.Fatal("SIGINT did not stop the server")
	}
}
