package serve_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	"github.com/troupe-go/troupe/serve"
)

// A request whose Context has a deadline of its own (a middleware's
// timeout, say) and reaches it during the call is answered 504, as a
// call past WithTimeout is: the client is still there. Only a cancelled
// request (the client went away) is answered nothing. It used to be
// answered nothing, which net/http sends as 200 OK with an empty body.
func TestMethodRequestDeadline(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := testkit.NewRuntime(t)
		acct, err := actor.Spawn(rt, &Account{gate: make(chan struct{})}) // Deposit waits for its Context
		if err != nil {
			t.Fatal(err)
		}
		h := serve.Method(Deposit, serve.To(acct), serve.DecodeJSON[deposit], serve.EncodeJSON[int])
		withDeadline := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx, cancel := context.WithTimeout(r.Context(), time.Second)
			defer cancel()
			h.ServeHTTP(w, r.WithContext(ctx))
		})
		rec := httptest.NewRecorder()
		withDeadline.ServeHTTP(rec, httptest.NewRequest("POST", "/", strings.NewReader(`{"n": 1}`)))
		if rec.Code != http.StatusGatewayTimeout {
			t.Fatalf("got %d %q (written: %t); want 504", rec.Code, rec.Body.String(), rec.Flushed || rec.Body.Len() > 0)
		}
	})
}
