package mailbox

// Trim gives back what the mailbox's first message made (its queues: the
// lock, the lane's blocks or the rings and their buffers, from about 0.6
// KB) if nothing is in them: no message queued or held, no admit filter
// set, no producer waiting for room, not closed. The next Push makes them
// again. It reports whether it freed them.
//
// Consumer only: call it while holding the scheduled flag (in a turn, or
// after [Mailbox.Claim]), and only when the consumer has been idle for a
// while, not at every idle: a mailbox that is trimmed between each request
// and the next pays two allocations per request. A producer that had found
// the queues before Trim (waiting for their lock, or about to reserve a
// position in their lane) finds them retired and pushes into new ones:
// nothing is lost. O(1); no allocation.
func (m *Mailbox[T]) Trim() bool {
	q := m.q.Load()
	if q == nil {
		return false
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if m.closed || q.main.n != 0 || q.sys.n != 0 || q.heldN != 0 ||
		q.filter.only || q.space != nil {
		return false
	}
	// The lane last: retire fails if a producer reserved a position,
	// and once it succeeds no producer can (they push into the next
	// queues).
	if !m.Bounded() && !q.lane.sealIfEmpty(laneRetired) {
		return false
	}
	m.q.Store(nil)
	return true
}

// The consumer's trim record (Mailbox.trim), touched only with the
// scheduled flag held.
const (
	trimListed uint8 = 1 << iota // the owner was told to call TrimIdle
	trimUsed                     // a turn ended since the last TrimIdle
)

// Touch records, at the end of a consumer's turn, that the mailbox was in
// use. It reports true the first time after the mailbox was made or
// trimmed: its owner should then call [Mailbox.TrimIdle] now and then
// (every second, say) until that returns false. Consumer only; O(1).
func (m *Mailbox[T]) Touch() (first bool) {
	if m.trim == trimListed|trimUsed {
		return false
	}
	first = m.trim&trimListed == 0
	m.trim = trimListed | trimUsed
	return first
}

// TrimIdle trims the mailbox (see [Mailbox.Trim]) if no turn ended since
// the previous TrimIdle, and reports whether the owner should call it
// again later: false once trimmed. Consumer only (after [Mailbox.Claim]);
// O(1).
func (m *Mailbox[T]) TrimIdle() (again bool) {
	if m.trim&trimUsed != 0 {
		m.trim = trimListed
		return true
	}
	if !m.Trim() {
		return true // in use (held messages, a filter): look again later
	}
	m.trim = 0
	return false
}

// Taken returns a channel closed when the consumer next takes messages
// (in an unbounded mailbox: when it begins its next batch, see Backlog),
// or when the mailbox closes: a producer far ahead of its
// consumer may wait on it, with a bound of its own, instead of queueing
// more (see actor's flood rule). Safe for concurrent use; O(1); the first
// waiter of a round makes the channel.
func (m *Mailbox[T]) Taken() <-chan struct{} {
	q := m.lock()
	defer q.mu.Unlock()
	if m.closed {
		return closedChan
	}
	if q.space == nil {
		q.space = make(chan struct{})
		q.spaceWanted.Store(!m.Bounded())
	}
	return q.space
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()
