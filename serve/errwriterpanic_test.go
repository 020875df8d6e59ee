package serve_test

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	"github.com/troupe-go/troupe/serve"
)

// A panic in the error writer (WithErrorWriter: user code on net/http's
// goroutine) that wrote nothing is answered 500 by the default writer,
// and logged, as a *actor.PanicError "serve.writeError" with its stack
// and the error it was writing, to the http.Server's ErrorLog. It used to
// reach net/http, which cut the connection: no answer. One that wrote
// first goes on to net/http, which cuts the response (the client does not
// take the part for the whole) and logs it, as encode's.
func TestErrorWriterPanic(t *testing.T) {
	rt := testkit.NewRuntime(t)
	acct, err := actor.Spawn(rt, &Account{})
	if err != nil {
		t.Fatal(err)
	}
	badDecode := func(*http.Request) (deposit, error) { return deposit{}, io.ErrUnexpectedEOF }
	mux := http.NewServeMux()
	mux.Handle("POST /method", serve.Method(Deposit, serve.To(acct), badDecode, serve.EncodeJSON[int],
		serve.WithErrorWriter(func(http.ResponseWriter, *http.Request, int, error) { panic("writer boom") })))
	mux.Handle("POST /half", serve.Method(Deposit, serve.To(acct), badDecode, serve.EncodeJSON[int],
		serve.WithErrorWriter(func(w http.ResponseWriter, _ *http.Request, code int, _ error) {
			w.Header().Set("Content-Length", "100")
			w.WriteHeader(code)
			_, _ = w.Write([]byte("half"))
			w.(http.Flusher).Flush()
			panic("writer boom after writing")
		})))
	srv := httptest.NewUnstartedServer(mux)
	var logged testkit.LockedBuffer
	srv.Config.ErrorLog = log.New(&logged, "", 0)
	srv.Start()
	defer srv.Close()

	res, err := http.Post(srv.URL+"/method", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatalf("got %v; want a 500", err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusInternalServerError {
		t.Fatalf("got %d %q; want 500", res.StatusCode, body)
	}
	if l := logged.String(); !strings.Contains(l, "serve.writeError") || !strings.Contains(l, "writer boom") ||
		!strings.Contains(l, io.ErrUnexpectedEOF.Error()) || !strings.Contains(l, "goroutine") {
		t.Fatalf("ErrorLog: got %q; want the writer's panic, the error it wrote and the stack", l)
	}

	res, err = http.Post(srv.URL+"/half", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if body, err := io.ReadAll(res.Body); err == nil {
		t.Fatalf("got %d %q, whole; want the body cut", res.StatusCode, body)
	}
}
