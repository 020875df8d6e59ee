package jobs_test

import (
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/troupe-go/troupe/internal/testkit"
	"github.com/troupe-go/troupe/jobs"
)

// TestHTTPAuthorizePanic: an authorization hook that panics is answered
// (500, a jobs error of type "panic" that a Client reads), not a
// connection cut by net/http's recovery; the unauthorized client is not
// shown the panic's value or stack, which go, with the hook's name, to
// the http.Server's ErrorLog (where net/http logs a handler's panic).
func TestHTTPAuthorizePanic(t *testing.T) {
	e := newEnv(t, 1)
	mux := http.NewServeMux()
	mux.Handle("/jobs/", jobs.Handler(e.d, jobs.WithAuthorize(func(*http.Request) error {
		panic("hook boom: token s3cr3t")
	})))
	srv := httptest.NewUnstartedServer(mux)
	var logged testkit.LockedBuffer
	srv.Config.ErrorLog = log.New(&logged, "", 0)
	srv.Start()
	tr := &http.Transport{}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		srv.Close()
	})
	hc := &http.Client{Transport: tr}
	res, err := hc.Get(srv.URL + "/jobs/")
	if err != nil {
		t.Fatalf("GET: %v; want an answer", err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 500 || errType(b) != "panic" || strings.Contains(string(b), "s3cr3t") {
		t.Fatalf("got %d %s; want 500, type panic, without the panic's value", res.StatusCode, b)
	}
	if l := logged.String(); !strings.Contains(l, "jobs.authorize") || !strings.Contains(l, "s3cr3t") || !strings.Contains(l, "goroutine") {
		t.Fatalf("ErrorLog: got %q; want the hook's panic, its value and its stack", l)
	}
	cl, err := jobs.NewClient(srv.URL+"/jobs", jobs.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	_, err = cl.List(bg(t), jobs.Filter{})
	var re *jobs.RemoteError
	if !errors.As(err, &re) || re.Type != "panic" || errors.Is(err, jobs.ErrBadResponse) {
		t.Fatalf("Client.List: got %T %v; want a *RemoteError of type panic", err, err)
	}
	if n := len(e.d.List(jobs.Filter{})); n != 0 {
		t.Fatalf("jobs: got %d; want 0", n)
	}
}
