package serve

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"testing"
	"testing/iotest"
)

// chunks is a reader that returns its input a few bytes at a time.
func chunks(b []byte, n int) io.Reader {
	return iotest.HalfReader(&chunked{b: b, n: n})
}

type chunked struct {
	b []byte
	n int
}

func (c *chunked) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	k := min(len(p), c.n, len(c.b))
	copy(p, c.b[:k])
	c.b = c.b[k:]
	return k, nil
}

// readAll returns every frame of r, read from src, and the error that
// ended them.
func readAll(r *reader, src io.Reader) ([]string, error) {
	var out []string
	for {
		p, err := r.next(src)
		if err != nil {
			return out, err
		}
		out = append(out, string(p))
	}
}

func TestReaderLines(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want []string
		err  error
	}{
		{"empty", "", 8, nil, io.EOF},
		{"lines", "a\nbb\n\n", 8, []string{"a\n", "bb\n", "\n"}, io.EOF},
		{"last without newline", "a\nbb", 8, []string{"a\n", "bb"}, io.EOF},
		{"exactly max", "1234567\n", 8, []string{"1234567\n"}, io.EOF},
		{"one over", "12345678\n", 8, nil, ErrLineTooLong},
		{"over without newline", "123456789", 8, nil, ErrLineTooLong},
		{"long lines grow the buffer", string(bytes.Repeat([]byte("x"), 9000)) + "\n", 10000,
			[]string{string(bytes.Repeat([]byte("x"), 9000)) + "\n"}, io.EOF},
	}
	for _, tt := range tests {
		for _, n := range []int{1, 3, 4096} {
			t.Run(fmt.Sprintf("%s/reads of %d", tt.name, n), func(t *testing.T) {
				got, err := readAll(newReader(framing{kind: lines, max: tt.max}), chunks([]byte(tt.in), n))
				if !errors.Is(err, tt.err) || !equal(got, tt.want) {
					t.Fatalf("chunks of %d: got %q, %v; want %q, %v", n, got, err, tt.want, tt.err)
				}
			})
		}
	}
}

