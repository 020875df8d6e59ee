package actor

import (
	"testing"
	"unsafe"
)

// TestMemberLayout keeps a member at two cache lines: its counters are
// written by callers and by its worker's turn, and members allocated side
// by side must not share a line.
func TestMemberLayout(t *testing.T) {
	if s := unsafe.Sizeof(member{}); s != 128 {
		t.Errorf("member is %d bytes; want 128", s)
	}
}

// Rendezvous hashing: removing a member moves only its keys; adding one
// moves keys only to it, about 1/n of them.
func TestRendezvousMovesMinimally(t *testing.T) {
	var r router
	ms := make([]*member, 8)
	for i := range ms {
		ms[i] = &member{c: &cell{}, seed: uint64(i)}
	}
	pick := func(ms []*member, h uint64) *member { return r.rendezvous(ms, h, nil) }
	const keys = 10000
	moved, gained := 0, 0
	extra := &member{c: &cell{}, seed: 8}
	grown := append(ms[:8:8], extra)
	for k := range uint64(keys) {
		h := mix64(k)
		before := pick(ms, h)
		if after := pick(ms[1:], h); after != before && before != ms[0] {
			t.Fatalf("key %d moved from member %d, which stayed", k, before.seed)
		}
		if before == ms[0] {
			moved++
		}
		if after := pick(grown, h); after != before {
			if after != extra {
				t.Fatalf("key %d moved to member %d, not the new one", k, after.seed)
			}
			gained++
		}
	}
	for _, n := range []int{moved, gained} {
		if n < keys/9-keys/40 || n > keys/8+keys/40 {
			t.Errorf("got %d of %d keys moved; want about 1/8 or 1/9", n, keys)
		}
	}
}

func TestPointerShaped(t *testing.T) {
	type one struct{ p *int }
	type two struct{ a, b int }
	type withString struct{ s string }
	for _, c := range []struct {
		name string
		got  bool
		want bool
	}{
		{"pointer", newBoxes[struct{}, *int, struct{}]() == nil, true},
		{"map", newBoxes[struct{}, map[int]int, struct{}]() == nil, true},
		{"chan", newBoxes[struct{}, chan int, struct{}]() == nil, true},
		{"func", newBoxes[struct{}, func(), struct{}]() == nil, true},
		{"interface", newBoxes[struct{}, any, struct{}]() == nil, true},
		{"empty struct", newBoxes[struct{}, struct{}, struct{}]() == nil, true},
		{"bool", newBoxes[struct{}, bool, struct{}]() == nil, true},
		{"struct of one pointer", newBoxes[struct{}, one, struct{}]() == nil, true},
		{"array of one pointer", newBoxes[struct{}, [1]*int, struct{}]() == nil, true},
		{"int", newBoxes[struct{}, int, struct{}]() == nil, false},
		{"string", newBoxes[struct{}, string, struct{}]() == nil, false},
		{"struct of two ints", newBoxes[struct{}, two, struct{}]() == nil, false},
		{"struct of a string", newBoxes[struct{}, withString, struct{}]() == nil, false},
		{"slice", newBoxes[struct{}, []int, struct{}]() == nil, false},
	} {
		if c.got != c.want {
			t.Errorf("%s fits in an interface: got %v; want %v", c.name, c.got, c.want)
		}
	}
}

// TestSlabLayout keeps a slab's two counters on cache lines of their own,
// ahead of its castMsgs: senders write next, turns write freed.
func TestSlabLayout(t *testing.T) {
	var s slab[struct{}, [2]int, struct{}]
	if off := unsafe.Offsetof(s.freed); off != 64 {
		t.Errorf("freed at offset %d; want 64", off)
	}
	if off := unsafe.Offsetof(s.msgs); off != 128 {
		t.Errorf("castMsgs at offset %d; want 128", off)
	}
}
