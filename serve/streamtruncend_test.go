package serve_test

import (
	"context"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	"github.com/troupe-go/troupe/serve"
)

// TruncEnd sends two items and ends its stream with a truncation it met
// reading something else (another stream, a jobs Client's follow): the
// stream's end, not its readers' falling behind.
var TruncEnd = actor.NewStream("trunc_end", func(_ *Log, _ *actor.Ctx, _ int, out *actor.Out[string]) error {
	_ = out.Send("line 0")
	_ = out.Send("line 1")
	return out.Close(&actor.TruncatedError{Oldest: 0})
})

// A stream that ends with a truncation of its own was taken for the
// reader's: the handler resumed from its Oldest, read the same items and
// the same end, and did so for ever, before its headers (spinning, its
// buffer of "truncated" notices growing) until the client gave up. Its
// end is answered as any error end.
func TestStreamEndsWithTruncation(t *testing.T) {
	rt := testkit.NewRuntime(t)
	ref, err := actor.Spawn(rt, &Log{})
	if err != nil {
		t.Fatal(err)
	}
	one := func(*http.Request) (int, error) { return 1, nil }
	mux := http.NewServeMux()
	mux.Handle("GET /sse", serve.SSE(TruncEnd, serve.To(ref), one, func(s string) ([]byte, error) { return []byte(s), nil }))
	mux.Handle("GET /lines", serve.JSONLines(TruncEnd, serve.To(ref), one))
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	t.Cleanup(srv.Close)
	const msg = "actor: stream truncated: the oldest item kept is 0"
	for path, want := range map[string]string{
		"/lines": `{"seq":0,"value":"line 0"}` + "\n" + `{"seq":1,"value":"line 1"}` + "\n" + `{"error":"` + msg + `"}` + "\n",
		"/sse":   "id: 0\ndata: line 0\n\nid: 1\ndata: line 1\n\nevent: error\ndata: " + msg + "\n\n",
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+path, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			cancel()
			t.Fatalf("%s: %v; want an answer", path, err)
		}
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		cancel()
		if err != nil {
			t.Fatalf("%s: body: %v", path, err)
		}
		if res.StatusCode != http.StatusOK || string(b) != want {
			t.Fatalf("%s: got %d %.300q; want 200 %q", path, res.StatusCode, b, want)
		}
	}
}
