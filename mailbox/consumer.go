package mailbox

// Pop removes and returns the next message for the consumer: the oldest
// system message if any (system is true); else the oldest user message
// whose key the filter admits. Held messages are older than every message
// still queued, so an admitted held message comes first. While scanning,
// a queued message whose key is not admitted is moved to the held queue
// of its key and never looked at again until admitted. ok is false when
// nothing admitted is pending.
//
// Pop is for the consumer only. It never blocks (beyond the internal
// lock, which an unbounded mailbox's Pop takes only for a system message,
// a filter or an admitted held message). Cost: O(k), k being the number of held keys the filter admits,
// plus amortised O(1) per message moved to held; no allocation in steady
// state.
func (m *Mailbox[T]) Pop() (msg T, system bool, ok bool) {
	q := m.q.Load()
	if q == nil {
		return msg, false, false
	}
	if !m.Bounded() && !m.filtered && m.sysN.Load() == 0 && m.active.Load() == 0 {
		msg, ok = m.popLane(q, false) // fast path: the lane, without the lock
		return msg, false, ok
	}
	if !m.hasWork() {
		return msg, false, false
	}
	q.mu.Lock()
	if q.sys.n > 0 {
		msg = q.sys.pop()
		m.sysN.Add(-1)
		q.mu.Unlock()
		return msg, true, true
	}
	if len(q.active) > 0 {
		msg = m.popHeldLocked(q)
		q.wakeLocked()
		q.mu.Unlock()
		return msg, false, true
	}
	took := false // anything taken from the queue, even if only to hold it
	for {
		var e T
		if !m.Bounded() {
			if e, ok = m.popLane(q, true); !ok {
				break
			}
		} else {
			if q.main.n == 0 {
				break
			}
			e, ok = q.main.pop(), true
			switch n := q.main.n; {
			case n == 0:
				q.mainEmptied()
			case n&(backlogEvery-1) == 0:
				q.backlog.Store(n)
			}
		}
		took = true
		if !q.filter.only {
			msg = e
			break
		}
		k := m.cfg.Key(e)
		if q.filter.admits(k) {
			msg = e
			break
		}
		m.holdLocked(q, k, e)
		ok = false
	}
	if took && m.Bounded() { // Block's waiters look again
		q.wakeLocked()
	}
	q.mu.Unlock()
	return msg, false, ok
}

// popLane pops the lane's next message, if it is written, beginning the
// next batch first if the consumer has read the last one through (locked:
// the caller holds q's lock). A message is popped only within a batch.
// Consumer only.
func (m *Mailbox[T]) popLane(q *queues[T], locked bool) (msg T, ok bool) {
	l := &q.lane
	if l.head >= l.batchEnd {
		if !l.ready() {
			return msg, false
		}
		m.nextBatch(q, locked)
	}
	return l.pop()
}

// nextBatch begins the consumer's next batch of the lane (see
// lane.batch), and wakes the producers waiting for it (Taken), taking the
// lock unless the caller holds it.
func (m *Mailbox[T]) nextBatch(q *queues[T], locked bool) {
	q.lane.batch()
	if !q.spaceWanted.Load() {
		return
	}
	if !locked {
		q.mu.Lock()
		defer q.mu.Unlock()
	}
	q.spaceWanted.Store(false)
	q.wakeLocked()
}

// Idle ends a consumer turn and says whether the consumer must stop.
//
// If admitted work may be pending (a system message, an admitted held
// message, or anything in the user queue) it returns false: the consumer
// keeps the scheduled flag and must go on popping. Otherwise it sets the
// flag to idle, then checks again for work pushed in the meantime; if some
// appeared it takes the flag back (returns false) unless a producer took it
// first (that producer schedules the consumer: returns true). True means
// the consumer must stop; a later Push will report schedule == true.
//
// Idle may return false spuriously (the user queue may hold only messages
// the filter will hold back: Pop then returns ok == false and the consumer
// calls Idle again), but never returns true while an admitted message is
// pending with nobody scheduled. Consumer only; O(1), lock-free.
func (m *Mailbox[T]) Idle() bool {
	if m.hasWork() {
		return false
	}
	// In an unbounded mailbox, the one message to look for is the lane's
	// next: note its slot now, while the lane is ours to read.
	q := m.q.Load()
	var next *laneSlot[T]
	var tag uint64
	if q != nil && !m.Bounded() {
		next, tag = q.lane.next()
	}
	if h := m.cfg.idleHook; h != nil {
		h()
	}
	m.sched.Store(flagIdle)
	// Re-check: a Push that enqueued after the check above and saw the
	// flag still scheduled did not schedule anyone. From the store on, a
	// producer may have become the consumer: read only shared state, and
	// the noted slot's tag (atomic: the slot may be read, or even reused,
	// by that consumer meanwhile; either way a tag that matches means a
	// message, and one that does not means its producer is yet to claim).
	if !m.sharedWork(q, next, tag) {
		return true
	}
	return !m.sched.CompareAndSwap(flagIdle, flagScheduled)
}

// hasWork reports whether a system message, a user message in the user
// queue, or an admitted held message may be pending. Consumer only;
// lock-free.
func (m *Mailbox[T]) hasWork() bool {
	if m.sysN.Load() != 0 || m.active.Load() != 0 {
		return true
	}
	q := m.q.Load()
	if q == nil {
		return false
	}
	if !m.Bounded() {
		return q.lane.ready()
	}
	return q.pending.Load() != 0
}

// sharedWork is Idle's second look, after its store: for work published
// by producers, and in an unbounded mailbox for the lane's next message
// in the slot noted before (next, holding tag once written) of the queues
// seen then (was). Lock-free.
func (m *Mailbox[T]) sharedWork(was *queues[T], next *laneSlot[T], tag uint64) bool {
	if m.sysN.Load() != 0 || m.active.Load() != 0 {
		return true
	}
	q := m.q.Load()
	switch {
	case q == nil:
		return false
	case q != was:
		return true // new queues since: look
	case !m.Bounded():
		if next == nil { // no first block then
			return q.lane.first.Load() != nil
		}
		return next.tag.Load() == tag
	}
	return q.pending.Load() != 0
}

// wakeLocked wakes the producers waiting for room, if any.
func (q *queues[T]) wakeLocked() {
	if q.space != nil {
		close(q.space)
		q.space = nil
	}
}

// mainEmptied is called, under the lock, when main has become empty.
func (q *queues[T]) mainEmptied() {
	q.pending.Store(0)
	if q.backlog.Load() != 0 { // an atomic write only when it changes
		q.backlog.Store(0)
	}
}
