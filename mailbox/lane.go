package mailbox

import (
	"runtime"
	"sync/atomic"
)

// lane is the user queue of an unbounded mailbox: a lock-free queue of
// many producers and one consumer, on a list of blocks of slots (the
// design of crossbeam's SegQueue). A producer reserves a position with
// one compare-and-swap on tail, writes the message into the position's
// slot and publishes it by storing the slot's tag; the consumer reads the
// slots in order, each once its tag says it is written. Producers never
// wait for one another nor for the consumer (no lock to park on: with 8
// or 64 senders on 2 cores the mutex's park and wake-up were most of a
// message's cost), and the consumer reads only the slots, not the line
// producers write, but once per batch.
//
// Positions are numbered from 0 in laps: a lap's last position is a
// marker, the others are the slots of one block. The first lap is short
// (laneFirstN slots, a 288-byte block with 32-byte messages), so that the
// many actors that get a message now and then hold little; the others
// are laneLap long. The first block is never recycled (the lane keeps it
// in first); a producer finds it there, without reading tailBlock. The producer that
// reserves a block's last slot installs the next block before it writes
// that slot: tail passes the marker only once the new block is tailBlock,
// and a producer that finds tail on a marker waits for that (a few
// instructions, unless the installer is preempted). The consumer, having
// read a block's last slot, moves to the next block (installed, then) at
// once. A producer reads nothing of a block before its compare-and-swap
// succeeds: if tailBlock changed after its load of tail, tail did too, and
// the compare-and-swap fails. So a push touches two cache lines, tail's
// and its slot's.
//
// Blocks are recycled: the consumer pushes the block it has read through
// on a stack of free blocks (up to laneKeep of them) that installers pop,
// so traffic whose backlog comes and goes allocates nothing. A
// recycled block is safe to reuse: every producer that reserved one of
// its positions has written it (the consumer read it), and a producer
// holding a stale tailBlock fails its compare-and-swap; its tags (old
// positions + 1) cannot match any later position.
//
// Sealing (a bit in tail) ends pushes for good: Close seals the lane,
// Trim seals an empty one and marks it retired, so that a producer that
// finds it sealed knows to push into the mailbox's next queues.
type lane[T any] struct {
	// Written by producers.
	tail      atomic.Uint64 // position<<laneShift | laneRetired | laneSealed
	tailBlock atomic.Pointer[laneBlock[T]]
	free      atomic.Pointer[laneBlock[T]] // blocks read through, for the next installs: a stack linked by next
	first     atomic.Pointer[laneFirst[T]] // the first block, made by the first push
	// taken is how many messages were pushed when the consumer's current
	// batch began (see batch). The consumer writes it once per batch;
	// producers read it after every push (Backlog), so it lives on their
	// line, not the consumer's.
	taken atomic.Uint64
	freeN atomic.Int32 // blocks in free (about: it lags the stack)
	_     [64 - 44]byte

	// Written by the consumer.
	head      uint64 // the next position to read; never a marker
	headBlock *laneBlock[T]
	batchEnd  uint64        // tail's position when the current batch began
	popped    atomic.Uint64 // messages read, for Len
	// The consumer's half is 32 bytes: queues fills the rest of its line
	// with fields of its own that only the consumer writes.
}

const (
	laneSealed  = 1 << 0
	laneRetired = 1 << 1
	laneShift   = 2

	laneFirstN   = 7              // slots of the first block
	laneFirstLap = laneFirstN + 1 // positions of the first lap
	laneLap      = 32             // positions of every later lap
	laneBlockN   = laneLap - 1    // slots of every later block (1.25 KB with 32-byte messages)

	// laneKeep is how many blocks read through the lane keeps for reuse:
	// enough for a backlog of 8,000 messages (the actor layer's flood
	// threshold) to come and go without allocating, about 320 KB with
	// 32-byte messages at most, given back with the queues by Trim.
	laneKeep = 256
)

// laneSlot is one position's message; tag is the position + 1 once msg
// is written for it.
type laneSlot[T any] struct {
	msg T
	tag atomic.Uint64
}

// laneBlock is the block of one lap's slots; laneFirst the first one.
type laneBlock[T any] struct {
	next  atomic.Pointer[laneBlock[T]]
	slots [laneBlockN]laneSlot[T]
}

type laneFirst[T any] struct {
	next  atomic.Pointer[laneBlock[T]]
	slots [laneFirstN]laneSlot[T]
}

// where returns the offset of position pos in its block (n, the block's
// length, for a marker), and whether the block is the first.
func where(pos uint64) (off, n uint64, first bool) {
	if pos < laneFirstLap {
		return pos, laneFirstN, true
	}
	return (pos - laneFirstLap) % laneLap, laneBlockN, false
}

// at returns the slot of position pos, at offset off (see where), and the
// link to the block after pos's block; nil before the first push.
func (l *lane[T]) at(off uint64, first bool, b *laneBlock[T]) (*laneSlot[T], *atomic.Pointer[laneBlock[T]]) {
	if first {
		f := l.first.Load()
		if f == nil {
			return nil, nil
		}
		return &f.slots[off], &f.next
	}
	return &b.slots[off], &b.next
}

