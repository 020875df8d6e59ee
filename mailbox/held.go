package mailbox

// heldQueue is the FIFO of held messages of one key. Held messages all
// arrived before every message still in the main queue, so a held queue
// only grows while its key is not admitted, and drains while it is.
type heldQueue[T any] struct {
	key  Key
	r    ring[entry[T]]
	pos  int // index in queues.nonEmpty, or -1
	apos int // index in queues.active, or -1
}

// holdLocked appends msg, whose key k the filter does not admit, to the held
// queue of k. Amortised O(1); allocates only for a key never held before.
func (m *Mailbox[T]) holdLocked(q *queues[T], k Key, msg T) {
	hq := q.held[k]
	if hq == nil {
		if q.held == nil {
			q.held = make(map[Key]*heldQueue[T])
		}
		hq = &heldQueue[T]{key: k, pos: -1, apos: -1}
		q.held[k] = hq
	}
	if hq.r.n == 0 {
		hq.pos = len(q.nonEmpty)
		q.nonEmpty = append(q.nonEmpty, hq)
	}
	q.seq++
	hq.r.push(entry[T]{seq: q.seq, msg: msg})
	q.heldN++
}

// popHeldLocked pops the oldest message among the admitted held queues,
// of which there is at least one. O(len(active)).
func (m *Mailbox[T]) popHeldLocked(q *queues[T]) T {
	return m.popOldestLocked(q, q.active)
}

// popOldestLocked pops the oldest head among the non-empty queues of hqs,
// and unlists its queue if that emptied it. O(len(hqs)).
func (m *Mailbox[T]) popOldestLocked(q *queues[T], hqs []*heldQueue[T]) T {
	best := hqs[0]
	for _, hq := range hqs[1:] {
		if hq.r.peek().seq < best.r.peek().seq {
			best = hq
		}
	}
	msg := best.r.pop().msg
	q.heldN--
	if best.r.n == 0 {
		m.unlistLocked(q, best)
	}
	return msg
}

// unlistLocked removes the emptied queue hq from the nonEmpty and active
// lists. O(1).
func (m *Mailbox[T]) unlistLocked(q *queues[T], hq *heldQueue[T]) {
	q.nonEmpty = swapDelete(q.nonEmpty, hq.pos, func(moved *heldQueue[T], i int) { moved.pos = i })
	hq.pos = -1
	if hq.apos >= 0 {
		q.active = swapDelete(q.active, hq.apos, func(moved *heldQueue[T], i int) { moved.apos = i })
		hq.apos = -1
		m.active.Store(int32(len(q.active)))
	}
}

// swapDelete removes s[i] by moving the last element into its place, and
// tells setIndex about the move.
func swapDelete[E any](s []E, i int, setIndex func(E, int)) []E {
	last := len(s) - 1
	if i != last {
		s[i] = s[last]
		setIndex(s[i], i)
	}
	var zero E
	s[last] = zero
	return s[:last]
}

// rebuildActiveLocked recomputes the list of held queues the filter
// admits. O(len(nonEmpty)).
func (m *Mailbox[T]) rebuildActiveLocked(q *queues[T]) {
	for _, hq := range q.active {
		hq.apos = -1
	}
	clear(q.active)
	q.active = q.active[:0]
	for _, hq := range q.nonEmpty {
		if q.filter.admits(hq.key) {
			hq.apos = len(q.active)
			q.active = append(q.active, hq)
		}
	}
	m.active.Store(int32(len(q.active)))
}
