package timer

// list is an intrusive doubly-linked FIFO of timers, threaded through
// Timer.next and Timer.prev: pushing and removing cost O(1) and allocate
// nothing. A timer in no list has nil links. Every method expects the
// wheel's lock to be held.
type list struct {
	head, tail *Timer
}

// empty reports whether l holds no timer.
func (l *list) empty() bool { return l.head == nil }

// pushBack appends t, which must be in no list (so its links are nil).
// It stores no pointer it need not: while the garbage collector marks,
// each pointer store costs a write barrier, which with a million timers
// pending is a good part of an arm.
func (l *list) pushBack(t *Timer) {
	if tail := l.tail; tail != nil {
		t.prev = tail
		tail.next = t
	} else {
		l.head = t
	}
	l.tail = t
}

// remove unlinks t, which must be in l.
func (l *list) remove(t *Timer) {
	if t.prev != nil {
		t.prev.next = t.next
	} else {
		l.head = t.next
	}
	if t.next != nil {
		t.next.prev = t.prev
	} else {
		l.tail = t.prev
	}
	t.next, t.prev = nil, nil
}

// popFront removes and returns the first timer, or nil if l is empty.
func (l *list) popFront() *Timer {
	t := l.head
	if t != nil {
		l.remove(t)
	}
	return t
}
