package actor

import (
	"reflect"
	"testing"
)

// A turn counts the castMsgs it frees on its Ctx and adds them to their
// slab at once, when it meets another slab or ends: a slab comes back to
// its method only once all its castMsgs were freed, and then it does.
func TestTurnFreesRecycleSlabs(t *testing.T) {
	m := NewMethod("count", func(*int, *Ctx, pair) (struct{}, error) { return struct{}{}, nil })
	var first, second [slabSize]*castMsg[*int, pair, struct{}]
	for i := range first {
		first[i] = m.box(pair{i, i})
	}
	for i := range second {
		second[i] = m.box(pair{i, i})
	}
	s1, s2 := first[0].s, second[0].s
	if s1 == s2 {
		t.Fatal("64 boxes came from one slab")
	}
	x := getCtx(nil)
	for _, b := range first[:slabSize-1] {
		b.freeOnTurn(x)
	}
	if got := s1.freed.Load(); got != 0 {
		t.Fatalf("slab counted %d frees during the turn; want 0 (counted on the turn)", got)
	}
	first[slabSize-1].freeOnTurn(x)
	second[0].freeOnTurn(x) // another slab: the first one's frees are counted
	if s1.next.Load() != 0 || s1.freed.Load() != 0 {
		t.Fatalf("first slab after all its frees: next %d, freed %d; want a new round (0, 0)", s1.next.Load(), s1.freed.Load())
	}
	for _, b := range second[1:] {
		b.freeOnTurn(x)
	}
	if got := s2.next.Load(); got != slabSize {
		t.Fatalf("second slab's next = %d before the turn ended; want %d", got, slabSize)
	}
	putCtx(x) // the turn ends: its frees are counted
	if s2.next.Load() != 0 || s2.freed.Load() != 0 {
		t.Fatalf("second slab after the turn: next %d, freed %d; want a new round (0, 0)", s2.next.Load(), s2.freed.Load())
	}
}

// A freed castMsg lets go of what its payload points to; a pointer-free
// payload is left in place (nothing to let go of).
func TestFreedPayloadScrubbed(t *testing.T) {
	ms := NewMethod("str", func(*int, *Ctx, named) (struct{}, error) { return struct{}{}, nil })
	x := getCtx(nil)
	b := ms.box(named{s: "kept alive"})
	b.freeOnTurn(x)
	if b.req != (named{}) {
		t.Errorf("freed payload with a string = %+v; want it cleared", b.req)
	}
	mp := NewMethod("plain", func(*int, *Ctx, pair) (struct{}, error) { return struct{}{}, nil })
	p := mp.box(pair{1, 2})
	p.freeOnTurn(x)
	if p.req != (pair{1, 2}) {
		t.Errorf("freed pointer-free payload = %+v; want it left as it was", p.req)
	}
	putCtx(x)
}

func TestHasPointers(t *testing.T) {
	for _, c := range []struct {
		v    any
		want bool
	}{
		{0, false}, {pair{}, false}, {[4]int64{}, false}, {struct{ a [0]*int }{}, false},
		{"", true}, {named{}, true}, {[]int{}, true}, {[1]*int{}, true},
		{struct {
			a int
			m map[int]int
		}{}, true},
	} {
		if got := hasPointers(reflect.TypeOf(c.v)); got != c.want {
			t.Errorf("hasPointers(%T) = %v; want %v", c.v, got, c.want)
		}
	}
}

type (
	pair  struct{ a, b int }
	named struct{ s string }
)