// push appends msg and returns 0, or, appending nothing, the tail word of
// a sealed lane (see laneRetired). Lock-free; no allocation but one block
// per laneBlockN messages when none is free.
func (l *lane[T]) push(msg T) (sealed uint64) {
	for {
		t := l.tail.Load()
		if t&laneSealed != 0 {
			return t
		}
		pos := t >> laneShift
		off, n, first := where(pos)
		if off == n {
			runtime.Gosched() // on the marker: the next block is being installed
			continue
		}
		var b *laneBlock[T]
		if !first {
			b = l.tailBlock.Load()
		}
		s, link := l.at(off, first, b)
		if s == nil { // the first push
			l.first.CompareAndSwap(nil, new(laneFirst[T]))
			continue
		}
		if !l.tail.CompareAndSwap(t, t+1<<laneShift) {
			continue
		}
		if off+1 == n { // the block's last slot: install the next block
			next := l.reuse()
			l.tailBlock.Store(next)
			l.tail.Add(1 << laneShift) // past the marker
			link.Store(next)
		}
		s.msg = msg
		s.tag.Store(pos + 1)
		return 0
	}
}

// reuse returns a block for an install: a free one, else a new one. Only
// the installer calls it, and installs are one at a time (the next cannot
// begin before tail passes this one's marker), so the free stack has one
// popper: a block it finds on top cannot be popped and pushed back
// between its loads and its compare-and-swap (no ABA), and the consumer's
// pushes only make that compare-and-swap fail and retry.
func (l *lane[T]) reuse() *laneBlock[T] {
	for {
		b := l.free.Load()
		if b == nil {
			return new(laneBlock[T])
		}
		if l.free.CompareAndSwap(b, b.next.Load()) {
			l.freeN.Add(-1)
			b.next.Store(nil)
			return b
		}
	}
}

// recycle pushes b, read through, on the free stack, unless it holds
// laneKeep blocks already (then b is left to the garbage collector).
// Consumer only.
func (l *lane[T]) recycle(b *laneBlock[T]) {
	if l.freeN.Load() >= laneKeep {
		b.next.Store(nil)
		return
	}
	for {
		top := l.free.Load()
		b.next.Store(top)
		if l.free.CompareAndSwap(top, b) {
			l.freeN.Add(1)
			return
		}
	}
}

// next returns the slot of the next position to read, and the tag it
// holds once written; nil before the first push. Consumer only.
func (l *lane[T]) next() (*laneSlot[T], uint64) {
	off, _, first := where(l.head)
	s, _ := l.at(off, first, l.headBlock)
	return s, l.head + 1
}

// ready reports whether the next position is written. Consumer only.
func (l *lane[T]) ready() bool {
	s, tag := l.next()
	return s != nil && s.tag.Load() == tag
}

// pop removes and returns the next message if it is written. Consumer
// only; O(1).
func (l *lane[T]) pop() (msg T, ok bool) {
	s, tag := l.next()
	if s == nil || s.tag.Load() != tag {
		return msg, false
	}
	msg = s.msg
	var zero T
	s.msg = zero // for the garbage collector
	l.head++
	if off, n, first := where(l.head); off == n {
		l.advance(first)
	}
	l.popped.Store(l.popped.Load() + 1)
	return msg, true
}

// advance moves the consumer past a marker, from the block it has read
// through (the first one, if first) to the next one (installed before the
// last slot was written), and offers the block read through for reuse.
func (l *lane[T]) advance(first bool) {
	l.head++
	if first {
		l.headBlock = l.first.Load().next.Load()
		return
	}
	b := l.headBlock
	l.headBlock = b.next.Load()
	l.recycle(b)
}

// batch begins the consumer's next batch: every message pushed until now.
// The consumer calls it once it has read the last batch through (and has
// a message to read); it reads tail, the producers' line, once per batch.
func (l *lane[T]) batch() {
	l.batchEnd = l.tail.Load() >> laneShift
	l.taken.Store(count(l.batchEnd))
}

// count is the number of slots below position pos (the markers below it
// left out).
func count(pos uint64) uint64 {
	if pos < laneFirstLap {
		return min(pos, laneFirstN)
	}
	p := pos - laneFirstLap
	return laneFirstN + p - p/laneLap
}

// pushed is how many messages producers have reserved positions for.
func (l *lane[T]) pushed() uint64 { return count(l.tail.Load() >> laneShift) }

// len is how many messages are pushed and not yet popped. popped is read
// first, so that the difference is never negative.
func (l *lane[T]) len() int {
	popped := l.popped.Load()
	return int(l.pushed() - popped)
}

// backlog is how many messages were pushed since the current batch began.
func (l *lane[T]) backlog() int {
	taken := l.taken.Load()
	return int(l.pushed() - taken)
}

// seal ends pushes and returns tail's position then. Pushes that reserved
// a position before it still write their slots: see drain.
func (l *lane[T]) seal() uint64 { return l.tail.Or(laneSealed) >> laneShift }

// sealIfEmpty seals the lane if it is empty (no position reserved beyond
// the consumer's), setting flags too (laneRetired for Trim's; none for
// CloseIfEmpty's), and reports whether it did. Consumer only.
func (l *lane[T]) sealIfEmpty(flags uint64) bool {
	t := l.head << laneShift
	return l.tail.CompareAndSwap(t, t|laneSealed|flags)
}

// drain pops every message below position end, waiting for those reserved
// but not yet written (their producers are between two instructions), in
// order, into f. Consumer only, after seal.
func (l *lane[T]) drain(end uint64, f func(T)) {
	for l.head < end {
		if msg, ok := l.pop(); ok {
			f(msg)
		} else {
			runtime.Gosched()
		}
	}
}
