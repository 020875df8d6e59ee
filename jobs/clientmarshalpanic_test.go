package jobs_test

import (
	"context"
	"errors"
	"testing"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/jobs"
)

// TestClientCallMarshalPanic: RemoteHost.Call encodes its args as JSON
// on its caller's goroutine; args whose MarshalJSON panics are args that
// do not encode (ErrBadArgs, carrying the *actor.PanicError), as they
// are for the dispatcher's Submit (TestMarshalPanic), not a panic in
// Call's caller. Nothing is sent: the URL reaches no server.
func TestClientCallMarshalPanic(t *testing.T) {
	c, err := jobs.NewClient("http://127.0.0.1:1/jobs")
	if err != nil {
		t.Fatal(err)
	}
	var callErr error
	func() {
		defer func() {
			if v := recover(); v != nil {
				t.Fatalf("Call panicked: %v; want ErrBadArgs", v)
			}
		}()
		_, callErr = c.Host("b").Call(context.Background(), "touchy_result", touchy("bad"))
	}()
	var pe *actor.PanicError
	if !errors.Is(callErr, jobs.ErrBadArgs) || !errors.As(callErr, &pe) {
		t.Fatalf("Call: got %v; want ErrBadArgs wrapping a *actor.PanicError", callErr)
	}
}
