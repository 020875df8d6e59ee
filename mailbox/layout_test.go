package mailbox

import (
	"testing"
	"unsafe"
)

// TestQueuesLayout checks what queues' layout comment promises: a size
// that is a multiple of 64 (so the allocator aligns it to a cache line),
// and what a Push touches within the first 64 bytes, whatever T is.
func TestQueuesLayout(t *testing.T) {
	check := func(name string, size, seqEnd, mainEnd uintptr) {
		t.Helper()
		if size%64 != 0 {
			t.Errorf("%s: size %d is not a multiple of 64; fix queuesPad", name, size)
		}
		if seqEnd > 64 || mainEnd > 64 {
			t.Errorf("%s: Push's fields end at %d and %d; want within the first 64 bytes", name, seqEnd, mainEnd)
		}
	}
	var a queues[int]
	check("queues[int]", unsafe.Sizeof(a), unsafe.Offsetof(a.seq)+8, unsafe.Offsetof(a.main)+unsafe.Sizeof(a.main))
	var b queues[[7]any]
	check("queues[[7]any]", unsafe.Sizeof(b), unsafe.Offsetof(b.seq)+8, unsafe.Offsetof(b.main)+unsafe.Sizeof(b.main))
	// The Mailbox itself stays small: it is embedded in every actor.
	if s := unsafe.Sizeof(Mailbox[int]{}); s > 40 {
		t.Errorf("Mailbox is %d bytes; want <= 40", s)
	}
}
