package serve_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	troupe "github.com/troupe-go/troupe/runtime"
	"github.com/troupe-go/troupe/serve"
)

// Account is the HTTP tests' actor.
type Account struct {
	balance int
	gate    chan struct{} // if set, Deposit waits on it (or its Context)
	ran     int
}

type deposit struct {
	N int `json:"n"`
}

var errNegative = errors.New("negative deposit")

var Deposit = actor.NewMethod("deposit", func(a *Account, c *actor.Ctx, d deposit) (int, error) {
	a.ran++
	if a.gate != nil {
		select {
		case <-a.gate:
		case <-c.Context().Done():
			return 0, c.Context().Err()
		}
	}
	switch {
	case d.N < 0:
		return 0, errNegative
	case d.N == 409:
		return 0, &serve.StatusError{Code: http.StatusConflict, Err: errors.New("conflict")}
	case d.N == 666:
		panic("boom")
	}
	a.balance += d.N
	return a.balance, nil
})

var Ran = actor.NewMethod("ran", func(a *Account, _ *actor.Ctx, _ struct{}) (int, error) { return a.ran, nil })

func post(t *testing.T, url, body string) (int, http.Header, string) {
	t.Helper()
	res, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, string(b)
}

// Method over loopback HTTP: the reply, and every error with its status.
func TestMethod(t *testing.T) {
	rt := testkit.NewRuntime(t)
	acct, err := actor.Spawn(rt, &Account{})
	if err != nil {
		t.Fatal(err)
	}
	stopped, _ := actor.Spawn(rt, &Account{})
	_ = stopped.Stop(context.Background())
	mux := http.NewServeMux()
	h := serve.Method(Deposit, serve.To(acct), serve.DecodeJSON[deposit], serve.EncodeJSON[int], serve.WithMaxBody(64))
	mux.Handle("POST /deposit", h)
	mux.Handle("POST /stopped", serve.Method(Deposit, serve.To(stopped), serve.DecodeJSON[deposit], serve.EncodeJSON[int]))
	mux.Handle("POST /nobody", serve.Method(Deposit, func(*http.Request) (*actor.Ref[*Account], error) {
		return troupe.Lookup[*Account](rt, "nobody")
	}, serve.DecodeJSON[deposit], serve.EncodeJSON[int]))
	mux.Handle("POST /unencodable", serve.Method(Deposit, serve.To(acct), serve.DecodeJSON[deposit],
		func(http.ResponseWriter, int) error { return errors.New("cannot encode") }))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	tests := []struct {
		name, path, body string
		code             int
		want             string // the body, or a prefix of it
	}{
		{"reply", "/deposit", `{"n": 5}`, 200, "5\n"},
		{"again", "/deposit", `{"n": 2}`, 200, "7\n"},
		{"bad json", "/deposit", `{"n": `, 400, "unexpected EOF"},
		{"empty body", "/deposit", ``, 400, "EOF"},
		{"body over the cap", "/deposit", `{"n": 1, "pad": "` + strings.Repeat("x", 100) + `"}`, 413, "http: request body too large"},
		{"handler error", "/deposit", `{"n": -1}`, 500, "Internal Server Error"},
		{"status error", "/deposit", `{"n": 409}`, 409, "conflict"},
		{"panic", "/deposit", `{"n": 666}`, 500, "Internal Server Error"},
		{"actor stopped", "/stopped", `{"n": 1}`, 503, "Service Unavailable"},
		{"no such actor", "/nobody", `{"n": 1}`, 404, `runtime: actor not found: "nobody"`},
		{"encode error", "/unencodable", `{"n": 1}`, 500, "Internal Server Error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, body := post(t, srv.URL+tt.path, tt.body)
			if code != tt.code || !strings.HasPrefix(body, tt.want) {
				t.Fatalf("got %d %q; want %d %q", code, body, tt.code, tt.want)
			}
		})
	}
}

