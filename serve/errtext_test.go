package serve_test

import (
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

// nilErr is an error type whose Error method needs a non-nil receiver.
type nilErr struct{ why string }

func (e *nilErr) Error() string { return e.why }

// typedNilEnd sends one item, then ends with a nil *nilErr as its error:
// a non-nil error (Go's typed-nil gotcha) whose Error method panics.
var typedNilEnd = actor.NewStream("typed_nil_end", func(_ *Log, _ *actor.Ctx, _ struct{}, out *actor.Out[string]) error {
	if err := out.Send("ok"); err != nil {
		return err
	}
	var e *nilErr
	return e
})

// TestStreamErrorTextPanics: an error whose Error method panics (a
// stream's end, or an SSE encode's error) is written as a text naming
// that panic, in the stream's own error event or line, rather than
// panicking on net/http's goroutine after the 200, which cut the stream
// with neither its error nor its end (the client saw an unexpected EOF,
// and an EventSource would reconnect).
func TestStreamErrorTextPanics(t *testing.T) {
	rt := testkit.NewRuntime(t)
	ref, err := actor.Spawn(rt, &Log{})
	if err != nil {
		t.Fatal(err)
	}
	noBody := func(*http.Request) (struct{}, error) { return struct{}{}, nil }
	encode := func(v string) ([]byte, error) {
		if v == "ok" {
			var e *nilErr
			return nil, e
		}
		return []byte(v), nil
	}
	for _, c := range []struct {
		name string
		h    http.Handler
		want []string
	}{
		{"SSE", serve.SSE(typedNilEnd, serve.To(ref), noBody, encode), []string{"event: skipped", "event: error", "nilErr"}},
		{"JSONLines", serve.JSONLines(typedNilEnd, serve.To(ref), noBody), []string{`"ok"`, `{"error":`, "nilErr"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewUnstartedServer(c.h)
			srv.Config.ErrorLog = log.New(io.Discard, "", 0)
			srv.Start()
			defer srv.Close()
			res, err := http.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(res.Body)
			res.Body.Close()
			if err != nil {
				t.Fatalf("reading the stream: %v after %q; want it whole, ending with its error", err, b)
			}
			for _, w := range c.want {
				if !strings.Contains(string(b), w) {
					t.Fatalf("got %q; want %q in it", b, w)
				}
			}
		})
	}
}
