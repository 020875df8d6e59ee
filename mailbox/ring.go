package mailbox

// ring is a FIFO queue on a circular buffer whose length is zero or a
// power of two. It grows by doubling when full. It gives its buffer back
// only when it empties, the buffer is longer than maxIdleRing, and the
// ring used at most a quarter of it in each of its last leanRounds rounds
// (a round ends when it empties): a load that keeps refilling the buffer,
// even unevenly, keeps it (no allocation in steady state), while one
// burst pins its memory only until leanRounds smaller rounds have passed.
// Popped slots are zeroed so the GC can reclaim payloads.
// A ring is not safe for concurrent use: its owner's lock guards it.
type ring[E any] struct {
	buf  []E
	head int32 // index of the oldest element, when n > 0
	n    int32 // number of elements (a mailbox counts < 2^32 in all)
	peak int32 // highest n since the ring last emptied
	lean uint8 // consecutive rounds that used at most a quarter of buf
}

const (
	minRing     = 8    // first buffer length
	maxIdleRing = 1024 // an emptied ring may free a longer buffer
	leanRounds  = 64   // after this many lean rounds in a row
)

// push appends e. Amortised O(1).
func (r *ring[E]) push(e E) {
	if int(r.n) == len(r.buf) {
		r.grow()
	}
	r.buf[int(r.head+r.n)&(len(r.buf)-1)] = e
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
func (r *ring[E]) at(i int32) *E { return &r.buf[int(r.head+i)&(len(r.buf)-1)] }

// pop removes and returns the oldest element, which must exist. O(1).
func (r *ring[E]) pop() E {
	var zero E
	e := r.buf[r.head]
	r.buf[r.head] = zero
	// Each round ends empty, so n's highest value is seen by a pop: peak
	// is kept here, off the producers' path.
	r.peak = max(r.peak, r.n)
	r.n--
	if r.n > 0 {
		r.head = (r.head + 1) & int32(len(r.buf)-1)
		return e
	}
	r.emptied()
	return e
}

// emptied is called when the ring becomes empty.
func (r *ring[E]) emptied() {
	r.head = 0
	switch {
	case len(r.buf) <= maxIdleRing || int(r.peak) > len(r.buf)/4:
		r.lean = 0
	case r.lean+1 < leanRounds:
		r.lean++
	default:
		r.buf, r.lean = nil, 0
	}
	r.peak = 0
}

// truncate keeps the n oldest elements and zeroes the others' slots. One
// that removes nothing is no round (see emptied). O(removed).
func (r *ring[E]) truncate(n int32) {
	if n >= r.n {
		return
	}
	r.peak = max(r.peak, r.n)
	var zero E
	for i := n; i < r.n; i++ {
		*r.at(i) = zero
	}
	r.n = n
	if n == 0 {
		r.emptied()
	}
}
