//go:build unix

package serve

import (
	"net"
	"syscall"
)

// rawConn returns nc's raw connection if it has a file descriptor (TCP,
// Unix sockets), for tryWrite; else nil.
func rawConn(nc net.Conn) syscall.RawConn {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return rc
}

// directWriter writes without waiting; one per connection, made with it,
// so that a write allocates nothing (a callback made per write would
// escape). Its fields are guarded by the connection's mu.
type directWriter struct {
	rc  syscall.RawConn
	fn  func(fd uintptr) bool // rc.Write's callback: writes p from n
	p   []byte
	n   int
	err error
}

func newDirectWriter(nc net.Conn) *directWriter {
	rc := rawConn(nc)
	if rc == nil {
		return nil
	}
	w := &directWriter{rc: rc}
	w.fn = func(fd uintptr) bool {
		for w.n < len(w.p) {
			k, e := syscall.Write(int(fd), w.p[w.n:])
			if k > 0 {
				w.n += k
			}
			switch {
			case e == syscall.EINTR:
				continue
			case e == syscall.EAGAIN:
			case e != nil:
				w.err = e
			case k > 0:
				continue
			}
			break
		}
		return true // never wait
	}
	return w
}

// write writes as much of p as the socket takes now, without waiting:
// write(2) on the descriptor, which the runtime keeps non-blocking, inside
// RawConn.Write with a callback that never asks to wait for writability.
// So the caller (often an actor's turn) is never blocked by a slow client:
// what the socket does not take stays queued for the writer goroutine.
// Cost: one system call, no allocation.
func (w *directWriter) write(p []byte) (int, error) {
	w.p, w.n, w.err = p, 0, nil
	err := w.rc.Write(w.fn)
	n := w.n
	if w.err != nil {
		err = w.err
	}
	w.p, w.err = nil, nil
	return n, err
}
