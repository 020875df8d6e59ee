package serve_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	"github.com/troupe-go/troupe/serve"
)

// WithTimeout bounds the reading of the body too: a client that sends
// its headers and part of its body, then stalls (connected, silent), is
// answered 504 at the deadline, and the call does not run. The handler
// used to wait for the rest of the body for as long as the client
// stayed: in decode, or in the discard of what decode left (here the
// JSON value is whole, but the Content-Length promises more).
func TestMethodTimeoutStalledBody(t *testing.T) {
	tests := []struct{ name, sent string }{
		{"in decode", `{"n": `},
		{"after decode", `{"n": 1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := testkit.NewRuntime(t)
			acct, err := actor.Spawn(rt, &Account{})
			if err != nil {
				t.Fatal(err)
			}
			returned := make(chan struct{})
			h := serve.Method(Deposit, serve.To(acct), serve.DecodeJSON[deposit], serve.EncodeJSON[int], serve.WithTimeout(time.Second))
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				defer close(returned)
				h.ServeHTTP(w, r)
			}))
			defer srv.Close()
			nc, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close() // before srv.Close waits for the handler
			req := fmt.Sprintf("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n%s", tt.sent)
			if _, err := nc.Write([]byte(req)); err != nil {
				t.Fatal(err)
			}
			select {
			case <-returned:
			case <-time.After(wait):
				t.Fatal("the handler did not return after its timeout: it still waits for the body")
			}
			_ = nc.SetReadDeadline(time.Now().Add(wait))
			res, err := http.ReadResponse(bufio.NewReader(nc), nil)
			if err != nil {
				t.Fatalf("response: %v", err)
			}
			res.Body.Close()
			if res.StatusCode != http.StatusGatewayTimeout {
				t.Fatalf("got %d; want 504", res.StatusCode)
			}
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			if n, err := Ran.Call(ctx, acct, struct{}{}); err != nil || n != 0 {
				t.Fatalf("Deposit ran %d times (%v); want 0", n, err)
			}
		})
	}
}

// A body that stalls past the http.Server's ReadTimeout, which bounds it
// when WithTimeout does not (none given, or a later one), is answered
// 504 as one past WithTimeout is: the client is still there. The failed
// read cancels r's Context, which was taken for a client gone: nothing
// was answered, which net/http sent as 200 OK with an empty body for a
// call that never ran.
func TestMethodReadTimeoutStalledBody(t *testing.T) {
	tests := []struct {
		name string
		opts []serve.MethodOption
	}{
		{"no WithTimeout", nil},
		{"a later WithTimeout", []serve.MethodOption{serve.WithTimeout(time.Hour)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := testkit.NewRuntime(t)
			acct, err := actor.Spawn(rt, &Account{})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewUnstartedServer(serve.Method(Deposit, serve.To(acct), serve.DecodeJSON[deposit], serve.EncodeJSON[int], tt.opts...))
			srv.Config.ReadTimeout = time.Second
			srv.Start()
			defer srv.Close()
			nc, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			if _, err := nc.Write([]byte("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"n\": ")); err != nil {
				t.Fatal(err)
			}
			_ = nc.SetReadDeadline(time.Now().Add(wait))
			res, err := http.ReadResponse(bufio.NewReader(nc), nil)
			if err != nil {
				t.Fatalf("response: %v; want 504", err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusGatewayTimeout {
				t.Fatalf("got %d %q; want 504", res.StatusCode, b)
			}
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			if n, err := Ran.Call(ctx, acct, struct{}{}); err != nil || n != 0 {
				t.Fatalf("Deposit ran %d times (%v); want 0", n, err)
			}
		})
	}
}
