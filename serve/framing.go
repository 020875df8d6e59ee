package serve

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
)

// The framings of a connection's input.
const (
	lines    = iota // '\n'-terminated lines
	prefixed        // a 4-byte big-endian length, then the frame
)

// maxFrame is the largest limit WithLines and WithLengthPrefix accept.
const maxFrame = 1 << 30

// framing is a server's framing and its limit.
type framing struct {
	kind int
	max  int
}

// header returns what Send writes before a frame of n bytes, into b, or
// ErrFrameTooLarge for a frame whose length its 4-byte prefix cannot
// hold (it would wrap, and the peer would read the rest as frames).
func (f framing) header(b *[4]byte, n int) ([]byte, error) {
	if f.kind == lines {
		return nil, nil
	}
	if uint64(n) > math.MaxUint32 {
		return nil, fmt.Errorf("%w: a frame of %d bytes, over the 4-byte length prefix's %d",
			ErrFrameTooLarge, n, uint64(math.MaxUint32))
	}
	binary.BigEndian.PutUint32(b[:], uint32(n))
	return b[:], nil
}

// trailer returns what Send writes after a frame.
func (f framing) trailer() []byte {
	if f.kind == lines {
		return newline
	}
	return nil
}

var newline = []byte{'\n'}

// reader cuts a connection's input into frames. Its buffer, taken from
// readBufs when it first reads, has readBuffer bytes and grows, up to the
// limit, only for a frame that does not fit. A frame it returns is valid
// until the next call. Parsing (parse) and reading (room, then Read into free,
// then got) are apart so that the connection's reader goroutine blocks in
// a shallow stack (see Conn.read), and so that it can give its buffer back
// (release) while it waits for input. Not safe for concurrent use: that
// goroutine owns it.
type reader struct {
	f       framing
	buf     []byte  // nil while released
	box     *[]byte // buf's box in readBufs, if it has the pool's size
	r, w    int     // buf[r:w] is read but not yet returned
	scanned int     // buf[r:r+scanned] holds no '\n' (lines)
	empty   int     // reads in a row that returned nothing
	err     error   // the source's error, returned once buf[r:w] is used up
}

// readBufs holds read buffers of readBuffer bytes, shared by every
// connection: an idle connection holds none (with a descriptor, see
// Conn.readDirect).
var readBufs = sync.Pool{New: func() any { b := make([]byte, readBuffer); return &b }}

func newReader(f framing) *reader { return &reader{f: f} }

// release gives the buffer back, if it holds no unread byte: to readBufs
// if it has the pool's size, to the GC if it grew. room takes one again.
// O(1).
func (r *reader) release() {
	if r.buf == nil || r.r != r.w {
		return
	}
	if r.box != nil && len(r.buf) == readBuffer {
		*r.box = r.buf
		readBufs.Put(r.box)
	}
	r.buf, r.box, r.r, r.w, r.scanned = nil, nil, 0, 0, 0
}

// next returns the next frame, reading from src as needed: parse, then
// read, until a frame or an error.
func (r *reader) next(src io.Reader) ([]byte, error) {
	for {
		p, need, err := r.parse()
		if need == 0 {
			return p, err
		}
		n, err := src.Read(r.room(need))
		r.got(n, err)
	}
}

// parse returns the next frame from the buffer, or need > 0: read more,
// after room(need). Errors: a *LimitError, io.EOF at the end of the
// input, io.ErrUnexpectedEOF in the middle of a length-prefixed frame, or
// the source's error. A line keeps its '\n'; the last line of the input
// may have none.
func (r *reader) parse() (p []byte, need int, err error) {
	if r.f.kind == lines {
		return r.line()
	}
	return r.frame()
}

func (r *reader) line() ([]byte, int, error) {
	if i := bytes.IndexByte(r.buf[r.r+r.scanned:r.w], '\n'); i >= 0 {
		end := r.r + r.scanned + i + 1
		p := r.buf[r.r:end:end] // an append must not reach the next line
		r.r, r.scanned = end, 0
		if len(p) > r.f.max {
			return nil, 0, &LimitError{Err: ErrLineTooLong, Size: int64(len(p)), Max: r.f.max}
		}
		return p, 0, nil
	}
	r.scanned = r.w - r.r
	if r.scanned >= r.f.max {
		// max bytes and no '\n' yet: the line is longer than max.
		return nil, 0, &LimitError{Err: ErrLineTooLong, Size: int64(r.scanned), Max: r.f.max}
	}
	if r.err != nil {
		if r.scanned > 0 && r.err == io.EOF {
			p := r.buf[r.r:r.w:r.w] // the last line, without '\n'
			r.r, r.scanned = r.w, 0
			return p, 0, nil
		}
		return nil, 0, r.err
	}
	return nil, r.f.max, nil
}

func (r *reader) frame() ([]byte, int, error) {
	if r.w-r.r < 4 {
		return r.short(4)
	}
	n := binary.BigEndian.Uint32(r.buf[r.r:])
	if int64(n) > int64(r.f.max) {
		return nil, 0, &LimitError{Err: ErrFrameTooLarge, Size: int64(n), Max: r.f.max}
	}
	if r.w-r.r < 4+int(n) {
		return r.short(4 + int(n))
	}
	p := r.buf[r.r+4 : r.r+4+int(n) : r.r+4+int(n)]
	r.r += 4 + int(n)
	return p, 0, nil
}

// short is parse's answer when fewer than n bytes are buffered.
func (r *reader) short(n int) ([]byte, int, error) {
	switch {
	case r.err == nil:
		return nil, n, nil
	case r.err == io.EOF && r.w == r.r:
		return nil, 0, io.EOF // at a frame boundary
	case r.err == io.EOF:
		return nil, 0, io.ErrUnexpectedEOF
	}
	return nil, 0, r.err
}

// room makes room for a frame of up to size bytes (within the limit) and
// returns the free end of the buffer to read into: it takes a buffer from
// readBufs if it has none, moves the unread bytes to the front, and grows
// the buffer (up to size, plus the 4-byte prefix) if they would still not
// fit. It does not block.
func (r *reader) room(size int) []byte {
	if r.buf == nil {
		r.box = readBufs.Get().(*[]byte)
		r.buf = *r.box
	}
	if r.r > 0 && (r.w == len(r.buf) || r.r == r.w) {
		r.w = copy(r.buf, r.buf[r.r:r.w])
		r.r = 0
	}
	if r.w == len(r.buf) {
		grown := make([]byte, min(max(2*len(r.buf), r.w+1), size+4))
		r.w = copy(grown, r.buf[:r.w])
		r.buf = grown
	}
	return r.buf[r.w:]
}

// discard drops the unread bytes and returns the whole buffer, to read
// into and throw away (a closing connection's lingering input).
func (r *reader) discard() []byte {
	r.r, r.w, r.scanned = 0, 0, 0
	return r.room(1)
}

// got takes the result of a read into room's slice; its error is kept for
// when the bytes are used up.
func (r *reader) got(n int, err error) {
	r.w += n
	switch {
	case err != nil:
		r.err = err
	case n > 0:
		r.empty = 0
	default:
		if r.empty++; r.empty == 100 {
			r.err = io.ErrNoProgress
		}
	}
}

// isLimit reports whether err is a frame over its limit.
func isLimit(err error) bool {
	var le *LimitError
	return errors.As(err, &le)
}
