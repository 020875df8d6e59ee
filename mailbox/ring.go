package mailbox

// ring is a FIFO queue on a circular buffer whose length is zero or a
// power of two. It grows by doubling when full. When it empties with a
// buffer larger than maxIdleRing it gives the buffer back, so a burst does
// not pin memory forever, while a steady state below that size never
// allocates. Popped slots are zeroed so the GC can reclaim payloads.
// A ring is not safe for concurrent use: its owner's lock guards it.
type ring[E any] struct {
	buf  []E
	head int // index of the oldest element, when n > 0
	n    int // number of elements
}

const (
	minRing     = 8    // first buffer length
	maxIdleRing = 1024 // an emptied ring with a longer buffer frees it
)

// push appends e. Amortised O(1).
func (r *ring[E]) push(e E) {
	if r.n == len(r.buf) {
		r.grow()
	}
	r.buf[(r.head+r.n)&(len(r.buf)-1)] = e
	r.n++
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
	r.head = 0
	if len(r.buf) > maxIdleRing {
		r.buf = nil
	}
	return e
}

// truncate keeps the n oldest elements and zeroes the others' slots. O(removed).
func (r *ring[E]) truncate(n int) {
	var zero E
	for i := n; i < r.n; i++ {
		*r.at(i) = zero
	}
	r.n = n
	if n == 0 {
		r.head = 0
	}
}
