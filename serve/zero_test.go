package serve_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	"github.com/troupe-go/troupe/internal/zerocase"
	troupe "github.com/troupe-go/troupe/runtime"
	"github.com/troupe-go/troupe/serve"
)

// equal is nil if got == want, else an error saying so.
func equal(got, want any) error {
	if got != want {
		return fmt.Errorf("got %v; want %v", got, want)
	}
	return nil
}

// listenerClosed serves a fresh loopback listener with serveIt and returns
// its error, or an error if it left the listener open.
func listenerClosed(t *testing.T, serveIt func(net.Listener) error) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	err = serveIt(l)
	if _, aerr := l.Accept(); aerr == nil || !errors.Is(aerr, net.ErrClosed) {
		return fmt.Errorf("listener left open (Accept: %v); Serve returned %w", aerr, err)
	}
	return err
}

// TestZeroValues calls every exported method with a pointer receiver on a
// nil and a zero value (not made by New, or not given by the server), and
// New with a zero Runtime: a sentinel, a harmless result, never a panic or
// a hang. A nil or zero Server is a closed one; a nil or zero Conn a
// closed one. Add a case here with every new exported method.
func TestZeroValues(t *testing.T) {
	bg := context.Background()
	var (
		ns *serve.Server
		zs = &serve.Server{}
		nc *serve.Conn
		zc = &serve.Conn{}
	)
	open := func(c *serve.Conn) *echo { return &echo{conn: c} }
	rt := testkit.NewRuntime(t)
	made, err := serve.New(rt, open)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = made.Close() })
	zerocase.Run(t, []zerocase.Case{
		{"New zero Runtime", func() error { _, err := serve.New(&troupe.Runtime{}, open); return err }, serve.ErrNilRuntime},

		{"Server.Serve nil", func() error { return listenerClosed(t, ns.Serve) }, serve.ErrServerClosed},
		{"Server.Serve zero", func() error { return listenerClosed(t, zs.Serve) }, serve.ErrServerClosed},
		{"Server.Serve nil listener", func() error { return made.Serve(nil) }, serve.ErrInvalidOption},
		{"Server.ListenAndServe nil", func() error { return ns.ListenAndServe("127.0.0.1:0") }, serve.ErrServerClosed},
		{"Server.ListenAndServe zero", func() error { return zs.ListenAndServe("127.0.0.1:0") }, serve.ErrServerClosed},
		{"Server.Conns nil", func() error { return equal(ns.Conns(), 0) }, nil},
		{"Server.Conns zero", func() error { return equal(zs.Conns(), 0) }, nil},
		{"Server.Shutdown nil", func() error { return ns.Shutdown(bg) }, nil},
		{"Server.Shutdown zero", func() error { return zs.Shutdown(bg) }, nil},
		{"Server.Shutdown nil ctx", func() error { return made.Shutdown(nil) }, actor.ErrNilContext}, //nolint:staticcheck // the nil ctx is the case
		{"Server.Close nil", func() error { return ns.Close() }, nil},
		{"Server.Close zero", func() error { return zs.Close() }, nil},

		{"Conn.Write nil", func() error { return nc.Write(bg, []byte("x")) }, serve.ErrConnClosed},
		{"Conn.Write zero", func() error { return zc.Write(bg, []byte("x")) }, serve.ErrConnClosed},
		{"Conn.Send nil", func() error { return nc.Send(bg, []byte("x")) }, serve.ErrConnClosed},
		{"Conn.Send zero", func() error { return zc.Send(bg, []byte("x")) }, serve.ErrConnClosed},
		{"Conn.Queued nil", func() error { return equal(nc.Queued(), 0) }, nil},
		{"Conn.Queued zero", func() error { return equal(zc.Queued(), 0) }, nil},
		{"Conn.Close nil", func() error { nc.Close(); return nil }, nil},
		{"Conn.Close zero", func() error { zc.Close(); return nil }, nil},
		{"Conn.RemoteAddr nil", func() error { return equal(nc.RemoteAddr(), nil) }, nil},
		{"Conn.RemoteAddr zero", func() error { return equal(zc.RemoteAddr(), nil) }, nil},
		{"Conn.LocalAddr nil", func() error { return equal(nc.LocalAddr(), nil) }, nil},
		{"Conn.LocalAddr zero", func() error { return equal(zc.LocalAddr(), nil) }, nil},
		// After the calls above (a zero Conn's Write panicked holding its lock).
		{"Conn.Write zero, again", func() error { return zc.Write(bg, []byte("x")) }, serve.ErrConnClosed},
		{"Conn.Queued zero, again", func() error { return equal(zc.Queued(), 0) }, nil},
	})
}
