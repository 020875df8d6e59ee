package serve

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/troupe-go/troupe/actor"
)

// wbuf is a write buffer: the queue's, or the writer's batch. Buffers go
// back to a shared pool when a connection's writer stops, so an idle
// connection holds none.
type wbuf struct{ b []byte }

var wbufs = sync.Pool{New: func() any { return &wbuf{b: make([]byte, 0, 512)} }}

// maxPooled is the largest buffer put back in the pool.
const maxPooled = 64 << 10

func getBuf() *wbuf { return wbufs.Get().(*wbuf) }

func putBuf(w *wbuf) {
	if w != nil && cap(w.b) <= maxPooled {
		w.b = w.b[:0]
		wbufs.Put(w)
	}
}

// Write queues p to be written to the client, as is, and returns without
// waiting for the network: a slow client never blocks the caller. When nothing
// is queued, the bytes go to the socket at once with a write that never waits
// (on Unix, for TCP and Unix sockets); what the socket does not take is queued
// for the connection's writer goroutine. p is copied. Bytes are accepted until
// the session closes the connection or, when something else closes it, until
// its reader is done with the frame in hand. ctx's deadline, if it has one, is
// the write deadline of these bytes (else WithWriteTimeout from when the writer
// takes them); a connection whose bytes miss their deadline is closed with
// ErrWriteTimeout, since a stream cannot take back half a write. Writes from
// one goroutine reach the client in order.
//
// Errors: ctx's error if it is already done, ErrConnClosed if the
// connection is closing or closed (wrapping the reason; also when the
// write finds the connection broken), a *QueueFullError if p does not fit
// in the queue (nothing is queued), actor.ErrNilContext. Safe for
// concurrent use; O(len(p)); allocates only when the queue's buffer grows
// (buffers are pooled).
func (c *Conn) Write(ctx context.Context, p []byte) error {
	if !c.made() {
		return ErrConnClosed
	}
	return c.enqueue(ctx, nil, p, nil)
}

// Send queues frame as one frame of the server's framing: followed by
// '\n' with WithLines (frame should hold none), after its 4-byte
// big-endian length with WithLengthPrefix. Otherwise as Write: it never
// blocks, the frame's bytes are queued whole or not at all. A frame of
// 4 GiB or more with WithLengthPrefix is ErrFrameTooLarge (its length does
// not fit the prefix).
func (c *Conn) Send(ctx context.Context, frame []byte) error {
	if !c.made() {
		return ErrConnClosed
	}
	f := c.srv.cfg.framing
	var hb [4]byte
	head, err := f.header(&hb, len(frame))
	if err != nil {
		return err
	}
	return c.enqueue(ctx, head, frame, f.trailer())
}

// enqueue is Write's and Send's: c was made by the server (they check).
func (c *Conn) enqueue(ctx context.Context, head, p, tail []byte) error {
	if ctx == nil {
		return actor.ErrNilContext
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	n := len(head) + len(p) + len(tail)
	c.mu.Lock()
	if c.sealed || c.state == connClosed {
		reason := c.reason
		c.mu.Unlock()
		if reason == nil {
			return ErrConnClosed
		}
		return fmt.Errorf("%w: %w", ErrConnClosed, reason)
	}
	queued := c.inflight
	if c.q != nil {
		queued += len(c.q.b)
	}
	if max := c.srv.cfg.queue; queued+n > max {
		c.mu.Unlock()
		return &QueueFullError{Size: n, Queued: queued, Max: max}
	}
	if d, ok := ctx.Deadline(); !ok {
		c.undated = true
	} else if c.deadline.IsZero() || d.Before(c.deadline) {
		c.deadline = d
	}
	if c.q == nil {
		c.q = getBuf()
	}
	c.q.b = append(append(append(c.q.b, head...), p...), tail...)
	if c.writing {
		c.mu.Unlock() // the writer takes them
		return nil
	}
	if c.dw != nil {
		// Nothing is being written: try the socket now, without waiting.
		n, err := c.dw.write(c.q.b)
		if err != nil {
			c.mu.Unlock()
			werr := writeErr(err)
			c.abort(werr)
			return fmt.Errorf("%w: %w", ErrConnClosed, werr)
		}
		if n == len(c.q.b) {
			putBuf(c.q)
			c.q, c.deadline, c.undated = nil, time.Time{}, false
			c.mu.Unlock()
			if s := c.srv; s.cfg.idleOnWrite {
				s.b.wrote(c)
			}
			return nil
		}
		c.q.b = c.q.b[:copy(c.q.b, c.q.b[n:])]
	}
	c.writing = true
	c.mu.Unlock()
	go c.write()
	return nil
}

// Queued is the number of bytes waiting to be written, the batch being
// written included. It does not block; O(1).
func (c *Conn) Queued() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.inflight
	if c.q != nil {
		n += len(c.q.b)
	}
	return n
}

// write is the connection's writer goroutine: it takes the queue as one
// batch, writes it under its deadline, and goes on until the queue is
// empty or the connection is closed; then it returns its buffers to the
// pool and exits. The reader waits for it (stopped) when the connection
// closes.
func (c *Conn) write() {
	s := c.srv
	var batch *wbuf
	for {
		c.mu.Lock()
		c.inflight = 0
		if c.q == nil || len(c.q.b) == 0 || c.state == connClosed {
			if c.state != connClosed && batch != nil {
				// The batch's deadline must not outlive it: once passed,
				// it would fail the next write that does not wait
				// (directWriter), as a write timeout of a healthy
				// connection. Cleared before writing is, under mu, so
				// that no such write comes first.
				_ = c.nc.SetWriteDeadline(time.Time{})
			}
			c.writing = false
			putBuf(c.q)
			c.q = nil
			if c.stopped != nil {
				close(c.stopped)
			}
			c.mu.Unlock()
			putBuf(batch)
			return
		}
		c.q, batch = batch, c.q
		c.inflight = len(batch.b)
		deadline, undated := c.deadline, c.undated
		c.deadline, c.undated = time.Time{}, false
		c.mu.Unlock()
		// The batch's deadline is the earliest of its bytes': those
		// without one of their own have the write timeout, even beside
		// bytes whose deadline is later.
		if undated {
			if wt := time.Now().Add(s.cfg.writeTimeout); deadline.IsZero() || wt.Before(deadline) {
				deadline = wt
			}
		}
		err := c.nc.SetWriteDeadline(deadline)
		if err == nil {
			_, err = c.nc.Write(batch.b)
		}
		batch.b = batch.b[:0]
		if err != nil {
			c.abort(writeErr(err))
			continue
		}
		if s.cfg.idleOnWrite {
			s.b.wrote(c)
		}
	}
}
