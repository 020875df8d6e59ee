package serve

import (
	"context"
	"io"
	"net"
	"testing"
	"time"
)

// A write with nothing queued goes to a TCP socket at once, on the
// caller's goroutine, with a write that never waits: no writer goroutine
// starts. On a connection without a descriptor (net.Pipe) the bytes are
// queued for the writer goroutine instead.
func TestDirectWrite(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cli, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	srv, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	pipeSrv, pipeCli := net.Pipe()
	defer pipeCli.Close()
	s := &Server{cfg: defaults()}
	tests := []struct {
		name    string
		nc      net.Conn
		peer    net.Conn
		writing bool // a writer goroutine took the bytes
	}{
		{"tcp", srv, cli, false},
		{"pipe", pipeSrv, pipeCli, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newConn(s, tt.nc)
			defer tt.nc.Close()
			if err := c.Write(context.Background(), []byte("hello")); err != nil {
				t.Fatal(err)
			}
			c.mu.Lock()
			writing := c.writing
			c.mu.Unlock()
			if writing != tt.writing {
				t.Fatalf("writer goroutine started: %t; want %t", writing, tt.writing)
			}
			_ = tt.peer.SetReadDeadline(time.Now().Add(10 * time.Second))
			got := make([]byte, 5)
			if _, err := io.ReadFull(tt.peer, got); err != nil || string(got) != "hello" {
				t.Fatalf("peer read %q, %v; want hello", got, err)
			}
			c.abort(nil) // the writer, if any, exits
			c.mu.Lock()
			for c.writing {
				c.mu.Unlock()
				time.Sleep(time.Millisecond)
				c.mu.Lock()
			}
			c.mu.Unlock()
		})
	}
}
