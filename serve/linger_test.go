package serve

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
)

type quiet struct{}

func (quiet) Frame(*actor.Ctx, []byte) error { return nil }

// Conn.Close from another goroutine marks the connection closing, then
// wakes its reader with a read deadline in the past. A frame that arrives
// in between sends the reader on to finish and linger, which sets its own
// deadline: the wake-up's deadline, landing after it, ended the linger at
// once (os.ErrDeadlineExceeded), and the socket was closed with the
// client's side still open. The linger must last until the client closes
// its side (or WithLinger passes).
func TestLingerNotCutShortByLateWake(t *testing.T) {
	rt := testkit.NewRuntime(t)
	conns := make(chan *Conn, 1)
	srv, err := New(rt, func(c *Conn) quiet { conns <- c; return quiet{} }, WithLinger(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	var nc net.Conn // the client's side, dialled before any hook runs
	lingering := make(chan struct{})
	lingered := make(chan error, 1)
	srv.cfg.hooks.lingering = func(*Conn) { close(lingering) }
	srv.cfg.hooks.lingered = func(_ *Conn, err error) { lingered <- err }
	srv.cfg.hooks.waking = func(*Conn) {
		// Between the state's change and the wake-up: a frame wakes the
		// reader, which goes on to linger.
		if _, err := nc.Write([]byte("frame\n")); err != nil {
			t.Errorf("write: %v", err)
			return
		}
		select {
		case <-lingering:
		case <-time.After(10 * time.Second):
			t.Error("the reader did not linger")
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	defer func() {
		if err := srv.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		<-served
	}()
	nc, err = net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	c := <-conns
	c.Close()
	// The server's side is shut: the client reads to its end, then closes
	// its own side, which should end the linger.
	if _, err := io.Copy(io.Discard, nc); err != nil {
		t.Fatalf("read: %v", err)
	}
	if err := nc.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-lingered:
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("the linger was cut short by the wake-up's deadline: %v", err)
		}
		if !errors.Is(err, io.EOF) {
			t.Fatalf("the linger ended with %v, want io.EOF", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the linger did not end")
	}
}
