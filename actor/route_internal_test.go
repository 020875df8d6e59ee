package actor

import (
	"testing"
	"time"
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

// travels says how a method's payloads of type Q travel (see carriage).
func travels[Q any]() string {
	return [...]string{carryNone: "nothing", carryPointer: "pointer", carryInline: "inline", carryBox: "castMsg"}[carriage[Q]()]
}

func TestCarriage(t *testing.T) {
	type one struct{ p *int }
	type two struct{ a, b int }
	type three struct{ a, b, c int }
	type withString struct{ s string }
	type mixed struct {
		a int32
		b [12]byte
	}
	type padded struct {
		p *int
		_ struct{}
	}
	type zeroFirst struct {
		_ [0]int
		p *int
	}
	for _, c := range []struct {
		name, got, want string
	}{
		{"empty struct", travels[struct{}](), "nothing"},
		{"empty array of pointers", travels[[0]*int](), "nothing"},
		{"pointer", travels[*int](), "pointer"},
		{"map", travels[map[int]int](), "pointer"},
		{"chan", travels[chan int](), "pointer"},
		{"func", travels[func()](), "pointer"},
		{"struct of one pointer", travels[one](), "pointer"},
		{"struct of a zero-size field and a pointer", travels[zeroFirst](), "pointer"},
		{"array of one pointer", travels[[1]*int](), "pointer"},
		{"bool", travels[bool](), "inline"},
		{"int", travels[int](), "inline"},
		{"duration", travels[time.Duration](), "inline"},
		{"complex128", travels[complex128](), "inline"},
		{"struct of two ints", travels[two](), "inline"},
		{"struct of int32 and bytes", travels[mixed](), "inline"},
		{"two floats", travels[[2]float64](), "inline"},
		{"interface", travels[any](), "castMsg"},
		{"error", travels[error](), "castMsg"},
		{"pointer padded by a zero-size field", travels[padded](), "castMsg"},
		{"two pointers", travels[[2]*int](), "castMsg"},
		{"struct of three ints", travels[three](), "castMsg"},
		{"time", travels[time.Time](), "castMsg"},
		{"string", travels[string](), "castMsg"},
		{"struct of a string", travels[withString](), "castMsg"},
		{"slice", travels[[]int](), "castMsg"},
	} {
		if c.got != c.want {
			t.Errorf("%s travels: got %s; want %s", c.name, c.got, c.want)
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
