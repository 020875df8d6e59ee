package timer

// nlist is a FIFO of nodes, linked through node.next and node.prev by id,
// as list is through Timer links: pushing and removing cost O(1). The
// zero nlist is empty.
type nlist struct {
	head, tail uint32
}

// empty reports whether l holds no node.
func (l *nlist) empty() bool { return l.head == 0 }

// pushBack appends node id (n), which must be in no list.
func (a *arena) pushBack(l *nlist, id uint32, n *node) {
	if tail := l.tail; tail != 0 {
		n.prev = tail
		a.node(tail).next = id
	} else {
		l.head = id
	}
	l.tail = id
}

// remove unlinks node id (n), which must be in l.
func (a *arena) remove(l *nlist, n *node) {
	if n.prev != 0 {
		a.node(n.prev).next = n.next
	} else {
		l.head = n.next
	}
	if n.next != 0 {
		a.node(n.next).prev = n.prev
	} else {
		l.tail = n.prev
	}
	n.next, n.prev = 0, 0
}

// popFront removes and returns the first node's chunk and slot; ok is
// false if l is empty.
func (a *arena) popFront(l *nlist) (c *chunk, s int, ok bool) {
	if l.head == 0 {
		return nil, 0, false
	}
	c, s = a.at(l.head)
	a.remove(l, &c.nodes[s])
	return c, s, true
}
