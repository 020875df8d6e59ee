package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/internal/testkit"
	troupe "github.com/troupe-go/troupe/runtime"
)

// flushWriter is a ResponseWriter that a stream can flush and a test can
// read while the stream is open.
type flushWriter struct {
	mu   sync.Mutex
	h    http.Header
	code int
	body bytes.Buffer
}

func (w *flushWriter) Header() http.Header { return w.h }
func (w *flushWriter) WriteHeader(code int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.code == 0 {
		w.code = code
	}
}
func (w *flushWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.body.Write(b)
}
func (w *flushWriter) Flush() {}
func (w *flushWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.body.String()
}

// An open notes stream keeps its session alive past the ttl: a user who
// watches the live notes without a request of their own keeps their
// session (and its notes), and the stream goes on carrying new ones.
// Once the stream is closed, the session expires as any other. The
// session expired under the open stream after one ttl: the Expire cast
// stopped it, the stream ended, and a later note made a fresh session.
func TestOpenStreamKeepsSession(t *testing.T) {
	testkit.Bubble(t, func(t *testing.T) {
		const ttl = time.Minute
		rt, err := troupe.New()
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			if err := rt.Shutdown(ctx); err != nil {
				t.Errorf("Shutdown: %v", err)
			}
		}()
		h := newApp(rt, ttl, context.Background()).routes()
		sid := strings.Repeat("ab", 16)
		request := func(ctx context.Context, method, path, body string) *http.Request {
			r := httptest.NewRequestWithContext(ctx, method, path, strings.NewReader(body))
			r.AddCookie(&http.Cookie{Name: cookieName, Value: sid})
			return r
		}
		note := func(text string) string {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, request(context.Background(), "POST", "/api/notes", `{"text": "`+text+`"}`))
			return w.Body.String()
		}
		note("one")

		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		w := &flushWriter{h: http.Header{}}
		served := make(chan struct{})
		go func() {
			defer close(served)
			defer func() {
				// A stream whose client went away aborts, as net/http
				// lets it.
				if r := recover(); r != nil && r != http.ErrAbortHandler {
					panic(r)
				}
			}()
			h.ServeHTTP(w, request(ctx, "GET", "/api/notes/events", ""))
		}()
		synctest.Wait()
		if !strings.Contains(w.String(), "data: one") {
			t.Fatalf("the stream: got %q; want the first note", w.String())
		}

		time.Sleep(5 * ttl) // no request but the open stream
		synctest.Wait()
		select {
		case <-served:
			t.Fatalf("the stream ended after %v with it open: %q", 5*ttl, w.String())
		default:
		}
		if view := note("two"); !strings.Contains(view, `"notes":["one","two"]`) {
			t.Fatalf("a note after %v with a stream open: got %s; want the session's notes, one and two", 5*ttl, view)
		}
		synctest.Wait()
		if !strings.Contains(w.String(), "data: two") {
			t.Fatalf("the stream: got %q; want the new note, live", w.String())
		}

		// Closed, the stream keeps nothing alive: within two ttls (one
		// to notice it closed), the session expires.
		cancel()
		<-served
		time.Sleep(2*ttl + time.Second)
		synctest.Wait()
		if ref, err := troupe.Lookup[*Session](rt, "session:"+sid); err == nil && !ref.Stopped() {
			t.Fatalf("the session is still alive %v after its stream closed", 2*ttl)
		}
	})
}
