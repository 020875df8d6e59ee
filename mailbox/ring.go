package mailbox

// ring is a FIFO queue on a circular buffer whose length is zero or a
// power of two. It grows by doubling when full. It gives its buffer back
// only when it empties, the buffer is longer than maxIdleRing, and the
// ring used at most a quarter of it since it last emptied: a load that
// keeps refilling the buffer keeps it (no allocation in steady state),
// while one burst pins its memory only until the ring's next, smaller
// round. Popped slots are zeroed so the GC can reclaim payloads.
// A ring is not safe for concurrent use: its owner's lock guards it.
type ring[E any] struct {
	buf  []E
	head int // index of the oldest element, when n > 0
	n    int // number of elements
	peak int // highest n since the ring last emptied
}

const (
	minRing     = 8    // first buffer length
	maxIdleRing = 1024 // an emptied ring may free a longer buffer
)

// push appends e. Amortised O(1).
func (r *ring[E]) push(e E) {
	if r.n == len(r.buf) {
		r.grow()
	}
	r.buf[(r.head+r.n)&(len(r.buf)-1)] = e
	r.n++
	r.peak = max(r.peak, r.n)
}

// grow doubles the buffer; it is called only when the ring is full.
func (r *ring[E]) grow() {
	buf := make([]E, max(minRing, 2*len(r.buf)))
	k := copy(buf, r.buf[r.head:])
	copy(buf[k:], r.buf[:r.head])
	r.buf, r.head = buf, 0
}

// peek returns the oldest element, which must exist. O(1).
func (r *ring[E]) peek() *E { return &r.buf[r.head] }

// at returns the i-th oldest element, 0 <= i < n. O(1).
func (r *ring[E]) at(i int) *E { return &r.buf[(r.head+i)&(len(r.buf)-1)] }

// pop removes and returns the oldest element, which must exist. O(1).
func (r *ring[E]) pop() E {
	var zero E
	e := r.buf[r.head]
	r.buf[r.head] = zero
	r.n--
	if r.n > 0 {
		r.head = (r.head + 1) & (len(r.buf) - 1)
		return e
	}
	r.emptied()
	return e
}

// emptied is called when the ring becomes empty.
func (r *ring[E]) emptied() {
	r.head = 0
	if len(r.buf) > maxIdleRing && r.peak <= len(r.buf)/4 {
		r.buf = nil
	}
	r.peak = 0
}

// truncate keeps the n oldest elements and zeroes the others' slots. O(removed).
func (r *ring[E]) truncate(n int) {
	var zero E
	for i := n; i < r.n; i++ {
		*r.at(i) = zero
	}
	r.n = n
	if n == 0 {
		r.emptied()
	}
}
