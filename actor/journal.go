package actor

import (
	"context"
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/troupe-go/troupe/mailbox"
)

var nextStreamID atomic.Uint64 // stream ids, from 1, unique per process

// journal is a stream's numbered, bounded log: a ring buffer of its most
// recent items, appended to by producers ([Out]) and read in batches by
// any number of readers ([Follow]).
//
// Numbering: the kept items are [head, tail): tail is the sequence number
// the next Send gets, head the oldest kept (tail minus the count bound, or
// later if the byte bound says so). Item seq is in buf[seq&(len(buf)-1)].
//
// Two locks, so that readers and producers do not take turns at one per
// item. Producers (Send, SendWait, Close) serialize on the producers' lock
// (lockP, folded into the word that publishes tail: see journal_lock.go)
// and write items without mu; readers copy batches out under mu, and
// attach under both (never while a Send is halfway: see newFollow). The
// ring's slots [zeroed, tail) hold the items not yet cleared. A producer
// writes only the slot of the new item, which lies outside that span; its
// unlock publishes the new tail once the item is written, so a reader
// that loads tail sees the item. A reader copies only items in
// [head, tail) as it loaded them under mu. Clearing the slots of dropped
// items (zeroed moves up to head) and replacing the ring need mu as well:
// the producer takes it at a gate, when [zeroed, tail) fills the ring, or
// (with a size function) when the items dropped since the last gate reach
// half the byte bound. So no slot is written while a reader may read it,
// and a reader holds a producer up only at a gate.
//
// The ring doubles from 16 slots up to the smallest power of two ≥ twice
// the count bound: from then on a gate comes about once per bound's worth
// of items, and appending allocates nothing. Items dropped but not yet
// cleared are at most as many as the count bound, and hold at most half
// the byte bound (plus one item).
//
// Waking, without a goroutine per reader: a reader that finds nothing
// new adds itself to waiters (nwait counts them) and parks on its own
// wake channel (capacity 1); a Send that finds nwait > 0 once it has
// published its item takes mu, signals each and empties the list. The
// reader stores nwait before it loads tail one last time, the producer
// stores tail (its unlock) before it loads nwait: one of them sees the
// other (no lost wake-up). A producer waiting for room (SendWait) parks
// on the room channel, closed whenever a reader moves on or leaves.
type journal[E any] struct {
	// Read-mostly: set when made, or (buf) replaced at a gate.
	buf     []E // read by producers under their lock, by readers under mu
	lim     limits[E]
	ringMax uint64        // the ring's largest length
	low     atomic.Uint64 // a lower bound of the attached readers' positions (written under mu)
	nwait   atomic.Int32  // len(waiters) (written under mu)
	pwait   atomic.Int32  // producers parked for the producers' lock
	pwake   chan struct{} // capacity 1: a token for a parked producer
	closed  atomic.Bool   // written under the producers' lock and mu
	id      uint64
	owner   atomic.Pointer[cell] // the producing actor: set when made, or (a pool's stream) when a worker takes it
	label   string
	key     mailbox.Key
	out     Out[E]
	_       cacheLine // what a producer writes per item apart from what a reader does

	// The producers' line: state is read by readers too, but a producer
	// that takes the lock writes it anyway.
	state  atomic.Uint64 // tail<<1, | 1 while a producer holds the lock (lockP)
	pt     uint64        // tail, to publish at unlock; the fields down to the pad are the lock holder's
	ph     uint64        // head
	zeroed uint64        // the ring's slots of items below it are cleared (written under the lock and mu)
	starts []int64       // size function only: each slot's item's start in the byte count
	total  int64         // size function only: bytes sent
	bhead  atomic.Uint64 // size function only: ph, for readers
	_      cacheLine

	mu        sync.Mutex   // guards the fields below
	waiters   []*Follow[E] // readers parked on their wake channel
	readers   []*Follow[E] // attached readers; each knows its index
	cut       []*Follow[E] // readers ended by truncation, not yet closed: no position, but readers for Out.Context
	stopped   bool         // ended by its actor's stop, or by its Open's failure: no dead letter
	err       error        // why it ended; nil for a clean end
	seen      bool         // err has reached a reader or the dead letters
	hadReader bool
	room      chan struct{} // made for producers waiting for room; closed by the last reader behind roomAt to pass it
	roomAt    uint64        // the earliest position a waiting producer needs every attached reader at
	behind    int           // attached readers behind roomAt
	ctx       context.Context
	cancel    context.CancelCauseFunc
	set       *streamSet // the owner's, while the stream is in it
}

