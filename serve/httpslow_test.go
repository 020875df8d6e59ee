//go:build unix

package serve_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	"github.com/troupe-go/troupe/serve"
)

// dialSmallWindow dials addr over TCP with a small receive buffer, so
// that a client that never reads fills the connection quickly.
func dialSmallWindow(t *testing.T, addr string) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: wait, Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		if err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		}); err != nil {
			return err
		}
		return serr
	}}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

// WithTimeout bounds a stream's whole response, even for a client that
// stays connected but never reads: the handler's write, blocked on the
// full connection, ends at the deadline instead of pinning its
// goroutine until the client goes.
func TestStreamTimeoutNeverReadingClient(t *testing.T) {
	rt := testkit.NewRuntime(t)
	ref, err := actor.Spawn(rt, &Log{open: make(chan context.Context, 1)})
	if err != nil {
		t.Fatal(err)
	}
	handlers := map[string]http.Handler{
		"sse":   serve.SSE(Tail, serve.To(ref), queryReq, encodeLine, serve.WithTimeout(2*time.Second)),
		"lines": serve.JSONLines(Tail, serve.To(ref), queryReq, serve.WithTimeout(2*time.Second)),
	}
	for name, h := range handlers {
		t.Run(name, func(t *testing.T) {
			returned := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				defer close(returned)
				h.ServeHTTP(w, r)
			}))
			defer srv.Close()
			nc := dialSmallWindow(t, srv.Listener.Addr().String())
			defer nc.Close() // before srv.Close waits for the handler
			// 64 items of 1 MiB: far more than the sockets hold.
			if _, err := nc.Write([]byte("GET /" + q(`{"n": 64, "big": true}`) + " HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
				t.Fatal(err)
			}
			select {
			case <-returned:
				_ = nc.SetReadDeadline(time.Now().Add(wait))
				status := make([]byte, len("HTTP/1.1 200"))
				if _, err := io.ReadFull(nc, status); err != nil || string(status) != "HTTP/1.1 200" {
					t.Fatalf("got %q, %v; want a 200 response: the stream opened", status, err)
				}
			case <-time.After(wait):
				t.Fatal("the handler did not return after its timeout: its write to a client that never reads still blocks")
			}
		})
	}
}
