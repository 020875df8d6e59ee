package scheduler

// queue is a FIFO of tasks on a growable ring; guarded by Scheduler.mu.
type queue struct {
	buf  []*Task
	head int
	n    int
}

func (q *queue) push(t *Task) {
	if q.n == len(q.buf) {
		buf := make([]*Task, max(64, 2*len(q.buf)))
		k := copy(buf, q.buf[q.head:])
		copy(buf[k:], q.buf[:q.head])
		q.buf, q.head = buf, 0
	}
	q.buf[(q.head+q.n)%len(q.buf)] = t
	q.n++
}

func (q *queue) pop() *Task {
	t := q.buf[q.head]
	q.buf[q.head] = nil
	q.head = (q.head + 1) % len(q.buf)
	q.n--
	return t
}
