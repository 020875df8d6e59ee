package serve

import (
	"bytes"
	"testing"
)

// writeDataCopying is writeData as it was, the reference for its lines.
func writeDataCopying(b *bytes.Buffer, data []byte) {
	data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		for part := range bytes.SplitSeq(line, []byte("\r")) {
			b.WriteString("data: ")
			b.Write(part)
			b.WriteByte('\n')
		}
	}
	b.WriteByte('\n')
}

// An SSE event's data is written as lines without a copy of it: an
// event of n bytes used to cost a copy of n bytes (bytes.ReplaceAll
// copies even when there is nothing to replace) besides the buffer's;
// the lines are the same, for every kind of line end.
func TestSSEDataNoCopy(t *testing.T) {
	for _, s := range []string{"", "a", "a\n", "a\r", "a\r\n", "\r\n\r\n", "a\r\r\nb", "a\n\rb", "a\r\n\nb\rc\n",
		"\n", "\r", "x\r\n\r", "first\r\nsecond\nthird\rfourth"} {
		var got, want bytes.Buffer
		writeData(&got, []byte(s))
		writeDataCopying(&want, []byte(s))
		if got.String() != want.String() {
			t.Errorf("writeData(%q): got %q; want %q", s, got.String(), want.String())
		}
	}
	data := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB, one line
	var b bytes.Buffer
	b.Grow(2 * len(data))
	if n := testing.AllocsPerRun(5, func() {
		b.Reset()
		writeData(&b, data)
	}); n != 0 {
		t.Fatalf("writeData of 1 MiB into a grown buffer: %v allocations; want 0", n)
	}
}