// WithTimeout counts from the request's arrival: a decode that spends
// the whole timeout leaves the call none, so it is answered 504 and the
// handler never runs.
func TestMethodTimeoutFromArrival(t *testing.T) {
	const timeout = 200 * time.Millisecond
	rt := testkit.NewRuntime(t)
	acct, err := actor.Spawn(rt, &Account{})
	if err != nil {
		t.Fatal(err)
	}
	slowDecode := func(r *http.Request) (deposit, error) {
		time.Sleep(2 * timeout) // a slow body, say
		return serve.DecodeJSON[deposit](r)
	}
	srv := httptest.NewServer(serve.Method(Deposit, serve.To(acct), slowDecode, serve.EncodeJSON[int], serve.WithTimeout(timeout)))
	defer srv.Close()
	if code, _, body := post(t, srv.URL, `{"n": 1}`); code != http.StatusGatewayTimeout {
		t.Fatalf("got %d %q; want 504", code, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if n, err := Ran.Call(ctx, acct, struct{}{}); err != nil || n != 0 {
		t.Fatalf("Deposit ran %d times (%v); want 0", n, err)
	}
}

// Method's encode gets a writer that flushes when the response writer
// does: an encode function that asserts http.Flusher finds it.
func TestMethodEncodeFlushes(t *testing.T) {
	rt := testkit.NewRuntime(t)
	acct, err := actor.Spawn(rt, &Account{})
	if err != nil {
		t.Fatal(err)
	}
	encode := func(w http.ResponseWriter, n int) error {
		f, ok := w.(http.Flusher)
		if !ok {
			return errors.New("not a Flusher")
		}
		fmt.Fprintf(w, "%d\n", n)
		f.Flush()
		return nil
	}
	srv := httptest.NewServer(serve.Method(Deposit, serve.To(acct), serve.DecodeJSON[deposit], encode))
	defer srv.Close()
	if code, _, body := post(t, srv.URL, `{"n": 3}`); code != 200 || body != "3\n" {
		t.Fatalf("got %d %q; want 200 %q", code, body, "3\n")
	}
}

// WithErrorWriter writes the error responses.
func TestMethodErrorWriter(t *testing.T) {
	rt := testkit.NewRuntime(t)
	acct, _ := actor.Spawn(rt, &Account{})
	h := serve.Method(Deposit, serve.To(acct), serve.DecodeJSON[deposit], serve.EncodeJSON[int],
		serve.WithErrorWriter(func(w http.ResponseWriter, _ *http.Request, code int, err error) {
			w.WriteHeader(code)
			fmt.Fprintf(w, `{"error": %q}`, err.Error())
		}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/", strings.NewReader(`{"n": -1}`)))
	if want := `{"error": "negative deposit"}`; rec.Code != 500 || rec.Body.String() != want {
		t.Fatalf("got %d %q; want 500 %q", rec.Code, rec.Body.String(), want)
	}
}

// A chunked body over the cap is 413 too, once decode reads past it.
func TestMethodChunkedBodyOverCap(t *testing.T) {
	rt := testkit.NewRuntime(t)
	acct, _ := actor.Spawn(rt, &Account{})
	srv := httptest.NewServer(serve.Method(Deposit, serve.To(acct), serve.DecodeJSON[deposit], serve.EncodeJSON[int], serve.WithMaxBody(16)))
	defer srv.Close()
	pr, pw := io.Pipe()
	go func() {
		_, _ = pw.Write([]byte(`{"n": 1, "pad": "` + strings.Repeat("x", 64) + `"}`))
		pw.Close()
	}()
	res, err := http.Post(srv.URL, "application/json", pr) // no Content-Length: chunked
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("got %d; want 413", res.StatusCode)
	}
	if n, _ := Ran.Call(context.Background(), acct, struct{}{}); n != 0 {
		t.Fatalf("the handler ran %d times; want 0", n)
	}
}

// A full mailbox is 503 with Retry-After.
func TestMethodMailboxFull(t *testing.T) {
	rt := testkit.NewRuntime(t)
	gate := make(chan struct{})
	acct, _ := actor.Spawn(rt, &Account{gate: gate}, actor.WithMailbox(1, actor.Reject))
	busy := Deposit.Ask(context.Background(), acct, deposit{N: 1}) // runs, waits on gate
	for acct.Queued() != 0 {
		time.Sleep(time.Millisecond)
	}
	queued := Deposit.Ask(context.Background(), acct, deposit{N: 1}) // fills the mailbox
	srv := httptest.NewServer(serve.Method(Deposit, serve.To(acct), serve.DecodeJSON[deposit], serve.EncodeJSON[int]))
	defer srv.Close()
	code, hdr, _ := post(t, srv.URL, `{"n": 1}`)
	close(gate)
	_, _ = busy.Await(context.Background())
	_, _ = queued.Await(context.Background())
	if code != http.StatusServiceUnavailable || hdr.Get("Retry-After") != "1" {
		t.Fatalf("got %d, Retry-After %q; want 503, 1", code, hdr.Get("Retry-After"))
	}
}

// noWrites is a ResponseWriter that fails the test on any use.
type noWrites struct{ t *testing.T }

func (w noWrites) Header() http.Header {
	w.t.Error("Header called after the client went away")
	return http.Header{}
}
func (w noWrites) Write(p []byte) (int, error) {
	w.t.Errorf("Write(%q) after the client went away", p)
	return len(p), nil
}
func (w noWrites) WriteHeader(code int) {
	w.t.Errorf("WriteHeader(%d) after the client went away", code)
}

// A client that goes away cancels the call — the running handler's
// Context is cancelled, a call not yet started never runs — and nothing
// is written: the response is aborted. A call past its deadline is 504.
func TestMethodCallContext(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := testkit.NewRuntime(t)
		gate := make(chan struct{})
		acct, _ := actor.Spawn(rt, &Account{gate: gate})
		h := serve.Method(Deposit, serve.To(acct), serve.DecodeJSON[deposit], serve.EncodeJSON[int])
		ctx, cancel := context.WithCancel(context.Background())
		served := make(chan struct{}, 2)
		for range 2 { // the first runs and waits; the second waits in the mailbox
			r := httptest.NewRequestWithContext(ctx, "POST", "/", strings.NewReader(`{"n": 1}`))
			go func() {
				defer func() {
					if v := recover(); v != http.ErrAbortHandler {
						t.Errorf("the handler ended with %v; want the response aborted (http.ErrAbortHandler)", v)
					}
					served <- struct{}{}
				}()
				h.ServeHTTP(noWrites{t}, r)
			}()
		}
		time.Sleep(time.Second)
		cancel() // the client goes away
		<-served
		<-served
		if n, err := Ran.Call(context.Background(), acct, struct{}{}); err != nil || n != 1 {
			t.Fatalf("handlers run: %d, %v; want 1 (the queued call never runs)", n, err)
		}

		rec := httptest.NewRecorder()
		h = serve.Method(Deposit, serve.To(acct), serve.DecodeJSON[deposit], serve.EncodeJSON[int], serve.WithTimeout(2*time.Second))
		start := time.Now()
		h.ServeHTTP(rec, httptest.NewRequest("POST", "/", strings.NewReader(`{"n": 1}`)))
		if rec.Code != http.StatusGatewayTimeout || time.Since(start) != 2*time.Second {
			t.Fatalf("got %d after %v; want 504 after 2s", rec.Code, time.Since(start))
		}
	})
}

// StatusOf's table.
func TestStatusOf(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, 200},
		{&serve.StatusError{Code: 418, Err: errors.New("teapot")}, 418},
		{fmt.Errorf("wrapped: %w", &serve.StatusError{Code: 429, Err: errors.New("slow down")}), 429},
		{&http.MaxBytesError{Limit: 1}, 413},
		{troupe.ErrNotFound, 404},
		{actor.ErrTimeout, 504},
		{context.DeadlineExceeded, 504},
		{actor.ErrMailboxFull, 503},
		{actor.ErrDropped, 503},
		{actor.ErrStopped, 503},
		{actor.ErrCallCycle, 500},
		{&actor.PanicError{Method: "m", Value: "v"}, 500},
		{errors.New("anything"), 500},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.err), func(t *testing.T) {
			if got := serve.StatusOf(tt.err); got != tt.want {
				t.Fatalf("StatusOf(%v) = %d; want %d", tt.err, got, tt.want)
			}
		})
	}
}

// Method panics on programmer errors.
func TestMethodPanics(t *testing.T) {
	rt := testkit.NewRuntime(t)
	acct, _ := actor.Spawn(rt, &Account{})
	tests := []struct {
		name string
		f    func()
	}{
		{"nil method", func() {
			serve.Method[*Account, deposit, int](nil, serve.To(acct), serve.DecodeJSON[deposit], serve.EncodeJSON[int])
		}},
		{"nil target", func() { serve.Method(Deposit, nil, serve.DecodeJSON[deposit], serve.EncodeJSON[int]) }},
		{"body cap 0", func() {
			serve.Method(Deposit, serve.To(acct), serve.DecodeJSON[deposit], serve.EncodeJSON[int], serve.WithMaxBody(0))
		}},
		{"timeout 0", func() { // WithTimeout's d must be > 0; 0 was taken as no option
			serve.Method(Deposit, serve.To(acct), serve.DecodeJSON[deposit], serve.EncodeJSON[int], serve.WithTimeout(0))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if v := recover(); v == nil || !strings.HasPrefix(fmt.Sprint(v), "serve: ") {
					t.Fatalf("recovered %v; want a panic prefixed serve:", v)
				}
			}()
			tt.f()
		})
	}
}
