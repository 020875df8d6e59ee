package serve_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	"github.com/troupe-go/troupe/serve"
)

// A stream that outlasts WithTimeout, to a client that reads it, ends
// with its error ("error" event, {"error":...} line), as any other end
// but a clean one: not cut. The response's write deadline is the
// timeout's instant, the instant the stream's ctx ends too, so the end
// was written past it and failed: the client read an unexpected EOF,
// which it could not tell from a network failure.
func TestStreamTimeoutEndsWithError(t *testing.T) {
	rt := testkit.NewRuntime(t)
	ref, err := actor.Spawn(rt, &Log{open: make(chan context.Context, 2)})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		h    http.Handler
		end  string
	}{
		{"sse", serve.SSE(Tail, serve.To(ref), queryReq, encodeLine, serve.WithTimeout(time.Second)), "event: error\ndata: "},
		{"lines", serve.JSONLines(Tail, serve.To(ref), queryReq, serve.WithTimeout(time.Second)), `{"error":`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.h)
			defer srv.Close()
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/"+q(`{"n": 1, "open": true}`), nil)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, err := io.ReadAll(res.Body)
			if res.StatusCode != http.StatusOK || err != nil {
				t.Fatalf("got %d %q, %v; want 200 and the body to its end", res.StatusCode, b, err)
			}
			last := string(b)
			if i := strings.LastIndex(strings.TrimSuffix(last, "\n\n"), "\n\n"); tc.name == "sse" && i >= 0 {
				last = last[i+2:]
			} else if i := strings.LastIndex(strings.TrimSuffix(last, "\n"), "\n"); tc.name == "lines" && i >= 0 {
				last = last[i+1:]
			}
			if !strings.HasPrefix(last, tc.end) || !strings.Contains(last, "deadline exceeded") && !strings.Contains(last, "timed out") {
				t.Fatalf("the stream ended with %q (body %q); want %s the timeout's error", last, b, tc.end)
			}
		})
	}
}
