package jobs_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/jobs"
)

var (
	// untyped returns a *RemoteError of its own without a type.
	untyped = actor.NewMethod("untyped", func(_ *agent, _ *actor.Ctx, _ struct{}) (int, error) {
		return 0, &jobs.RemoteError{Message: "no type of mine"}
	})
	// nilRemote returns a nil *RemoteError as a non-nil error.
	nilRemote = actor.NewMethod("nil_remote", func(_ *agent, _ *actor.Ctx, _ struct{}) (int, error) {
		var re *jobs.RemoteError
		return 0, re
	})
)

// TestHTTPRemoteErrorWithoutType: a procedure (or the authorization
// hook) may return a *RemoteError of its own; one without a type, or a
// nil one, must still travel as a jobs error that a Client reads (a
// typed error, not ErrBadResponse).
func TestHTTPRemoteErrorWithoutType(t *testing.T) {
	e := newEnv(t, 1)
	h := jobs.Ref("b", e.hosts[0])
	if err := errors.Join(jobs.Register(e.d, h, untyped), jobs.Register(e.d, h, nilRemote)); err != nil {
		t.Fatal(err)
	}
	cl := e.client(t, nil)
	for _, proc := range []string{"untyped", "nil_remote"} {
		j, err := cl.Host("b").Call(bg(t), proc, struct{}{})
		if err != nil {
			t.Fatalf("%s: Call: %v", proc, err)
		}
		_, err = j.Result(bg(t), true)
		var re *jobs.RemoteError
		if err == nil || errors.Is(err, jobs.ErrBadResponse) || !errors.As(err, &re) || re.Type == "" {
			t.Errorf("%s: Result: got %T %v; want a *RemoteError with a type", proc, err, err)
		}
	}
	// The authorization hook's.
	cl = e.client(t, []jobs.HandlerOption{jobs.WithAuthorize(func(*http.Request) error {
		return &jobs.RemoteError{Message: "go away"}
	})})
	if _, err := cl.List(bg(t), jobs.Filter{}); errors.Is(err, jobs.ErrBadResponse) || !errors.Is(err, jobs.ErrUnauthorized) {
		t.Errorf("a hook's untyped RemoteError: List got %T %v; want ErrUnauthorized", err, err)
	}
}

// TestHTTPRequestContextCancelled: a request's Context cancelled while
// its client still waits (a server's BaseContext cancelled for a
// shutdown, a middleware's cancel) is not the client gone: a Result
// that waits still answers (not_finished), as a deadline does, not an
// empty 200 that a Client takes for no jobs server's answer; and an
// output still ends with its end line.
func TestHTTPRequestContextCancelled(t *testing.T) {
	e := newEnv(t, 2)
	base, stop := context.WithCancel(context.Background())
	defer stop()
	srv := httptest.NewUnstartedServer(http.StripPrefix("", jobs.Handler(e.d)))
	srv.Config.BaseContext = func(net.Listener) context.Context { return base }
	srv.Start()
	tr := &http.Transport{}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		srv.Close()
	})
	cl, err := jobs.NewClient(srv.URL+"/jobs", jobs.WithHTTPClient(&http.Client{Transport: tr}))
	if err != nil {
		t.Fatal(err)
	}
	g := newGate()
	defer close(g.release)
	j := e.submit(t, "a0", "hold", g)
	<-g.entered
	sj := e.submit(t, "a1", "silent", struct{}{})
	type answer struct {
		err   error
		items int
	}
	res, out := make(chan answer, 1), make(chan answer, 1)
	go func() {
		_, err := cl.Job(j.ID()).Result(bg(t), true)
		res <- answer{err: err}
	}()
	go func() {
		n := 0
		for _, err := range cl.Job(sj.ID()).Follow(bg(t)) {
			if err != nil {
				out <- answer{err, n}
				return
			}
			if n++; n == 1 {
				out <- answer{nil, n} // reading: now cancel
			}
		}
		out <- answer{nil, n}
	}()
	<-out
	// Both requests are being served (the follow has its first item;
	// the result's wait is polled for).
	stop()
	if a := <-res; !errors.Is(a.err, jobs.ErrNotFinished) || errors.Is(a.err, jobs.ErrBadResponse) {
		t.Errorf("Result(wait) as the request's Context is cancelled: got %v; want ErrNotFinished", a.err)
	}
	if a := <-out; errors.Is(a.err, jobs.ErrCutShort) || a.err == nil {
		t.Errorf("Follow as the request's Context is cancelled: got %v; want its end line's error, not cut short", a.err)
	}
}
