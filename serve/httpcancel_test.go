package serve_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	"github.com/troupe-go/troupe/serve"
)

// A request whose Context a middleware cancels while its client is
// still there (examples/web ends its streams so at shutdown) must not
// look answered: net/http ends a handler that returns as a whole
// response, so an unanswered call was a 200 with an empty body and a
// stream cut short ended as cleanly as a finished one (JSON lines'
// clean end; SSE's end without its "error" event). The response is
// aborted instead: the client sees the connection end.
func TestCancelledRequestAborts(t *testing.T) {
	rt := testkit.NewRuntime(t)
	acct, err := actor.Spawn(rt, &Account{})
	if err != nil {
		t.Fatal(err)
	}
	lg := &Log{open: make(chan context.Context, 1)}
	logRef, err := actor.Spawn(rt, lg)
	if err != nil {
		t.Fatal(err)
	}
	type cancelKey struct{}
	cancelOf := func(r *http.Request) context.CancelFunc { return r.Context().Value(cancelKey{}).(context.CancelFunc) }
	cancelling := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithCancel(r.Context())
			defer cancel()
			h.ServeHTTP(w, r.WithContext(context.WithValue(ctx, cancelKey{}, cancel)))
		})
	}
	mux := http.NewServeMux()
	// The Target cancels: the call is not made.
	mux.Handle("POST /method", cancelling(serve.Method(Deposit, func(r *http.Request) (*actor.Ref[*Account], error) {
		cancelOf(r)()
		return acct, nil
	}, serve.DecodeJSON[deposit], serve.EncodeJSON[int])))
	// The stream's request is cancelled after its first item.
	var cancels = make(chan context.CancelFunc, 1)
	toLog := func(r *http.Request) (*actor.Ref[*Log], error) {
		cancels <- cancelOf(r)
		return logRef, nil
	}
	mux.Handle("GET /sse", cancelling(serve.SSE(Tail, toLog, queryReq, encodeLine)))
	mux.Handle("GET /lines", cancelling(serve.JSONLines(Tail, toLog, queryReq)))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	t.Run("method", func(t *testing.T) {
		res, err := http.Post(srv.URL+"/method", "application/json", strings.NewReader(`{"n": 1}`))
		if err == nil {
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			t.Fatalf("got %d %q; want the response aborted", res.StatusCode, b)
		}
	})
	for _, route := range []string{"/sse", "/lines"} {
		t.Run(route, func(t *testing.T) {
			res, err := http.Get(srv.URL + route + q(`{"n": 1, "open": true}`))
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			br := bufio.NewReader(res.Body)
			if _, err := br.ReadString('\n'); err != nil {
				t.Fatal(err)
			}
			<-lg.open
			(<-cancels)()
			if rest, err := io.ReadAll(br); err == nil {
				t.Fatalf("after the cancel: read %q, then a clean end; want the response aborted", rest)
			}
		})
	}
}
