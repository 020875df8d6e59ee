package serve_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/serve"
)

// smallBufs is a listener whose TCP connections have a small send buffer,
// so that a write the client does not read at once goes to the writer
// goroutine.
type smallBufs struct{ net.Listener }

func (l smallBufs) Accept() (net.Conn, error) {
	nc, err := l.Listener.Accept()
	if err == nil {
		_ = nc.(*net.TCPConn).SetWriteBuffer(4 << 10)
	}
	return nc, err
}

// A write deadline the writer goroutine set for a batch it wrote in time
// must not outlive the batch: once it has passed, a later write that the
// socket takes at once (no writer) is not a write timeout. It was: the
// socket kept the writer's last deadline, so the direct write failed with
// os.ErrDeadlineExceeded and closed a healthy connection with
// ErrWriteTimeout.
func TestStaleWriteDeadline(t *testing.T) {
	const size = 256 << 10
	deadline := time.Now().Add(time.Second)
	queued := make(chan int, 1)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := startOn(t, smallBufs{l}, func(e *echo) {
		e.hook = func(e *echo, c *actor.Ctx, p []byte) (bool, error) {
			if string(p) != "fill\n" {
				return false, nil
			}
			ctx, cancel := context.WithDeadline(c.Context(), deadline)
			defer cancel()
			big := append(bytes.Repeat([]byte{'x'}, size-1), '\n')
			for len(big) > 0 { // in pieces that fit in the write queue
				n := min(len(big), serve.DefaultWriteQueue/2)
				for {
					err := e.conn.Write(ctx, big[:n])
					if err == nil {
						break
					}
					if !errors.Is(err, serve.ErrQueueFull) {
						return true, err
					}
					time.Sleep(time.Millisecond) // the writer drains the queue as the client reads
				}
				big = big[n:]
			}
			queued <- e.conn.Queued()
			return true, nil
		}
	}, serve.WithIdleTimeout(0))
	c := f.dial(t)
	c.send("fill\n")
	if n, err := io.ReadFull(c.br, make([]byte, size)); err != nil {
		t.Fatalf("read the fill: %d bytes, %v (close reason %v, after %v)", n, err, f.closed.next(t), time.Until(deadline))
	}
	t.Logf("fill read, %v before the deadline", time.Until(deadline))
	if time.Now().After(deadline) {
		t.Skip("the fill took longer than its deadline: too slow a machine to tell")
	}
	<-queued
	time.Sleep(time.Until(deadline) + 200*time.Millisecond) // the writer's deadline has passed
	c.send("ping\n")
	if s, err := c.br.ReadString('\n'); s != "ping\n" || err != nil {
		t.Fatalf("after the writer's deadline passed: read %q, %v; want \"ping\\n\" (close reason: %v)", s, err, f.closed.next(t))
	}
}
