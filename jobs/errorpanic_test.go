package jobs_test

import (
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/jobs"
)

// nilErr is an error type whose Error method needs a non-nil receiver.
type nilErr struct{ why string }

func (e *nilErr) Error() string { return e.why }

// typedNil returns a nil *nilErr as its error: a non-nil error (Go's
// typed-nil gotcha) whose Error method panics.
var typedNil = actor.NewMethod("typed_nil", func(_ *agent, _ *actor.Ctx, _ int) (int, error) {
	var e *nilErr
	return 0, e
})

// TestErrorMethodPanic: a job whose error's Error method panics (user
// code, run as the dispatcher puts the error on the wire: Remote) is
// answered with an error naming that panic: not, over HTTP, a connection
// that net/http cuts without an answer, nor, with a backend, a panic on
// the job's goroutine as its end is reported (which would crash the
// node), as for a value whose MarshalJSON panics (TestMarshalPanic).
func TestErrorMethodPanic(t *testing.T) {
	e := newEnv(t, 1)
	if err := jobs.Register(e.d, jobs.Ref("b", e.hosts[0]), typedNil); err != nil {
		t.Fatal(err)
	}
	j := e.submit(t, "b", "typed_nil", 0, jobs.ID("n"))
	_, _ = result(t, j)
	mux := http.NewServeMux()
	mux.Handle("/jobs/", jobs.Handler(e.d))
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	defer srv.Close()
	res, err := http.Get(srv.URL + "/jobs/n/result")
	if err != nil {
		t.Fatalf("GET /jobs/n/result: %v; want an answer", err)
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || res.StatusCode != 200 || !strings.Contains(string(b), "nilErr") || !strings.Contains(string(b), "panicked") {
		t.Fatalf("GET /jobs/n/result: %d %s, %v; want 200 with an error naming the panic of *nilErr's Error", res.StatusCode, b, err)
	}

	// With a backend: the end is encoded for the store on the job's goroutine.
	end := execEnd(t, func(d *jobs.Dispatcher, h jobs.Host[*agent]) error { return jobs.Register(d, h, typedNil) },
		jobs.Record{ID: "x", Host: "h", Procedure: "typed_nil", Args: json.RawMessage(`0`), State: jobs.Running})
	if end.State != jobs.Failed || end.Error == nil || !strings.Contains(end.Error.Message, "panicked") {
		t.Fatalf("backend record: got %s, %+v; want failed with an error naming the panic", end.State, end.Error)
	}
}
