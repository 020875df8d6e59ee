package jobs_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/troupe-go/troupe/jobs"
)

// clientCalls are every call of a Client that reads one JSON answer, on
// job "x".
func clientCalls(t *testing.T, cl *jobs.Client) map[string]func() error {
	ctx := bg(t)
	return map[string]func() error{
		"Call":      func() error { _, err := cl.Host("a0").Call(ctx, "echo", "x"); return err },
		"Status":    func() error { _, err := cl.Job("x").Status(ctx); return err },
		"Info":      func() error { _, err := cl.Job("x").Info(ctx); return err },
		"Args":      func() error { _, err := cl.Job("x").Args(ctx); return err },
		"Result":    func() error { _, err := cl.Job("x").Result(ctx, false); return err },
		"Cancel":    func() error { _, err := cl.Job("x").Cancel(ctx); return err },
		"List":      func() error { _, err := cl.List(ctx, jobs.Filter{}); return err },
		"Collected": func() error { _, err := cl.Job("x").Collected(ctx); return err },
		"Follow": func() error {
			var last error
			for _, err := range cl.Job("x").Follow(ctx) {
				last = err
			}
			return last
		},
	}
}

// TestClientBadResponse: an answer that no troupe jobs server sends — a
// 2xx that is not JSON, or JSON without the fields of its route's answer
// (null, {}, another route's), or an error status without a troupe error
// body (a proxy's page, a load balancer's bare 503) — is an error
// wrapping ErrBadResponse that names the status and quotes the start of
// the body (bounded), and no *RemoteError: a procedure's own failure is
// one of type "error", and a bare 503 or 404 says nothing of the
// dispatcher (not ErrClosed, not ErrNotFound). They were *RemoteErrors
// of type "error", ErrClosed and ErrNotFound, or no error at all (a
// Status or List answered null or {}).
func TestClientBadResponse(t *testing.T) {
	page := "<html>" + strings.Repeat("welcome to the proxy ", 500) + "</html>"
	answers := []struct {
		name string
		code int
		body string
		not  error // a sentinel the error must not match
	}{
		{"html 200", 200, page, nil},
		{"null", 200, "null", nil},
		{"empty object", 200, "{}", nil},
		{"another route's", 200, `{"jobs":[]}`, nil},
		{"bare 503", 503, "Service Unavailable", jobs.ErrClosed},
		{"empty 503", 503, "", jobs.ErrClosed},
		{"bare 404", 404, "404 page not found", jobs.ErrNotFound},
		{"bare 502", 502, page, nil},
		{"untyped 500", 500, `{"message":"x"}`, nil},
	}
	for _, a := range answers {
		t.Run(a.name, func(t *testing.T) {
			mux := http.NewServeMux()
			mux.HandleFunc("/jobs/", func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/jobs/" && r.Method == http.MethodGet && a.name == "another route's" {
					_, _ = io.WriteString(w, `{"id":"x","state":"done"}`) // a job, not a list
					return
				}
				w.WriteHeader(a.code)
				_, _ = io.WriteString(w, a.body)
			})
			cl := hostile(t, mux)
			for name, call := range clientCalls(t, cl) {
				err := call()
				var re *jobs.RemoteError
				switch {
				case !errors.Is(err, jobs.ErrBadResponse):
					t.Errorf("%s: got %T %v; want ErrBadResponse", name, err, err)
				case errors.As(err, &re):
					t.Errorf("%s: got %v, a *RemoteError of type %q; want none", name, err, re.Type)
				case a.not != nil && errors.Is(err, a.not):
					t.Errorf("%s: got %v, matching %v", name, err, a.not)
				case !strings.Contains(err.Error(), fmt.Sprint(a.code)):
					t.Errorf("%s: got %v; want the status %d named", name, err, a.code)
				case len(err.Error()) > 512:
					t.Errorf("%s: an error of %d bytes; want the body's start only", name, len(err.Error()))
				}
			}
		})
	}
}
