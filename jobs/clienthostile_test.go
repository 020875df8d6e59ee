package jobs_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/troupe-go/troupe/jobs"
)

// hostile serves mux on loopback and returns a client of its /jobs.
func hostile(t *testing.T, mux *http.ServeMux, copts ...jobs.ClientOption) *jobs.Client {
	t.Helper()
	srv := httptest.NewServer(mux)
	tr := &http.Transport{}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		srv.Close()
	})
	cl, err := jobs.NewClient(srv.URL+"/jobs", append([]jobs.ClientOption{jobs.WithHTTPClient(&http.Client{Transport: tr})}, copts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// TestClientFollowOddLine: a follow whose response has a line that is
// neither an item nor an end nor an error ({}, null, an end:false
// without error, which the server only sends without follow), then
// ends, is cut short: the loop ended cleanly, as if the job had ended.
func TestClientFollowOddLine(t *testing.T) {
	lines := map[string]string{
		"empty object": `{}`,
		"null":         `null`,
		"end false":    `{"end":false,"state":"running"}`,
	}
	mux := http.NewServeMux()
	for name, l := range lines {
		mux.HandleFunc("GET /jobs/"+name+"/output", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = io.WriteString(w, `{"seq":0,"value":"a"}`+"\n"+l+"\n")
		})
	}
	cl := hostile(t, mux)
	for name := range lines {
		n := 0
		var last error
		for _, err := range cl.Job(name).Follow(bg(t)) {
			if err != nil {
				last = err
				break
			}
			n++
		}
		if n != 1 || !errors.Is(last, jobs.ErrCutShort) {
			t.Errorf("%s: %d items, then %v; want 1, then ErrCutShort", name, n, last)
		}
		// Without follow, end:false with a state is a job still running;
		// a line without a state is not.
		items, err := cl.Job(name).Collected(bg(t))
		if name == "end false" {
			if len(items) != 1 || err != nil {
				t.Errorf("Collected of %s: %d items, %v; want 1, nil", name, len(items), err)
			}
		} else if len(items) != 1 || !errors.Is(err, jobs.ErrCutShort) {
			t.Errorf("Collected of %s: %d items, %v; want 1, ErrCutShort", name, len(items), err)
		}
	}
}

// TestClientCallRedirected: a Call whose POST a server redirects with
// 301, 302 or 303 (net/http then sends a GET to the new place, without
// the body: GET /jobs/ is the list) must not return a job: nothing was
// submitted. A 307 or 308 keeps the method and the body, and submits.
func TestClientCallRedirected(t *testing.T) {
	e := newEnv(t, 1)
	h := jobs.Handler(e.d)
	for _, code := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		mux := http.NewServeMux()
		mux.Handle("/jobs/", h)
		mux.HandleFunc("/old/", func(w http.ResponseWriter, r *http.Request) {
			u := *r.URL // the query too: Result's wait=true
			u.Path = "/jobs/" + r.URL.Path[len("/old/"):]
			http.Redirect(w, r, u.RequestURI(), code)
		})
		srv := httptest.NewServer(mux)
		tr := &http.Transport{}
		t.Cleanup(func() {
			tr.CloseIdleConnections()
			srv.Close()
		})
		cl, err := jobs.NewClient(srv.URL+"/old", jobs.WithHTTPClient(&http.Client{Transport: tr}))
		if err != nil {
			t.Fatal(err)
		}
		j, err := cl.Host("a0").Call(bg(t), "echo", "x")
		if code == http.StatusTemporaryRedirect || code == http.StatusPermanentRedirect {
			if err != nil {
				t.Errorf("%d: Call: %v", code, err)
				continue
			}
			if v, err := cl.Job(j.ID()).Result(bg(t), true); err != nil || string(v) != `"x!"` {
				t.Errorf("%d: Result: %s, %v", code, v, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%d: Call returned job %q and no error; want an error (nothing was submitted)", code, j.ID())
		} else if !errors.Is(err, jobs.ErrMethodNotAllowed) {
			t.Errorf("%d: Call: got %v; want ErrMethodNotAllowed", code, err)
		}
		if _, err := cl.Job("x").Cancel(bg(t)); !errors.Is(err, jobs.ErrMethodNotAllowed) {
			t.Errorf("%d: Cancel: got %v; want ErrMethodNotAllowed", code, err)
		}
	}
}

// TestClientFollowErrorCap: an output request's error answer is read
// within the client's cap, as every other answer: one over it is
// ErrTooLarge, as Status's is. It was read up to 1 MiB whatever the cap.
func TestClientFollowErrorCap(t *testing.T) {
	const max = 1000
	msg := strings.Repeat("a", 4*max)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /jobs/hugeerr/", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNotFound)
		_, _ = io.WriteString(w, `{"type":"not_found","message":"`+msg+`"}`)
	})
	cl := hostile(t, mux, jobs.WithMaxResponse(max))
	var last error
	for _, err := range cl.Job("hugeerr").Follow(bg(t)) {
		last = err
	}
	if !errors.Is(last, jobs.ErrTooLarge) {
		t.Errorf("Follow with a %d-byte error answer (cap %d): got an error of %d bytes; want ErrTooLarge", len(msg), max, len(fmt.Sprint(last)))
	}
	if _, err := cl.Job("hugeerr").Collected(bg(t)); !errors.Is(err, jobs.ErrTooLarge) {
		t.Errorf("Collected of it: got an error of %d bytes; want ErrTooLarge", len(fmt.Sprint(err)))
	}
}

// TestClientCallAnswerWithoutID: a Call whose 2xx answer holds no job id
// ({}, a proxy's page of JSON) returns an error, not a job whose id no
// job can have: it returned job "" and no error. The error is
// ErrBadResponse (it was a *RemoteError of type "error", as a procedure's
// failure is).
func TestClientCallAnswerWithoutID(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /jobs/", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"jobs":[]}`)
	})
	cl := hostile(t, mux)
	j, err := cl.Host("a0").Call(bg(t), "echo", "x")
	if !errors.Is(err, jobs.ErrBadResponse) {
		t.Fatalf("Call answered {\"jobs\":[]}: got job %q, %v; want ErrBadResponse", j.ID(), err)
	}
	if j != nil {
		t.Fatalf("Call answered without an id: got job %q with its error", j.ID())
	}
}

// TestClientAnswerNotJSON: a 2xx answer that is not JSON (a proxy's HTML
// page) is ErrBadResponse, as a non-JSON error answer is; it was the
// decoder's *json.SyntaxError, which no doc names, then a *RemoteError of
// type "error", as a procedure's failure is.
func TestClientAnswerNotJSON(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/jobs/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, `<html>welcome</html>`)
	})
	cl := hostile(t, mux)
	ctx := bg(t)
	calls := map[string]func() error{
		"Call":   func() error { _, err := cl.Host("a0").Call(ctx, "echo", "x"); return err },
		"Status": func() error { _, err := cl.Job("x").Status(ctx); return err },
		"Result": func() error { _, err := cl.Job("x").Result(ctx, false); return err },
		"Cancel": func() error { _, err := cl.Job("x").Cancel(ctx); return err },
		"List":   func() error { _, err := cl.List(ctx, jobs.Filter{}); return err },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, jobs.ErrBadResponse) {
			t.Errorf("%s: got %T %v; want ErrBadResponse", name, err, err)
		}
	}
}
