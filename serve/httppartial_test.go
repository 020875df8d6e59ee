package serve_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	"github.com/troupe-go/troupe/serve"
)

// An encode that fails after it wrote part of the reply must not leave
// the client a 200 with a body that looks whole: the response is aborted
// (the client sees the connection end before a complete response), as
// net/http's reverse proxy does for a body that fails midway.
func TestMethodEncodeFailsMidway(t *testing.T) {
	rt := testkit.NewRuntime(t)
	acct, err := actor.Spawn(rt, &Account{})
	if err != nil {
		t.Fatal(err)
	}
	for _, flush := range []bool{false, true} {
		encode := func(w http.ResponseWriter, n int) error {
			io.WriteString(w, `{"balance": `)
			if flush {
				w.(http.Flusher).Flush()
			}
			return errors.New("encode failed midway")
		}
		srv := httptest.NewServer(serve.Method(Deposit, serve.To(acct), serve.DecodeJSON[deposit], encode))
		res, err := http.Post(srv.URL, "application/json", strings.NewReader(`{"n": 3}`))
		if err == nil {
			b, rerr := io.ReadAll(res.Body)
			res.Body.Close()
			if rerr == nil {
				t.Errorf("flush %t: got %d %q, complete; want the response aborted", flush, res.StatusCode, b)
			}
		}
		srv.Close()
	}
}