// cacheLine keeps the fields before it and after it on different cache
// lines (64 bytes on the machines we measure), so that a producer's
// writes do not take the line a reader reads from it, and back.
type cacheLine [64]byte

const (
	// maxRing caps the count bound: 2^30 items.
	maxRing = 1 << 30
	// firstRing is the ring's first length.
	firstRing = 16
)

func newJournal[E any](owner *cell, label string, key mailbox.Key, lim limits[E]) *journal[E] {
	lim.items = min(lim.items, maxRing)
	j := &journal[E]{id: nextStreamID.Add(1), lim: lim, label: label, key: key, pwake: make(chan struct{}, 1)}
	j.owner.Store(owner)
	j.ringMax = 1 << bits.Len64(2*lim.items-1)
	j.out.j = j
	return j
}

// headOf is head for a reader that loaded tail t (and then bhead, which
// may be later than t: an item it drops is gone all the same).
func (j *journal[E]) headOf(t uint64) uint64 {
	h := j.bhead.Load()
	if t > j.lim.items {
		h = max(h, t-j.lim.items)
	}
	return h
}

// sendP appends e (of sz bytes) at tail, drops the oldest items beyond
// the bounds (never the newest), releases the producers' lock, which
// publishes the new tail, and wakes the parked readers. The caller holds
// the lock and checked that the journal is open. One function: it is the
// hot path of every Send.
func (j *journal[E]) sendP(e E, sz int64) {
	if j.pt-j.zeroed == uint64(len(j.buf)) || j.lim.size != nil && j.bytesGateP() {
		j.gate()
	}
	mask := uint64(len(j.buf) - 1)
	t := j.pt
	j.buf[t&mask] = e
	j.pt = t + 1
	if j.pt-j.ph > j.lim.items {
		j.ph = j.pt - j.lim.items
	}
	if j.lim.size != nil {
		j.countP(t&mask, sz)
	}
	j.unlockP()
	if j.nwait.Load() > 0 {
		j.wake()
	}
}

// bytesGateP reports whether the items dropped since the last gate reach
// half the byte bound. The caller holds the producers' lock.
func (j *journal[E]) bytesGateP() bool {
	return j.startP(j.ph)-j.startP(j.zeroed) >= max(j.lim.bytes/2, 1)
}

// countP adds the item just written in slot i, of sz bytes, to the byte
// count and drops the oldest items beyond the byte bound (never the
// newest). The caller holds the producers' lock.
func (j *journal[E]) countP(i uint64, sz int64) {
	j.starts[i] = j.total
	j.total += sz
	for j.pt-j.ph > 1 && j.total-j.startP(j.ph) > j.lim.bytes {
		j.ph++
	}
	j.bhead.Store(j.ph)
}

// wake signals every parked reader.
func (j *journal[E]) wake() {
	j.mu.Lock()
	j.wakeLocked()
	j.mu.Unlock()
}

// startP is where item seq (zeroed ≤ seq ≤ tail) starts in the byte
// count; tail's is the total. The caller holds the producers' lock.
func (j *journal[E]) startP(seq uint64) int64 {
	if seq == j.pt {
		return j.total
	}
	return j.starts[seq&uint64(len(j.buf)-1)]
}

// gate clears the slots of the items dropped since the last gate and, if
// the ring is still full, doubles it: under mu, so no reader copies
// meanwhile. The caller holds the producers' lock.
func (j *journal[E]) gate() {
	j.mu.Lock()
	defer j.mu.Unlock()
	mask := uint64(len(j.buf) - 1)
	if n := j.ph - j.zeroed; n > 0 { // the slots of [zeroed, ph): two runs at most
		from := j.zeroed & mask
		clear(j.buf[from:min(from+n, uint64(len(j.buf)))])
		if from+n > uint64(len(j.buf)) {
			clear(j.buf[:from+n-uint64(len(j.buf))])
		}
	}
	j.zeroed = j.ph
	if j.pt-j.zeroed < uint64(len(j.buf)) {
		return
	}
	n := min(max(uint64(len(j.buf))*2, firstRing), j.ringMax)
	buf := make([]E, n)
	var starts []int64
	if j.lim.size != nil {
		starts = make([]int64, n)
	}
	for s := j.zeroed; s < j.pt; s++ {
		buf[s&(n-1)] = j.buf[s&mask]
		if starts != nil {
			starts[s&(n-1)] = j.starts[s&mask]
		}
	}
	j.buf, j.starts = buf, starts
}

