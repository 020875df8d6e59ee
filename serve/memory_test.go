package serve_test

import (
	"context"
	"io"
	"net"
	goruntime "runtime"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	"github.com/troupe-go/troupe/serve"
)

type quiet struct{ conn *serve.Conn }

func (q *quiet) Frame(c *actor.Ctx, p []byte) error { return q.conn.Write(c.Context(), p) }

// heapInUse is the heap in use after two collections.
func heapInUse() uint64 {
	var m goruntime.MemStats
	goruntime.GC()
	goruntime.GC()
	goruntime.ReadMemStats(&m)
	return m.HeapAlloc
}

// An idle TCP connection holds no read buffer: once its client's line is
// echoed, the reader gives its 4 KiB buffer back while it waits. The heap
// each idle connection holds here (both ends' sockets, the actor, its
// stop hook, the idle timer, the Conn) is ~3.0 KB; with the buffer held, 4 KiB more.
func TestIdleConnHoldsNoReadBuffer(t *testing.T) {
	const n = 200
	rt := testkit.NewRuntime(t)
	srv, err := serve.New(rt, func(conn *serve.Conn) *quiet { return &quiet{conn} })
	if err != nil {
		t.Fatal(err)
	}
	addr, served := serveLoopback(t, srv, nil)
	defer closeServed(t, srv, served)
	before := heapInUse()
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, nc := range conns {
			nc.Close()
		}
	}()
	buf := make([]byte, 3)
	for range n {
		nc, err := net.DialTimeout("tcp", addr, wait)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, nc)
		_ = nc.SetDeadline(time.Now().Add(wait))
		if _, err := nc.Write([]byte("hi\n")); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(nc, buf); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for srv.Conns() < n && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // the readers reach their wait
	per := float64(heapInUse()-before) / n
	t.Logf("%.0f heap bytes per idle connection", per)
	if per > 5<<10 {
		t.Fatalf("%.0f heap bytes per idle connection; want < 5 KiB (no 4 KiB read buffer held)", per)
	}
}
