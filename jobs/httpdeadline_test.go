package jobs_test

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
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

// TestHTTPSecondsOverflow: the largest number of seconds the HTTP face
// takes, float64(math.MaxInt64)/1e9 (what a Client sends for
// MaxExec(math.MaxInt64)), is 2^63 ns: it must be the largest duration,
// not one wrapped to -2^63 ns (then 1 ns), which expired the job at once.
func TestHTTPSecondsOverflow(t *testing.T) {
	e := newEnv(t, 1)
	srv, c := e.server(t)
	big := strconv.FormatFloat(math.MaxInt64/float64(time.Second), 'g', -1, 64)
	for _, opt := range []string{"max_exec_time", "timeout"} {
		body := `{"host":"a0","procedure":"add","args":{"A":1,"B":2},"` + opt + `":` + big + `}`
		code, b := call(t, c, "POST", srv.URL+"/jobs/", body)
		var st jobs.Status
		if code != 201 || json.Unmarshal(b, &st) != nil {
			t.Fatalf("submit %s: got %d %s; want 201", body, code, b)
		}
		j, err := e.d.Job(st.ID)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := result(t, j); err != nil || v != 3 {
			t.Fatalf("%s %s s: got %v, %v; want 3, <nil>", opt, big, v, err)
		}
	}
	cl, err := jobs.NewClient(srv.URL+"/jobs", jobs.WithHTTPClient(c))
	if err != nil {
		t.Fatal(err)
	}
	rj, err := cl.Host("a0", jobs.MaxExec(math.MaxInt64)).Call(context.Background(), "add", pair{1, 2})
	if err != nil {
		t.Fatalf("Client with MaxExec(math.MaxInt64): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if v, err := rj.Result(ctx, true); err != nil || string(v) != "3" {
		t.Fatalf("Client with MaxExec(math.MaxInt64): got %s, %v; want 3, <nil>", v, err)
	}
}
