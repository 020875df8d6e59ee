//go:build unix

package serve

import (
	"io"
	"net"
	"os"
	"syscall"
)

// readDirect delivers frames as read does, but reads the socket with
// read(2) on its descriptor, inside RawConn.Read, so that while it waits
// for input it holds no buffer: on EAGAIN it gives the buffer back
// (reader.release) before RawConn.Read parks it, and takes one when the
// socket is readable. An idle connection thus costs no read buffer, for
// the same system calls as nc.Read. It reports false, having read
// nothing, if nc is not a TCP or Unix socket: read serves it then.
func (c *Conn) readDirect(rd *reader) bool {
	rc := directConn(c.nc)
	if rc == nil {
		return false
	}
	var need int
	fill := func(fd uintptr) bool { // one read(2); false: wait for readability
		for {
			room := rd.room(need)
			n, err := syscall.Read(int(fd), room)
			switch {
			case err == syscall.EINTR:
				continue
			case err == syscall.EAGAIN:
				rd.release()
				return false
			case err != nil:
				rd.got(0, c.readErr(err))
			case n == 0:
				rd.got(0, io.EOF)
			default:
				rd.got(n, nil)
			}
			return true
		}
	}
	for {
		p, n, err := rd.parse()
		switch {
		case n > 0:
			need = n
			if err := rc.Read(fill); err != nil {
				rd.got(0, err) // a closing connection's deadline, or the socket closed
			}
		case err != nil:
			c.readFailed(err)
			return true
		case !c.deliver(p):
			return true
		}
	}
}

// directConn returns the raw connection of a TCP or Unix socket, else nil.
func directConn(nc net.Conn) syscall.RawConn {
	switch nc.(type) {
	case *net.TCPConn, *net.UnixConn:
		return rawConn(nc)
	}
	return nil
}

// readErr is a failed read(2) as nc.Read reports it.
func (c *Conn) readErr(errno error) error {
	la := c.nc.LocalAddr()
	return &net.OpError{Op: "read", Net: la.Network(), Source: la, Addr: c.nc.RemoteAddr(), Err: os.NewSyscallError("read", errno)}
}
