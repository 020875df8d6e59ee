package mailbox

import (
	"cmp"
	"slices"
)

// Close closes the mailbox and returns every message left in it: system
// messages first, then user messages (held and queued, dead ones included)
// in arrival order; nil if there are none. Afterwards Push and PushSystem
// return [ErrClosed] (producers blocked in a [Block] Push wake up with it),
// Pop finds nothing and Idle returns true. The admit filter is kept.
//
// Close is idempotent: a second call returns nil. Producers may run
// concurrently with it, but not Pop: call it from the consumer, or when no
// consumer runs (Close reads the user queue as the consumer does).
// It never blocks beyond the internal lock. Cost: O(n + h log h) for n
// messages of which h are held; it allocates the returned slice and frees
// the queues' storage (on a mailbox that never had a message, it makes
// the small record of being closed).
func (m *Mailbox[T]) Close() []T {
	q := m.lock()
	defer q.mu.Unlock()
	if m.closed {
		return nil
	}
	return m.closeLocked(q)
}

// CloseIfEmpty closes the mailbox if it holds no message at all (none in
// the system lane, none queued or held) and reports whether it is closed
// (by this call or before). The emptiness and the close are one step as
// producers see it: a Push or PushSystem either lands before, and
// CloseIfEmpty reports false, or fails with [ErrClosed]; none succeeds
// only to be left behind. A consumer that drains, then closes, uses it
// so that whatever a producer got in past its last look is still its to
// take: an actor's graceful stop runs every message accepted before.
// Consumer only, as Close; it never blocks beyond the internal lock.
// Cost: O(1).
func (m *Mailbox[T]) CloseIfEmpty() bool {
	q := m.lock()
	defer q.mu.Unlock()
	if m.closed {
		return true
	}
	if q.sys.n > 0 || m.lenLocked(q) > 0 {
		return false
	}
	if !m.Bounded() && !q.lane.sealIfEmpty(0) {
		return false // a push has reserved its place: its message is coming
	}
	m.closeLocked(q)
	return true
}

// closeLocked is Close, the lock held and the mailbox open.
func (m *Mailbox[T]) closeLocked(q *queues[T]) []T {
	m.closed = true
	q.wakeLocked()
	var end uint64 // the lane's end: pushes reserved below it are in
	if !m.Bounded() {
		end = q.lane.seal()
	}
	var out []T
	if n := int(q.sys.n) + m.lenLocked(q); n > 0 {
		out = make([]T, 0, n)
	}
	for i := range q.sys.n {
		out = append(out, *q.sys.at(i))
	}
	var held []entry[T]
	for _, hq := range q.nonEmpty {
		for i := range hq.r.n {
			held = append(held, *hq.r.at(i))
		}
	}
	slices.SortFunc(held, func(a, b entry[T]) int { return cmp.Compare(a.seq, b.seq) })
	for _, e := range held {
		out = append(out, e.msg)
	}
	if !m.Bounded() {
		q.lane.drain(end, func(msg T) { out = append(out, msg) })
		if q.lane.free.Load() != nil {
			q.lane.free.Store(nil) // for the garbage collector
		}
	}
	for i := range q.main.n {
		out = append(out, *q.main.at(i))
	}
	q.sys, q.main, q.held, q.nonEmpty, q.active = ring[T]{}, ring[T]{}, nil, nil, nil
	q.heldN = 0
	q.mainEmptied()
	m.sysN.Store(0)
	m.active.Store(0)
	return out
}
