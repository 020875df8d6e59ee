package jobs_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/troupe-go/troupe/jobs"
)

// TestHTTPRequestDeadline: a deadline that r's Context has of its own (a
// middleware's timeout) is not a client gone away: the client still
// waits, and gets an answer — a result with not_finished, an output's
// end line with the error — not an empty 200 or a body cut short.
func TestHTTPRequestDeadline(t *testing.T) {
	e := newEnv(t, 1)
	h := jobs.Handler(e.d)
	srv, c := serveHandler(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 100*time.Millisecond)
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	}))
	g := newGate()
	held := e.submit(t, "a0", "hold", g)
	<-g.entered
	defer func() {
		close(g.release)
		_, _ = result(t, held)
	}()

	code, b := call(t, c, "GET", srv.URL+"/jobs/"+held.ID()+"/result?wait=1", "")
	var res struct {
		State jobs.State        `json:"state"`
		Error *jobs.RemoteError `json:"error"`
	}
	if code != 200 || json.Unmarshal(b, &res) != nil || res.State != jobs.Running || res.Error == nil || res.Error.Type != "not_finished" {
		t.Fatalf("result?wait=1 past the request's deadline: got %d %q; want 200 and a not_finished error", code, b)
	}

	code, b = call(t, c, "GET", srv.URL+"/jobs/"+held.ID()+"/output", "")
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var end struct {
		End   *bool             `json:"end"`
		Error *jobs.RemoteError `json:"error"`
	}
	if code != 200 || json.Unmarshal([]byte(lines[len(lines)-1]), &end) != nil || end.End == nil || *end.End || end.Error == nil {
		t.Fatalf("output past the request's deadline: got %d %q; want 200 ending with an end line {end: false, error}", code, b)
	}
}
