package serve_test

import (
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	"github.com/troupe-go/troupe/serve"
)

// TestEncodeErrorHeaders: an encode function that sets the reply's
// headers and then fails (or panics) before it writes is answered 500
// with only the headers the error writer sets, serve's own and those set
// before the handler (a middleware's): not with the failed reply's (a
// Content-Encoding would have the client decode plain text, a
// Content-Type mislabel the error body).
func TestEncodeErrorHeaders(t *testing.T) {
	rt := testkit.NewRuntime(t)
	acct, err := actor.Spawn(rt, &Account{})
	if err != nil {
		t.Fatal(err)
	}
	setThen := func(fail func() error) func(http.ResponseWriter, int) error {
		return func(w http.ResponseWriter, _ int) error {
			w.Header().Set("Content-Type", "application/x-reply")
			w.Header().Set("Content-Encoding", "gzip")
			w.Header().Set("Cache-Control", "max-age=60")
			w.Header().Set("X-Middleware", "overwritten by encode")
			return fail()
		}
	}
	failing := setThen(func() error { return errors.New("cannot encode") })
	panicking := setThen(func() error { panic("encode boom") })
	// The error writer writes a body and sets no Content-Type of its own.
	bare := serve.WithErrorWriter(func(w http.ResponseWriter, _ *http.Request, code int, _ error) {
		w.WriteHeader(code)
		_, _ = io.WriteString(w, "failed\n")
	})
	mux := http.NewServeMux()
	mux.Handle("POST /default", serve.Method(Deposit, serve.To(acct), serve.DecodeJSON[deposit], failing))
	mux.Handle("POST /bare", serve.Method(Deposit, serve.To(acct), serve.DecodeJSON[deposit], failing, bare))
	mux.Handle("POST /panic", serve.Method(Deposit, serve.To(acct), serve.DecodeJSON[deposit], panicking, bare))
	middleware := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Middleware", "kept")
		mux.ServeHTTP(w, r)
	})
	srv := httptest.NewUnstartedServer(middleware)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	defer srv.Close()
	// The client must not decompress: it would drop Content-Encoding.
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	defer client.CloseIdleConnections()

	// Content-Type is http.Error's, or (bare) net/http's sniffing of the body.
	const plain = "text/plain; charset=utf-8"
	for _, path := range []string{"/default", "/bare", "/panic"} {
		t.Run(path[1:], func(t *testing.T) {
			res, err := client.Post(srv.URL+path, "application/json", strings.NewReader(`{"n":1}`))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusInternalServerError {
				t.Fatalf("got %d %q; want 500", res.StatusCode, body)
			}
			for _, k := range []string{"Content-Encoding", "Cache-Control"} {
				if v := res.Header.Get(k); v != "" {
					t.Errorf("%s %q on the error answer; want none (the failed reply's)", k, v)
				}
			}
			if ct := res.Header.Get("Content-Type"); ct != plain {
				t.Errorf("Content-Type %q; want %q", ct, plain)
			}
			if v := res.Header.Get("X-Middleware"); v != "kept" {
				t.Errorf("X-Middleware %q; want the middleware's, kept", v)
			}
		})
	}
}