// copyLocked appends the n items from seq from to dst. The caller holds
// mu and loaded a tail ≥ from+n, and from ≥ the head for it.
func (j *journal[E]) copyLocked(dst []Item[E], from, n uint64) []Item[E] {
	k := len(dst)
	dst = slices.Grow(dst, int(n))[:k+int(n)]
	out := dst[k:] // filled by index: an append per item cost twice as much
	buf := j.buf
	mask := uint64(len(buf) - 1)
	for i := range out {
		s := from + uint64(i)
		out[i] = Item[E]{Seq: s, V: buf[s&mask]}
	}
	return dst
}

// wakeLocked signals every parked reader and empties the list.
func (j *journal[E]) wakeLocked() {
	for _, f := range j.waiters {
		f.waiting = false
		f.signal()
	}
	clear(j.waiters)
	j.waiters = j.waiters[:0]
	j.nwait.Store(0)
}

// movedLocked tells producers waiting for room that a reader moved from
// seq from to seq to (to is ^0 for a reader that leaves): the last of the
// readers that were behind roomAt to pass it wakes them.
func (j *journal[E]) movedLocked(from, to uint64) {
	if j.room == nil || from >= j.roomAt || to < j.roomAt {
		return
	}
	if j.behind--; j.behind <= 0 {
		j.freeRoomLocked()
	}
}

// freeRoomLocked wakes every producer waiting for room.
func (j *journal[E]) freeRoomLocked() {
	if j.room != nil {
		close(j.room)
		j.room = nil
	}
}

// roomP reports whether an item of sz bytes can be appended without
// dropping an item that an attached reader has yet to read: the unread
// backlog (from the slowest attached reader's position, or head if that
// is behind it) plus the item fits the bounds. With nothing unread,
// anything fits. It first tries low, a lower bound of the readers'
// positions (readers only move forward; one attaching lowers it), and
// walks the readers, under mu, only when that bound is too low: O(readers)
// about once per journal's worth of items while readers keep up. The
// caller holds the producers' lock.
//
// If there is no room, roomP returns a channel closed once there is room
// for a quarter of the count bound (or, with a size function, for the
// item): a producer that waits resumes for a run of Sends, not for one,
// so that a producer and a reader of similar speed take turns by large
// batches.
func (j *journal[E]) roomP(sz int64) (bool, <-chan struct{}) {
	if j.fitsP(j.low.Load(), sz) {
		return true, nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	low := j.pt
	for _, f := range j.readers {
		low = min(low, f.next)
	}
	j.low.Store(low)
	if j.fitsP(low, sz) {
		return true, nil
	}
	at := j.roomAtP(sz)
	behind := j.behindLocked(at)
	if behind == 0 {
		return true, nil
	}
	if j.room != nil && j.roomAt < at {
		// Producers wait already, each for room for its own item: the
		// channel is closed at the earliest of their marks, so none stays
		// parked once it could go on (a later one, woken early, looks
		// again and waits anew).
		if b := j.behindLocked(j.roomAt); b > 0 {
			at, behind = j.roomAt, b
		} else {
			j.freeRoomLocked() // their mark is passed: they look again
		}
	}
	j.roomAt, j.behind = at, behind
	if j.room == nil {
		j.room = make(chan struct{})
	}
	return false, j.room
}

// behindLocked counts the attached readers before seq at.
func (j *journal[E]) behindLocked(at uint64) int {
	n := 0
	for _, f := range j.readers {
		if f.next < at {
			n++
		}
	}
	return n
}

// roomAtP is the position every attached reader must reach for a waiting
// producer to go on: with the backlog from there, a quarter of the count
// bound fits, and an item of sz bytes. The caller holds the producers'
// lock.
func (j *journal[E]) roomAtP(sz int64) uint64 {
	margin := max(j.lim.items/4, 1)
	at := j.ph
	if j.pt+margin > j.lim.items {
		at = max(at, j.pt+margin-j.lim.items)
	}
	if j.lim.size != nil {
		for at < j.pt && j.total-j.startP(at)+sz > j.lim.bytes {
			at++
		}
	}
	return at
}

// fitsP reports whether the items from seq from (or head, if later) on,
// plus one of sz bytes, fit the bounds. The caller holds the producers'
// lock.
func (j *journal[E]) fitsP(from uint64, sz int64) bool {
	from = max(from, j.ph)
	if from >= j.pt {
		return true
	}
	if j.pt-from+1 > j.lim.items {
		return false
	}
	return j.lim.size == nil || j.total-j.startP(from)+sz <= j.lim.bytes
}

// sizeOf is e's size in the byte count (0 without a size function).
func (j *journal[E]) sizeOf(e E) int64 {
	if j.lim.size == nil {
		return 0
	}
	return int64(max(j.lim.size(e), 0))
}
