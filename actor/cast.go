package actor

import (
	"reflect"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/troupe-go/troupe/mailbox"
)

// A oneway's payload rides in its envelope (see payload), in one of four
// ways, chosen once per method by carriage:
//
//   - A type of size 0 (struct{}): nothing to carry.
//   - One pointer (a pointer, map, channel or func, alone or as the only
//     field of a struct or array): in the envelope's pointer word, p.
//   - A value of at most 16 bytes with no pointers in it (an int, a
//     time.Duration, Amount{Cents, Units int64}, a small array of
//     numbers, a bool): copied into the envelope's two inline words, w.
//     The handler gets its own copy, read back from the words.
//   - Any other value (a string, a slice, an interface, a struct holding
//     a pointer or larger than 16 bytes) would be copied to the heap to
//     fit in an interface: one allocation per message, and garbage the
//     collector must scan while a backlog of thousands waits in a mailbox
//     (measured: a 16-byte struct cost 3.5× a pointer, 100 vs 28 ns/msg).
//     It travels in a recycled castMsg instead, and the castMsg is the
//     message.
//
// In the first three the method itself is the message (its self), and
// nothing is allocated or shared.
//
// Why unsafe. p is an unsafe.Pointer and w two uint64s, so one envelope
// type carries every method's payloads without an interface (16 bytes,
// which would make the envelope 48: see envelope). Storing a payload there
// and loading it back is a copy of its bytes through an unsafe.Pointer to
// the word, sized and aligned for it, which carriage checks with reflect
// once per method: p holds exactly one pointer word, which the collector
// sees as the pointer it is; w only a type without pointers, since the
// collector never reads w (a pointer hidden there would let it free what
// the pointer points to). Measured against the code before (an interface
// for the payload, castMsg slabs for every value that did not fit one;
// alternated A/B, five rounds of bench/, medians, ns/msg): 16-byte values
// 1→1 64 → 47, 8→1 158 → 98, 64→1 148 → 88, fan-out over 10k actors
// 246 → 174; pointers 1→1 50 → 46, 8→1 109 → 100, 64→1 93 → 87, fan-out
// 168 → 156; calls, pools, spawns and streams unchanged. The slabs'
// atomic counters and their cache lines, shared by every sender and every
// actor of the method, were most of a small value's cost with many
// senders.
//
// Recycling castMsgs, and why this shape. castMsgs come in slabs of
// slabSize, allocated together. The method has a current slab; a sender
// takes the next unused castMsg of it with one atomic add on a counter that
// only senders write. The actor's turn, once the handler has returned,
// clears the payload and counts the castMsg freed on its slab (one atomic
// add on a counter that only turns write, on its own cache line); the turn
// that frees a slab's last castMsg resets it and puts it on the method's
// free list (a sync.Pool: the collector trims it when traffic stops),
// where the sender that finds the current slab used up takes its next one.
// Measured on 1→1 casts of a 16-byte value, beside pointers at 28 ns:
// boxing in the interface 95–103 ns and 1 alloc/msg; a sync.Pool Get and
// Put per castMsg 87–129 ns (the sender steals from the actor's P every
// time); slabs handed around in sync.Pools 59–63 ns.
//
// A castMsg belongs to exactly one message from Cast until it is freed,
// which happens only after its handler returned (or it failed): a payload
// is never visible to two handlers. A slab's counters restart only once
// all its castMsgs of the round were freed, so an index is handed out once
// per round, even to a sender that read a used-up slab late (its add
// either finds the slab used up, or starts its next round). A slab is
// pinned while any of its castMsgs is in flight: at most slabSize-1 idle
// neighbours per live one.

// carry is how a method's oneway payloads travel (see above).
type carry uint8

const (
	carryNone    carry = iota // size 0: nothing
	carryPointer              // one pointer word, in payload.p
	carryInline               // at most 16 bytes without pointers, in payload.w
	carryBox                  // in a castMsg
)

// inline is an envelope's room for a small value without pointers (see
// above): never read by the garbage collector. Two fields, not an array:
// Go passes a struct of words in registers, an array of two in memory,
// and the envelope built through memory cost a 1→1 oneway of pointers
// 30% (a 16-byte load of what two 8-byte stores had just written stalls).
type inline struct{ lo, hi uint64 }

// carriage decides how payloads of type Q travel. O(fields of Q), once
// per method.
func carriage[Q any]() carry {
	t := reflect.TypeFor[Q]()
	switch {
	case t.Size() == 0:
		return carryNone
	case onePointer(t):
		return carryPointer
	case t.Size() <= unsafe.Sizeof(inline{}) && uintptr(t.Align()) <= unsafe.Alignof(inline{}) && pointerFree(t):
		return carryInline
	}
	return carryBox
}

// onePointer reports whether a value of t is exactly one pointer word.
func onePointer(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.UnsafePointer, reflect.Map, reflect.Chan, reflect.Func:
		return true
	case reflect.Struct:
		for i := range t.NumField() {
			if f := t.Field(i).Type; f.Size() != 0 {
				return f.Size() == t.Size() && onePointer(f)
			}
		}
	case reflect.Array:
		return t.Len() == 1 && onePointer(t.Elem())
	}
	return false
}

// pointerFree reports whether a value of t holds no pointer the garbage
// collector must see.
func pointerFree(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return true
	case reflect.Array:
		return t.Len() == 0 || pointerFree(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if !pointerFree(t.Field(i).Type) {
				return false
			}
		}
		return true
	}
	return false // pointers, strings, slices, maps, channels, funcs, interfaces
}

// encode returns req as the payload of an envelope, for a method whose
// payloads are not boxed.
func (m *Method[S, Q, R]) encode(req Q) (p payload) {
	switch m.carry {
	case carryPointer:
		p.p = *(*unsafe.Pointer)(unsafe.Pointer(&req))
	case carryInline:
		*(*Q)(unsafe.Pointer(&p.w)) = req
	}
	return p
}

// decode returns the request encode stored in p.
func (m *Method[S, Q, R]) decode(p *payload) (req Q) {
	switch m.carry {
	case carryPointer:
		*(*unsafe.Pointer)(unsafe.Pointer(&req)) = p.p
	case carryInline:
		req = *(*Q)(unsafe.Pointer(&p.w))
	}
	return req
}

// slabSize is how many castMsgs are allocated at once.
const slabSize = 32

// castMsg is a oneway with a value payload.
type castMsg[S, Q, R any] struct {
	self message // the castMsg itself (see envelope)
	m    *Method[S, Q, R]
	s    *slab[S, Q, R]
	req  Q
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
		b := &s.msgs[i]
		b.self, b.m, b.s = b, m, s
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
func (b *castMsg[S, Q, R]) run(x *Ctx, _ payload) {
	b.m.handle(x, b.req)
	b.free()
}

func (b *castMsg[S, Q, R]) fail(to *cell, _ payload, err error, why uint8) {
	to.deadLetter(why, b.m.label, err, b.req)
	b.free()
}
