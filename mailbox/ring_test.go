package mailbox

import "testing"

func TestRing(t *testing.T) {
	var r ring[int]
	next, want := 0, 0
	for round := range 50 { // wrap around and grow while partly full
		for range round {
			r.push(next)
			next++
		}
		for range round / 2 {
			if got := r.pop(); got != want {
				t.Fatalf("pop: got %d; want %d", got, want)
			}
			want++
		}
	}
	for r.n > 0 {
		if got := r.pop(); got != want {
			t.Fatalf("pop: got %d; want %d", got, want)
		}
		want++
	}
	if want != next {
		t.Fatalf("popped %d; pushed %d", want, next)
	}
}

func TestRingBuffer(t *testing.T) {
	fill := func(r *ring[int], n int) {
		for i := range n {
			r.push(i)
		}
		for range n {
			r.pop()
		}
	}
	var r ring[int]
	fill(&r, 1000)
	if got := len(r.buf); got != 1024 {
		t.Fatalf("small buffer after emptying: got len %d; want 1024 kept", got)
	}
	fill(&r, 1)
	if got := len(r.buf); got != 1024 {
		t.Fatalf("small buffer after a small round: got len %d; want 1024 kept", got)
	}
	fill(&r, 5000)
	if got := len(r.buf); got != 8192 {
		t.Fatalf("after a burst of 5000: got len %d; want 8192 kept", got)
	}
	fill(&r, 3000) // a steady state that needs the buffer keeps it
	if got := len(r.buf); got != 8192 {
		t.Fatalf("after a round of 3000: got len %d; want 8192 kept", got)
	}
	// Uneven load (a consumer that sometimes catches up) keeps it too: a
	// big round resets the count of lean ones.
	for range leanRounds - 1 {
		fill(&r, 10)
	}
	fill(&r, 3000)
	for i := range leanRounds - 1 {
		if fill(&r, 10); len(r.buf) != 8192 {
			t.Fatalf("after %d small rounds: got len %d; want 8192 kept until %d", i+1, len(r.buf), leanRounds)
		}
	}
	fill(&r, 10)
	if r.buf != nil {
		t.Fatalf("after %d small rounds: got len %d; want the big buffer freed", leanRounds, len(r.buf))
	}
	var p ring[*int]
	p.push(new(int))
	p.push(new(int))
	p.pop()
	if p.buf[0] != nil {
		t.Fatalf("popped slot not cleared")
	}
	p.truncate(0)
	if p.buf[1] != nil {
		t.Fatalf("truncated slot not cleared")
	}
}

// A truncate that removes nothing (a Live purge of an empty main queue,
// which happens when the filter has held everything) is no round: it
// counted as one toward giving back a long buffer, so a bounded, Live
// mailbox freed and remade its buffer after 64 full pushes rather than
// 64 real rounds.
func TestTruncateNothingIsNoRound(t *testing.T) {
	var r ring[int]
	for i := range 2 * maxIdleRing {
		r.push(i)
	}
	for r.n > 0 {
		r.pop()
	}
	buf := r.buf
	for range 2 * leanRounds {
		r.truncate(0)
	}
	if r.buf == nil || &r.buf[0] != &buf[0] {
		t.Fatalf("%d truncates that removed nothing gave the buffer back", 2*leanRounds)
	}
}
