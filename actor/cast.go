package actor

import (
	"reflect"
	"sync"
	"sync/atomic"

	"github.com/troupe-go/troupe/mailbox"
)

// A oneway's payload rides in its envelope's req field, an interface. A
// pointer-shaped payload (a pointer, map, channel, func, interface, or a
// type of size 0 or 1) goes there as it is, for free. Any other value
// would be copied to the heap to fit in the interface: one allocation per
// message, and garbage that the collector must scan while a backlog of
// thousands of them waits in a mailbox (measured: a 16-byte struct cost
// 3.5× a pointer, 100 vs 28 ns/msg). So such a payload travels in a
// castMsg instead, the envelope's message, and castMsgs are recycled.
//
// Recycling, and why this shape. castMsgs come in slabs of slabSize,
// allocated together. The method has a current slab; a sender takes the
// next unused castMsg of it with one atomic add on a counter that only
// senders write. The actor's turn, once the handler has returned, clears
// the payload and counts the castMsg freed on its slab (one atomic add on
// a counter that only turns write, on its own cache line); the turn that
// frees a slab's last castMsg resets it and puts it on the method's free
// list (a sync.Pool: the collector trims it when traffic stops), where
// the sender that finds the current slab used up takes its next one.
// Measured on 1→1 casts of a 16-byte value, beside pointers at 28 ns:
// boxing in the interface 95–103 ns and 1 alloc/msg; a sync.Pool Get and
// Put per castMsg 87–129 ns (the sender steals from the actor's P every
// time); slabs handed around in sync.Pools 59–63 ns; this: see
// bench/RESULTS.md.
//
// A castMsg belongs to exactly one message from Cast until it is freed,
// which happens only after its handler returned (or it failed): a payload
// is never visible to two handlers. A slab's counters restart only once
// all its castMsgs of the round were freed, so an index is handed out once
// per round, even to a sender that read a used-up slab late (its add
// either finds the slab used up, or starts its next round). A slab is
// pinned while any of its castMsgs is in flight: at most slabSize-1 idle
// neighbours per live one.

// slabSize is how many castMsgs are allocated at once.
const slabSize = 32

// castMsg is a oneway with a value payload.
type castMsg[S, Q, R any] struct {
	m   *Method[S, Q, R]
	s   *slab[S, Q, R]
	req Q
}

// slab is slabSize castMsgs and their two counters, each on its own cache
// line: next, the castMsgs handed out this round (may pass slabSize), and
// freed, those given back.
type slab[S, Q, R any] struct {
	next  atomic.Int32
	_     [60]byte
	freed atomic.Int32
	_     [60]byte
	msgs  [slabSize]castMsg[S, Q, R]
}

// boxes is a method's recycling of castMsgs; nil if its payloads go in
// the interface.
type boxes[S, Q, R any] struct {
	cur  atomic.Pointer[slab[S, Q, R]] // the slab senders take from
	free sync.Pool                     // *slab[S, Q, R] whose castMsgs are all free
}

// newBoxes returns recycling for payloads of type Q, or nil if Q needs
// none. O(fields of Q), once per method.
func newBoxes[S, Q, R any]() *boxes[S, Q, R] {
	if pointerShaped(reflect.TypeFor[Q]()) {
		return nil
	}
	return &boxes[S, Q, R]{}
}

// pointerShaped reports whether a value of t fits in an interface without
// an allocation.
func pointerShaped(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.UnsafePointer, reflect.Map, reflect.Chan, reflect.Func, reflect.Interface:
		return true
	case reflect.Bool, reflect.Int8, reflect.Uint8:
		return true // the runtime keeps every one-byte value in static memory
	case reflect.Struct:
		if t.NumField() == 1 {
			return pointerShaped(t.Field(0).Type) && t.Size() == t.Field(0).Type.Size()
		}
	case reflect.Array:
		if t.Len() == 1 {
			return pointerShaped(t.Elem())
		}
	}
	return t.Size() == 0
}

// box returns a castMsg holding req. Lock-free; no allocation but a slab
// once per slabSize calls while none is free.
func (m *Method[S, Q, R]) box(req Q) *castMsg[S, Q, R] {
	bx := m.boxes
	for {
		s := bx.cur.Load()
		if s != nil {
			if i := s.next.Add(1) - 1; i < slabSize {
				b := &s.msgs[i]
				b.req = req
				return b
			}
		}
		n, _ := bx.free.Get().(*slab[S, Q, R])
		if n == nil {
			n = m.newSlab()
		}
		if !bx.cur.CompareAndSwap(s, n) {
			bx.free.Put(n) // another sender replaced it first: n is unused
		}
	}
}

func (m *Method[S, Q, R]) newSlab() *slab[S, Q, R] {
	s := new(slab[S, Q, R])
	for i := range s.msgs {
		s.msgs[i].m, s.msgs[i].s = m, s
	}
	return s
}

// free clears b's payload and counts b freed; the last of its slab's
// round starts the next round and gives the slab back.
func (b *castMsg[S, Q, R]) free() {
	var zero Q
	b.req = zero
	s := b.s
	if s.freed.Add(1) == slabSize {
		s.freed.Store(0) // before next: frees of the next round count
		s.next.Store(0)
		b.m.boxes.free.Put(s)
	}
}

func (b *castMsg[S, Q, R]) key() mailbox.Key { return b.m.k }
func (b *castMsg[S, Q, R]) name() string     { return b.m.label }
func (b *castMsg[S, Q, R]) live() bool       { return true }

// run handles the oneway. b is put back only once the handler has
// returned: if it panics, fail still finds the payload for the dead letter.
func (b *castMsg[S, Q, R]) run(x *Ctx, _ any) {
	b.m.handle(x, b.req)
	b.free()
}

func (b *castMsg[S, Q, R]) fail(to *cell, _ any, err error, why uint8) {
	to.deadLetter(why, b.m.label, err, b.req)
	b.free()
}
