package timer

import "sync/atomic"

// Schedule's timers are nodes of an arena the wheel owns: chunks of
// chunkCap nodes, each node a due tick, a generation and two list links
// (node ids, not pointers), with the node's func in a parallel array of
// the chunk. A pending Schedule timer is 32 bytes (a 24-byte node and an
// 8-byte func), and the only pointer the garbage collector finds in it is
// the func: the nodes come after the last pointer of a chunk, so the
// collector never reads them. With a million timers pending, that is most
// of what an arm costs apart from the clock: a pointerful timer (the
// pooled timers Schedule used, 64 bytes with six pointers) makes the
// collector find and mark every link at each cycle, and each pointer
// stored while it marks goes through a write barrier.
//
// Measured (bench/: TimerSchedulePending, 1M-2M pending, nothing to
// recycle; two sessions of 3-4 runs alternating with the pooled timers,
// a loaded 2-core VM, medians of troupe/raw within each run): 150-214 ->
// 86-97 CPU ns per Schedule (the collector's work included), 0.71 and
// 0.64 -> 0.35 and 0.37 times time.AfterFunc's; wall time 0.78 and 0.81
// -> 0.35 and 0.44 times, spread widely by the load.
//
// A chunk is exactly 32 KiB (four pages, a large object with no malloc
// header), so a pending node costs its 32 bytes and nothing more. A chunk
// whose nodes are all free is released, unless it is the one the wheel
// allocates from: memory held after a burst is given back as its timers
// finish. Node ids are 1-based (0 is "no node"): chunk index <<
// chunkBits | slot, plus one.
const (
	chunkBits = 10
	chunkLen  = 1 << chunkBits
	chunkMask = chunkLen - 1
	chunkCap  = chunkLen - 1 // nodes per chunk: the chunk fits 32 KiB exactly
	genMask   = 1<<(64-chunkBits) - 1
)

// node is a Schedule timer. Guarded by the wheel's mu.
type node struct {
	pos pos // due tick, slot and level, as Timer.pos
	// gen tells the node's schedulings apart (modulo 2^54): bumped when one
	// ends, so a Handle of an earlier one refers to nothing.
	gen uint64
	// next and prev link the node into its slot's list while pending
	// (ids; 0 for none); a free node's next links the chunk's free list
	// (slot+1).
	next, prev uint32
}

// chunk is chunkCap nodes and their funcs, allocated as one object. Its
// pointers come first (w, then fns), so the garbage collector scans only
// those and never the nodes. Guarded by w.mu, except w: set when the
// chunk is made, and cleared (under w.mu) when it is released or the
// wheel is stopped, after which no Handle into it can stop anything, so
// that a kept Handle keeps its chunk but not the wheel. Handle.Stop reads
// it without the lock, hence atomic.
type chunk struct {
	w     atomic.Pointer[Wheel]
	fns   [chunkCap]func()
	nodes [chunkCap]node
	idx   uint32 // index in arena.chunks
	used  uint32 // nodes handed out at least once (the rest are zero)
	free  uint32 // first free node (slot+1) of those handed out; 0 if none
	live  uint32 // nodes handed out and not yet freed
	spare uint32 // its index in arena.spare plus one; 0 if not there
}

// arena holds a wheel's chunks. Guarded by the wheel's mu.
type arena struct {
	chunks []*chunk // by index; nil where a chunk was released
	holes  []uint32 // released indices, for the next chunks
	spare  []*chunk // chunks with a node free, in use, not current
	cur    *chunk   // the chunk nodes are taken from first
}

// id returns the id of node s of c.
func (c *chunk) id(s int) uint32 { return c.idx<<chunkBits | uint32(s) + 1 }

// at returns the chunk and slot of node id.
func (a *arena) at(id uint32) (*chunk, int) {
	i := id - 1
	return a.chunks[i>>chunkBits], int(i & chunkMask)
}

// node returns node id.
func (a *arena) node(id uint32) *node {
	c, s := a.at(id)
	return &c.nodes[s]
}

// alloc returns a node in no list and not pending, with its func nil,
// from the current chunk, another with room, or a new one. Cost: O(1)
// amortized; one 32 KiB allocation per chunkCap nodes when none is free.
func (a *arena) alloc(w *Wheel) (*chunk, int) {
	if c := a.cur; c != nil {
		if s := int(c.free) - 1; s >= 0 {
			c.free = c.nodes[s].next
			c.nodes[s].next = 0
			c.live++
			return c, s
		}
		if s := c.used; s < chunkCap {
			c.used++
			c.live++
			return c, int(s)
		}
	}
	return a.allocSlow(w)
}

// allocSlow is alloc when the current chunk is full (or there is none).
func (a *arena) allocSlow(w *Wheel) (*chunk, int) {
	c := a.nextChunk(w)
	c.live++
	if s := int(c.free) - 1; s >= 0 {
		c.free = c.nodes[s].next
		c.nodes[s].next = 0
		return c, s
	}
	c.used++
	return c, int(c.used - 1)
}

// nextChunk makes a chunk with room current: a spare one, else a new one.
func (a *arena) nextChunk(w *Wheel) *chunk {
	if n := len(a.spare); n > 0 {
		c := a.spare[n-1]
		a.unspare(c)
		a.cur = c
		return c
	}
	c := &chunk{}
	c.w.Store(w)
	if n := len(a.holes); n > 0 {
		c.idx = a.holes[n-1]
		a.holes = a.holes[:n-1]
		a.chunks[c.idx] = c
	} else {
		if uint64(len(a.chunks)) >= 1<<(32-chunkBits)-1 {
			panic("timer: more than 4 billion Schedule timers pending")
		}
		c.idx = uint32(len(a.chunks))
		a.chunks = append(a.chunks, c)
	}
	a.cur = c
	return c
}

// unspare takes c out of a.spare, moving the last spare chunk into its
// place. Cost: O(1).
func (a *arena) unspare(c *chunk) {
	i, last := c.spare-1, len(a.spare)-1
	if int(i) != last {
		m := a.spare[last]
		a.spare[i] = m
		m.spare = i + 1
	}
	a.spare[last] = nil
	a.spare = a.spare[:last]
	c.spare = 0
}

// drop empties the arena of a wheel being stopped, whose nodes are all
// free: every chunk but the current one has been released, and that one
// is cut off from the wheel too. Cost: O(1).
func (a *arena) drop() {
	if a.cur != nil {
		a.cur.w.Store(nil)
	}
	*a = arena{}
}

// free ends the scheduling node s of c holds, which is in no list: stale
// Handles refer to nothing from then on. A chunk left with no node in use
// is released unless current, and taken out of a.spare, which would
// otherwise keep it in memory until a chunk is next needed; otherwise it
// becomes spare. Cost: O(1).
func (a *arena) free(c *chunk, s int) {
	n := &c.nodes[s]
	n.gen = (n.gen + 1) & genMask
	n.pos.setPos(notPending, 0)
	n.next = c.free
	c.free = uint32(s + 1)
	c.fns[s] = nil
	c.live--
	switch {
	case c == a.cur:
	case c.live == 0:
		if c.spare != 0 {
			a.unspare(c)
		}
		c.w.Store(nil)
		a.chunks[c.idx] = nil
		a.holes = append(a.holes, c.idx)
	case c.spare == 0:
		a.spare = append(a.spare, c)
		c.spare = uint32(len(a.spare))
	}
}
