package timer

// list is an intrusive doubly-linked FIFO of timers, threaded through
// Timer.next and Timer.prev: pushing and removing cost O(1) and allocate
// nothing. Every method expects the wheel's lock to be held.
type list struct {
	head, tail *Timer
}

// empty reports whether l holds no timer.
func (l *list) empty() bool { return l.head == nil }

// pushBack appends t, which must be in no list.
func (l *list) pushBack(t *Timer) {
	t.next = nil
	t.prev = l.tail
	if l.tail != nil {
		l.tail.next = t
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
