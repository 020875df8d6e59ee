package serve_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	troupe "github.com/troupe-go/troupe/runtime"
	"github.com/troupe-go/troupe/serve"
)

// panicWith panics with the error its request names: a handler's
// panic(err) on an error of its own calls.
var panicWith = actor.NewMethod("panic-with", func(_ *Account, _ *actor.Ctx, name string) (int, error) {
	panic(panicErrs[name])
})

var panicErrs = map[string]error{
	"not found": fmt.Errorf("lookup: %w", troupe.ErrNotFound),
	"timeout":   fmt.Errorf("inner call: %w", actor.ErrTimeout),
	"stopped":   fmt.Errorf("inner call: %w", actor.ErrStopped),
	"full":      actor.ErrMailboxFull,
	"too large": &http.MaxBytesError{Limit: 1},
	"status":    &serve.StatusError{Code: http.StatusConflict, Err: errors.New("conflict")},
}

// A panic is answered 500, as StatusOf's table says of a *PanicError,
// whatever its value: a handler's panic(err) is its bug, not the error
// err was (a panic on another call's timeout is not a 504 of this one,
// nor on a lookup's ErrNotFound a 404, nor on a full mailbox a 503 with
// Retry-After). StatusOf looked through the *PanicError (its Unwrap
// gives an error value) and answered with the value's status. A
// *StatusError that wraps a panic still gives its Code.
func TestPanicIsInternalError(t *testing.T) {
	rt := testkit.NewRuntime(t)
	ref, err := actor.Spawn(rt, &Account{}, actor.WithSupervision(actor.Supervision{Directive: actor.Resume}))
	if err != nil {
		t.Fatal(err)
	}
	h := serve.Method(panicWith, serve.To(ref), func(r *http.Request) (string, error) {
		return r.URL.Query().Get("err"), nil
	}, serve.EncodeJSON[int])
	for name := range panicErrs {
		t.Run(name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("POST", "/?err="+strings.ReplaceAll(name, " ", "+"), nil)
			h.ServeHTTP(rec, req.WithContext(context.Background()))
			if rec.Code != http.StatusInternalServerError || rec.Header().Get("Retry-After") != "" {
				t.Fatalf("got %d %q, Retry-After %q; want 500 without Retry-After",
					rec.Code, rec.Body.String(), rec.Header().Get("Retry-After"))
			}
		})
	}
	pe := &actor.PanicError{Method: "m", Value: actor.ErrStopped}
	if got := serve.StatusOf(&serve.StatusError{Code: http.StatusBadGateway, Err: pe}); got != http.StatusBadGateway {
		t.Errorf("StatusOf(a *StatusError 502 wrapping a panic) = %d; want 502", got)
	}
	if got := serve.StatusOf(fmt.Errorf("call: %w", pe)); got != http.StatusInternalServerError {
		t.Errorf("StatusOf(a wrapped panic of ErrStopped) = %d; want 500", got)
	}
}
