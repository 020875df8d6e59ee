package serve_test

import (
	"errors"
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

// A panic in a route's Target, decode or encode (user code on net/http's
// goroutine, not on an actor's turn) is answered 500 and reported to the
// error writer as a *actor.PanicError naming the function, as a panic in
// the handler is. It used to reach net/http, which cut the connection (the
// client saw no answer) and logged it to the http.Server's ErrorLog. A
// panic in encode after it wrote is the response's abort: the client sees
// the body cut, not a 200 that looks whole. panic(http.ErrAbortHandler)
// stays net/http's abort.
func TestMethodUserPanics(t *testing.T) {
	rt := testkit.NewRuntime(t)
	acct, err := actor.Spawn(rt, &Account{})
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 1)
	onError := serve.WithErrorWriter(func(w http.ResponseWriter, _ *http.Request, code int, err error) {
		errs <- err
		http.Error(w, err.Error(), code)
	})
	panicking := func(*http.Request) (*actor.Ref[*Account], error) { panic("target boom") }
	badDecode := func(*http.Request) (deposit, error) { panic("decode boom") }
	badEncode := func(http.ResponseWriter, int) error { panic("encode boom") }
	halfEncode := func(w http.ResponseWriter, _ int) error {
		w.Header().Set("Content-Length", "100")
		_, _ = w.Write([]byte("half"))
		w.(http.Flusher).Flush()
		panic("encode boom after writing")
	}
	abortDecode := func(*http.Request) (deposit, error) { panic(http.ErrAbortHandler) }
	mux := http.NewServeMux()
	mux.Handle("POST /target", serve.Method(Deposit, panicking, serve.DecodeJSON[deposit], serve.EncodeJSON[int], onError))
	mux.Handle("POST /decode", serve.Method(Deposit, serve.To(acct), badDecode, serve.EncodeJSON[int], onError))
	mux.Handle("POST /encode", serve.Method(Deposit, serve.To(acct), serve.DecodeJSON[deposit], badEncode, onError))
	mux.Handle("POST /half", serve.Method(Deposit, serve.To(acct), serve.DecodeJSON[deposit], halfEncode, onError))
	mux.Handle("POST /abort", serve.Method(Deposit, serve.To(acct), abortDecode, serve.EncodeJSON[int], onError))
	mux.Handle("GET /sse-target", serve.SSE(Tail, func(*http.Request) (*actor.Ref[*Log], error) { panic("target boom") },
		queryReq, encodeLine, onError))
	mux.Handle("GET /sse-decode", serve.SSE(Tail, func(*http.Request) (*actor.Ref[*Log], error) { return nil, nil },
		func(*http.Request) (tailReq, error) { panic("decode boom") }, encodeLine, onError))
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the cut requests' logs
	srv.Start()
	defer srv.Close()

	for _, tt := range []struct{ name, method, path, fn string }{
		{"target", "POST", "/target", "serve.target"},
		{"decode", "POST", "/decode", "serve.decode"},
		{"encode", "POST", "/encode", "serve.encode"},
		{"sse target", "GET", "/sse-target", "serve.target"},
		{"sse decode", "GET", "/sse-decode", "serve.decode"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(`{"n": 1}`))
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("got %v; want a 500", err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusInternalServerError || !strings.Contains(string(body), "boom") {
				t.Fatalf("got %d %q; want 500 naming the panic", res.StatusCode, body)
			}
			var pe *actor.PanicError
			if err := <-errs; !errors.As(err, &pe) || pe.Method != tt.fn || len(pe.Stack) == 0 {
				t.Fatalf("error writer got %v; want a *actor.PanicError of %s with its stack", err, tt.fn)
			}
		})
	}
	t.Run("encode after writing", func(t *testing.T) {
		res, err := http.Post(srv.URL+"/half", "application/json", strings.NewReader(`{"n": 1}`))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		if body, err := io.ReadAll(res.Body); err == nil {
			t.Fatalf("got %d %q, whole; want the body cut", res.StatusCode, body)
		}
	})
	t.Run("abort", func(t *testing.T) {
		res, err := http.Post(srv.URL+"/abort", "application/json", strings.NewReader(`{"n": 1}`))
		if err == nil {
			res.Body.Close()
			t.Fatalf("got %d; want the connection cut", res.StatusCode)
		}
	})
	select {
	case err := <-errs:
		t.Fatalf("error writer got %v after an abort; want nothing", err)
	default:
	}
}

// touchy is an item whose MarshalJSON panics for "bad".
type touchy string

func (t touchy) MarshalJSON() ([]byte, error) {
	if t == "bad" {
		panic("marshal boom")
	}
	return []byte(`"` + t + `"`), nil
}

// Touchy streams its request's items, then ends.
var Touchy = actor.NewStream("touchy", func(_ *Log, _ *actor.Ctx, items []touchy, out *actor.Out[touchy]) error {
	for _, it := range items {
		_ = out.Send(it)
	}
	return out.Close(nil)
})

// A panic in JSONLines' marshalling of an item (the item's MarshalJSON)
// is that item's error: the stream ends with an {"error"} line naming the
// panic. It used to reach net/http, which cut the connection.
func TestJSONLinesMarshalPanic(t *testing.T) {
	rt := testkit.NewRuntime(t)
	ref, err := actor.Spawn(rt, &Log{})
	if err != nil {
		t.Fatal(err)
	}
	items := func(*http.Request) ([]touchy, error) { return []touchy{"ok", "bad", "after"}, nil }
	srv := httptest.NewUnstartedServer(serve.JSONLines(Touchy, serve.To(ref), items))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	defer srv.Close()
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	want := "{\"seq\":0,\"value\":\"ok\"}\n{\"error\":\"actor: serve.encode panicked: marshal boom\"}\n"
	if err != nil || string(body) != want {
		t.Fatalf("got %q, %v; want %q", body, err, want)
	}
}
