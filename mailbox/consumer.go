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
// lock). Cost: O(k), k being the number of held keys the filter admits,
// plus amortised O(1) per message moved to held; no allocation in steady
// state.
func (m *Mailbox[T]) Pop() (msg T, system bool, ok bool) {
	if o := m.out; o != nil && o.r.n > 0 && !m.filtered && m.sysN.Load() == 0 && m.active.Load() == 0 {
		// Fast path: the consumer's own batch, no lock, and no write to
		// a line the producers write.
		msg = o.r.pop()
		o.popped.Add(1)
		return msg, false, true
	}
	if !m.hasWork() {
		return msg, false, false
	}
	q := m.q.Load() // not nil: hasWork saw messages
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
	m.foldLocked(q)
	if !q.filter.only && q.main.n > 1 && m.swaps() {
		if m.out == nil {
			m.out = new(batch[T])
		}
		if m.out.r.n == 0 {
			// Take the whole main queue as the next batch: O(1), and both
			// rings keep their buffers, so no allocation in steady state.
			m.out.r, q.main = q.main, m.out.r
			q.batchN = int(m.out.r.n)
			q.mainEmptied()
		}
	}
	took := false // anything taken from the queue, even if only to hold it
	for {
		src, batch := &q.main, false
		if m.out != nil && m.out.r.n > 0 {
			src, batch = &m.out.r, true // the older part of the main queue
		}
		if src.n == 0 {
			break
		}
		var e T
		e, ok, took = src.pop(), true, true
		switch {
		case batch:
			q.batchN--
		case src.n == 0:
			q.mainEmptied()
		case src.n&(backlogEvery-1) == 0:
			q.backlog.Store(src.n)
		}
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
	if took { // Taken's waiters (and Block's, which look again)
		q.wakeLocked()
	}
	q.mu.Unlock()
	return msg, false, ok
}

// swaps reports whether the consumer may take the main queue as a batch:
// only for an unbounded mailbox, since a full one must reach every queued
// message from a producer (to purge dead ones, evict the oldest, or wake a
// waiter under the lock).
func (m *Mailbox[T]) swaps() bool { return m.cfg.Capacity == 0 }

// Idle ends a consumer turn and says whether the consumer must stop.
//
// If admitted work may be pending (a system message, an admitted held
// message, or anything in the main queue) it returns false: the consumer
// keeps the scheduled flag and must go on popping. Otherwise it sets the
// flag to idle, then checks again for work pushed in the meantime; if some
// appeared it takes the flag back (returns false) unless a producer took it
// first (that producer schedules the consumer: returns true). True means
// the consumer must stop; a later Push will report schedule == true.
//
// Idle may return false spuriously (the main queue may hold only messages
// the filter will hold back: Pop then returns ok == false and the consumer
// calls Idle again), but never returns true while an admitted message is
// pending with nobody scheduled. Consumer only; O(1), lock-free (the
// batch's pops are settled into the counters by the next Pop that takes
// the lock, or by Trim).
func (m *Mailbox[T]) Idle() bool {
	if m.hasWork() {
		return false
	}
	if h := m.cfg.idleHook; h != nil {
		h()
	}
	m.sched.Store(flagIdle)
	// Re-check: a Push that enqueued after the check above and saw the
	// flag still scheduled did not schedule anyone. From the store on, a
	// producer may have become the consumer: read only shared state (the
	// batch is empty: hasWork said so).
	if !m.sharedWork() {
		return true
	}
	return !m.sched.CompareAndSwap(flagIdle, flagScheduled)
}

// foldLocked takes the batch's lock-free pops off batchN, under the lock
// so that lenLocked never sees half of it. Consumer only.
func (m *Mailbox[T]) foldLocked(q *queues[T]) {
	if o := m.out; o != nil {
		if p := o.popped.Load(); p > 0 {
			q.batchN -= int(p)
			o.popped.Store(0)
		}
	}
}

// hasWork reports whether a system message, a user message in the batch
// or the main queue, or an admitted held message may be pending.
// Consumer only; lock-free.
func (m *Mailbox[T]) hasWork() bool {
	return (m.out != nil && m.out.r.n > 0) || m.sharedWork()
}

// sharedWork is hasWork without the consumer's batch: what producers
// publish. Lock-free.
func (m *Mailbox[T]) sharedWork() bool {
	if m.sysN.Load() != 0 || m.active.Load() != 0 {
		return true
	}
	q := m.q.Load()
	return q != nil && q.pending.Load() != 0
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
