package serve_test

import (
	"testing"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	"github.com/troupe-go/troupe/serve"
	"net/http/httptest"
)

// DecodeJSON decodes one JSON value: a body with more after it (a second
// value, garbage) is bad input, answered 400, and the call does not run.
// Trailing white space is fine.
func TestDecodeJSONTrailingData(t *testing.T) {
	rt := testkit.NewRuntime(t)
	acct, err := actor.Spawn(rt, &Account{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(serve.Method(Deposit, serve.To(acct), serve.DecodeJSON[deposit], serve.EncodeJSON[int]))
	defer srv.Close()
	for _, tc := range []struct {
		body string
		code int
	}{
		{`{"n": 1}{"n": 2}`, 400},
		{`{"n": 1} junk`, 400},
		{"{\"n\": 1}\n\t ", 200},
	} {
		if code, _, body := post(t, srv.URL, tc.body); code != tc.code {
			t.Errorf("body %q: got %d %q; want %d", tc.body, code, body, tc.code)
		}
	}
}