func TestReaderFrames(t *testing.T) {
	frame := func(s string) string { return string(binary.BigEndian.AppendUint32(nil, uint32(len(s)))) + s }
	big := string(bytes.Repeat([]byte("y"), 9000))
	tests := []struct {
		name string
		in   string
		want []string
		err  error
	}{
		{"empty", "", nil, io.EOF},
		{"frames", frame("a") + frame("") + frame("ccc"), []string{"a", "", "ccc"}, io.EOF},
		{"big frame", frame(big), []string{big}, io.EOF},
		{"over", frame(big + "z"), nil, ErrFrameTooLarge},
		{"cut in the header", frame("a") + "\x00\x00", []string{"a"}, io.ErrUnexpectedEOF},
		{"cut in the body", frame("a") + frame("abc")[:5], []string{"a"}, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		for _, n := range []int{1, 3, 4096} {
			t.Run(fmt.Sprintf("%s/reads of %d", tt.name, n), func(t *testing.T) {
				got, err := readAll(newReader(framing{kind: prefixed, max: 9000}), chunks([]byte(tt.in), n))
				if !errors.Is(err, tt.err) || !equal(got, tt.want) {
					t.Fatalf("chunks of %d: got %d frames, %v; want %d, %v", n, len(got), err, len(tt.want), tt.err)
				}
			})
		}
	}
}

// A length over the limit is refused before anything is allocated for it:
// the buffer keeps its size, and the only allocation is the error.
func TestFrameRefusedBeforeAllocating(t *testing.T) {
	hdr := binary.BigEndian.AppendUint32(nil, 1<<30)
	src := &chunked{}
	r := newReader(framing{kind: prefixed, max: 1 << 20})
	r.room(4) // takes the buffer
	size := len(r.buf)
	allocs := testing.AllocsPerRun(100, func() {
		src.b, src.n = hdr, 4
		r.r, r.w, r.err = 0, 0, nil
		if _, err := r.next(src); !errors.Is(err, ErrFrameTooLarge) {
			t.Fatalf("got %v; want ErrFrameTooLarge", err)
		}
	})
	if allocs > 1 || len(r.buf) != size {
		t.Fatalf("refusing allocated %v objects, buffer %d bytes; want 1 (the error), %d", allocs, len(r.buf), size)
	}
}

// A reader gives its buffer back only when it holds no unread byte, and
// takes one again to read: frames cut across a release come out whole.
func TestReaderRelease(t *testing.T) {
	r := newReader(framing{kind: lines, max: 64})
	if r.buf != nil {
		t.Fatalf("new reader holds %d bytes; want none before it reads", len(r.buf))
	}
	feed := func(s string) {
		n := copy(r.room(64), s)
		r.got(n, nil)
	}
	feed("one\ntw")
	if p, need, err := r.parse(); string(p) != "one\n" || need != 0 || err != nil {
		t.Fatalf("parse: %q, %d, %v; want one", p, need, err)
	}
	if _, need, _ := r.parse(); need == 0 {
		t.Fatal("parse of a partial line: want need > 0")
	}
	r.release()
	if r.buf == nil {
		t.Fatal("released a buffer holding a partial line")
	}
	feed("o\n")
	if p, _, err := r.parse(); string(p) != "two\n" || err != nil {
		t.Fatalf("parse: %q, %v; want two", p, err)
	}
	r.release()
	if r.buf != nil || r.box != nil {
		t.Fatal("kept its buffer with nothing unread")
	}
	feed("three\n")
	if p, _, err := r.parse(); string(p) != "three\n" || err != nil {
		t.Fatalf("parse after release: %q, %v; want three", p, err)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// FuzzLines: however the input is cut into reads, the reader returns the
// lines bytes.SplitAfter finds, or refuses the first one over the limit.
func FuzzLines(f *testing.F) {
	f.Add([]byte("a\nbb\n\nccc"), 4, 1)
	f.Add([]byte("123456789\n"), 8, 3)
	f.Fuzz(func(t *testing.T, in []byte, max, n int) {
		if max < 1 || max > 64 || n < 1 {
			t.Skip()
		}
		var want []string
		var wantErr error = io.EOF
		for _, l := range bytes.SplitAfter(in, []byte("\n")) {
			if len(l) == 0 {
				continue
			}
			if len(l) > max || l[len(l)-1] != '\n' && len(l) >= max {
				// An unterminated line of max bytes cannot end within the limit.
				wantErr = ErrLineTooLong
				break
			}
			want = append(want, string(l))
		}
		got, err := readAll(newReader(framing{kind: lines, max: max}), chunks(in, n))
		if !errors.Is(err, wantErr) || !equal(got, want) {
			t.Fatalf("got %q, %v; want %q, %v", got, err, want, wantErr)
		}
	})
}

// TestHeaderTooLarge: a frame whose length a 4-byte prefix cannot hold is
// refused (it used to wrap: a 4 GiB frame went out with the prefix 0, and
// the peer read its bytes as frames).
func TestHeaderTooLarge(t *testing.T) {
	f := framing{kind: prefixed, max: maxFrame}
	var b [4]byte
	if h, err := f.header(&b, 1<<32-1); err != nil || !bytes.Equal(h, []byte{0xff, 0xff, 0xff, 0xff}) {
		t.Fatalf("header(2^32-1) = %x, %v; want ffffffff, nil", h, err)
	}
	if h, err := f.header(&b, 1<<32); !errors.Is(err, ErrFrameTooLarge) || h != nil {
		t.Fatalf("header(2^32) = %x, %v; want nil, ErrFrameTooLarge", h, err)
	}
	if h, err := (framing{kind: lines, max: maxFrame}).header(&b, 1<<32); err != nil || h != nil {
		t.Fatalf("lines header = %x, %v; want none", h, err)
	}
}
