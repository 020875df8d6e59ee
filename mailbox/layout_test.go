package mailbox

import (
	"testing"
	"unsafe"
)

// TestQueuesLayout checks what queues' layout comment promises: a size
// that is a multiple of 64 (so the allocator aligns it to a cache line),
// the lane's producer half in the first 64 bytes and its consumer half,
// with the held queues, in the next, and what a Push into a bounded
// mailbox touches (mu to main's header) within the third, whatever T is.
func TestQueuesLayout(t *testing.T) {
	type offsets struct{ size, laneEnd, producersEnd, consumerEnd, mu, seqEnd, mainEnd uintptr }
	check := func(name string, o offsets) {
		t.Helper()
		if o.size%64 != 0 {
			t.Errorf("%s: size %d is not a multiple of 64; fix queuesPad", name, o.size)
		}
		if o.producersEnd > 64 || o.consumerEnd > 128 || o.laneEnd > 128 {
			t.Errorf("%s: the lane's halves end at %d and %d, the held queues at %d; want 64, 128, 128", name, o.producersEnd, o.consumerEnd, o.laneEnd)
		}
		if o.mu != 128 || o.seqEnd > 192 || o.mainEnd > 192 {
			t.Errorf("%s: a bounded Push's fields span %d to %d and %d; want 128 to 192", name, o.mu, o.seqEnd, o.mainEnd)
		}
	}
	var a queues[int]
	check("queues[int]", offsets{unsafe.Sizeof(a), unsafe.Offsetof(a.nonEmpty) + unsafe.Sizeof(a.nonEmpty),
		unsafe.Offsetof(a.lane.taken) + 8, unsafe.Offsetof(a.lane.popped) + 8,
		unsafe.Offsetof(a.mu), unsafe.Offsetof(a.seq) + 8, unsafe.Offsetof(a.main) + unsafe.Sizeof(a.main)})
	var b queues[[7]any]
	check("queues[[7]any]", offsets{unsafe.Sizeof(b), unsafe.Offsetof(b.nonEmpty) + unsafe.Sizeof(b.nonEmpty),
		unsafe.Offsetof(b.lane.taken) + 8, unsafe.Offsetof(b.lane.popped) + 8,
		unsafe.Offsetof(b.mu), unsafe.Offsetof(b.seq) + 8, unsafe.Offsetof(b.main) + unsafe.Sizeof(b.main)})
	// The Mailbox itself stays small: it is embedded in every actor.
	if s := unsafe.Sizeof(Mailbox[int]{}); s > 32 {
		t.Errorf("Mailbox is %d bytes; want <= 32", s)
	}
}
