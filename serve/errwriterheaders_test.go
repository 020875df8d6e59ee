package serve

import (
	"context"
	"log"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
)

// TestErrorWriterPanicHeaders: the 500 that answers a panic of the error
// writer (WithErrorWriter) before it wrote carries none of the headers
// that writer set for the answer it did not give (a Content-Encoding
// would have the client decode the plain text), nor serve's Retry-After
// for the 503 it was writing; the headers set before the answer (by a
// middleware) stay.
func TestErrorWriterPanicHeaders(t *testing.T) {
	cfg := methodConfigOf([]MethodOption{WithErrorWriter(func(w http.ResponseWriter, _ *http.Request, _ int, _ error) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Cache-Control", "max-age=60")
		panic("writer boom")
	})})
	var logged testkit.LockedBuffer
	srv := &http.Server{ErrorLog: log.New(&logged, "", 0)}
	r := httptest.NewRequest("POST", "/", nil)
	r = r.WithContext(context.WithValue(r.Context(), http.ServerContextKey, srv))
	w := httptest.NewRecorder()
	w.Header().Set("X-Middleware", "kept")
	cfg.fail(w, r, actor.ErrMailboxFull)
	h := w.Header()
	if w.Code != http.StatusInternalServerError {
		t.Fatalf("got %d; want 500", w.Code)
	}
	for _, k := range []string{"Content-Encoding", "Cache-Control", "Retry-After"} {
		if v := h.Get(k); v != "" {
			t.Errorf("500 after the writer's panic: %s %q; want none", k, v)
		}
	}
	if ct := h.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("Content-Type %q; want text/plain", ct)
	}
	if v := h.Get("X-Middleware"); v != "kept" {
		t.Errorf("X-Middleware %q; want the middleware's, kept", v)
	}
}
