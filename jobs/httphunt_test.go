package jobs_test

import (
	"errors"
	"net/http"
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
