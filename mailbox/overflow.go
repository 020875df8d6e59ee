package mailbox

import "context"

// fullLocked reports whether the user lane is at capacity.
func (m *Mailbox[T]) fullLocked() bool {
	c := m.cfg.Capacity
	return c > 0 && m.lenLocked() >= c
}

// makeRoomLocked is called by Push, with m.mu held, on a full mailbox. It
// returns with m.mu held, either with room for one message (evicting one
// if dropped is true) or with the error Push must return. With the Block
// policy it releases m.mu while it waits.
func (m *Mailbox[T]) makeRoomLocked(ctx context.Context, wait bool) (evicted T, dropped bool, err error) {
	for m.fullLocked() {
		if m.cfg.Live != nil {
			if n := m.purgeLocked(); n > 0 {
				if n > 1 {
					m.wakeLocked() // room for others too
				}
				continue
			}
		}
		switch m.cfg.Policy {
		case DropOldest:
			return m.evictOldestLocked(), true, nil
		case Block:
			if !wait || ctx == nil {
				return evicted, false, ErrFull
			}
			if m.space == nil {
				m.space = make(chan struct{})
			}
			space := m.space
			m.mu.Unlock()
			select {
			case <-space:
				m.mu.Lock()
			case <-ctx.Done():
				m.mu.Lock()
				return evicted, false, ctx.Err()
			}
			if m.closed {
				return evicted, false, ErrClosed
			}
		default:
			return evicted, false, ErrFull
		}
	}
	return evicted, false, nil
}

// evictOldestLocked removes and returns the oldest user message: the
// oldest held one if any is held (they all arrived before the main queue),
// else the head of the main queue. O(h) for h non-empty held keys.
func (m *Mailbox[T]) evictOldestLocked() T {
	q := m.q
	if len(q.nonEmpty) > 0 {
		msg := m.popOldestLocked(q.nonEmpty)
		m.addLocked(-1, 0)
		return msg
	}
	msg := q.main.pop().msg
	m.addLocked(-1, -1)
	return msg
}

// purgeLocked discards the dead user messages, queued and held, and
// returns how many. O(user messages).
func (m *Mailbox[T]) purgeLocked() int {
	q, live := m.q, m.cfg.Live
	queued := retainLive(&q.main, live)
	held := 0
	for i := len(q.nonEmpty) - 1; i >= 0; i-- { // backwards: unlist swaps from the end
		hq := q.nonEmpty[i]
		held += retainLive(&hq.r, live)
		if hq.r.n == 0 {
			m.unlistLocked(hq)
		}
	}
	m.addLocked(-queued-held, -queued)
	return queued + held
}

// retainLive removes from r, in place and keeping order, the entries whose
// message live reports dead, and returns how many. O(r.n).
func retainLive[T any](r *ring[entry[T]], live func(T) bool) int {
	w := 0
	for i := range r.n {
		e := r.at(i)
		if live(e.msg) {
			if w != i {
				*r.at(w) = *e
			}
			w++
		}
	}
	removed := r.n - w
	r.truncate(w)
	return removed
}
