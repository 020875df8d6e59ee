package mailbox

import "context"

// fullLocked reports whether the user lane is at capacity.
func (m *Mailbox[T]) fullLocked(q *queues[T]) bool {
	c := m.cfg.Capacity
	return c > 0 && m.lenLocked(q) >= c
}

// makeRoomLocked is called by Push, with q.mu held, on a full mailbox. It
// returns with the lock of the queues it returns held (q, or the current
// queues if Trim retired q while a Block Push waited), either with room
// for one message (evicting one if dropped is true) or with the error Push
// must return; the dead messages it discarded are appended to *expired.
// With the Block policy it releases the lock while it waits.
func (m *Mailbox[T]) makeRoomLocked(q *queues[T], ctx context.Context, wait bool, expired *[]T) (_ *queues[T], evicted T, dropped bool, err error) {
	for m.fullLocked(q) {
		if m.cfg.Live != nil {
			if n := m.purgeLocked(q, expired); n > 0 {
				if n > 1 {
					q.wakeLocked() // room for others too
				}
				continue
			}
		}
		switch m.cfg.Policy {
		case DropOldest:
			return q, m.evictOldestLocked(q), true, nil
		case Block:
			if !wait || ctx == nil {
				return q, evicted, false, ErrFull
			}
			if q.space == nil {
				q.space = make(chan struct{})
			}
			space := q.space
			q.mu.Unlock()
			select {
			case <-space:
				// The room may be in new queues: Trim retires empty
				// ones, and space was closed before they emptied.
				q = m.lock()
			case <-ctx.Done():
				q.mu.Lock()
				return q, evicted, false, ctx.Err()
			}
			if m.closed {
				return q, evicted, false, ErrClosed
			}
		default:
			return q, evicted, false, ErrFull
		}
	}
	return q, evicted, false, nil
}

// evictOldestLocked removes and returns the oldest user message: the
// oldest held one if any is held (they all arrived before the main queue),
// else the head of the main queue. O(h) for h non-empty held keys.
func (m *Mailbox[T]) evictOldestLocked(q *queues[T]) T {
	if len(q.nonEmpty) > 0 {
		return m.popOldestLocked(q, q.nonEmpty)
	}
	msg := q.main.pop()
	if q.main.n == 0 {
		q.mainEmptied()
	}
	return msg
}

// purgeLocked discards the dead user messages, queued and held, appends
// them to *expired and returns how many. O(user messages).
func (m *Mailbox[T]) purgeLocked(q *queues[T], expired *[]T) int {
	live := func(msg T) bool {
		if m.cfg.Live(msg) {
			return true
		}
		*expired = append(*expired, msg)
		return false
	}
	queued := retainLive(&q.main, live)
	if q.main.n == 0 {
		q.mainEmptied()
	} else if queued > 0 && q.backlog.Load() > q.main.n {
		// The published backlog may count what was just discarded: a
		// stale, high one would make senders wait (actor's flood rule)
		// for a consumer with little queued. Off the push path.
		q.backlog.Store(q.main.n)
	}
	held := 0
	for i := len(q.nonEmpty) - 1; i >= 0; i-- { // backwards: unlist swaps from the end
		hq := q.nonEmpty[i]
		held += retainLive(&hq.r, func(e entry[T]) bool { return live(e.msg) })
		if hq.r.n == 0 {
			m.unlistLocked(q, hq)
		}
	}
	q.heldN -= held
	return queued + held
}

// retainLive removes from r, in place and keeping order, the entries whose
// message live reports dead, and returns how many. O(r.n).
func retainLive[E any](r *ring[E], live func(E) bool) int {
	var w int32
	for i := range r.n {
		e := r.at(i)
		if live(*e) {
			if w != i {
				*r.at(w) = *e
			}
			w++
		}
	}
	removed := r.n - w
	r.truncate(w)
	return int(removed)
}
