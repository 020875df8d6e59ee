package actor

import (
	"context"
	"slices"
	"testing"
)

func testJournal[E any](t testing.TB, opts ...StreamOption) *journal[E] {
	t.Helper()
	lim, err := newLimits[E](opts)
	if err != nil {
		t.Fatal(err)
	}
	return newJournal(nil, "test", 1, lim)
}

// kept returns the journal's items, oldest first, and checks the ring's
// invariants on the way.
func kept[E any](t testing.TB, j *journal[E]) []E {
	t.Helper()
	j.lockP()
	defer j.unlockP()
	j.mu.Lock()
	defer j.mu.Unlock()
	n := j.pt - j.ph
	if n > j.lim.items || uint64(len(j.buf)) > j.ringMax || j.pt-j.zeroed > uint64(len(j.buf)) || j.zeroed > j.ph {
		t.Fatalf("journal holds [%d, %d) cleared below %d in a ring of %d (max %d), bound %d", j.ph, j.pt, j.zeroed, len(j.buf), j.ringMax, j.lim.items)
	}
	if h := j.headOf(j.tailNow()); h != j.ph || j.tailNow() != j.pt {
		t.Fatalf("readers see [%d, %d); want [%d, %d)", h, j.tailNow(), j.ph, j.pt)
	}
	var zero E
	mask := uint64(len(j.buf) - 1)
	for s := j.pt; s < j.zeroed+uint64(len(j.buf)); s++ {
		if any(j.buf[s&mask]) != any(zero) {
			t.Fatalf("slot of seq %d (free) holds %v; want it cleared", s, j.buf[s&mask])
		}
	}
	var out []E
	for _, it := range j.copyLocked(nil, j.ph, n) {
		out = append(out, it.V)
	}
	return out
}

// The ring grows by doubling up to the bound, keeps the newest items in
// order, and drops the oldest beyond the count or byte bound (never the
// newest).
func TestJournalBounds(t *testing.T) {
	tests := []struct {
		name     string
		opts     []StreamOption
		sends    []string
		wantHead uint64
		want     []string
	}{
		{"under the bound", nil, []string{"a", "b"}, 0, []string{"a", "b"}},
		{"count bound 3", []StreamOption{WithJournal(3, 1<<20)}, []string{"a", "b", "c", "d", "e"}, 2, []string{"c", "d", "e"}},
		{"count bound 1", []StreamOption{WithJournal(1, 1<<20)}, []string{"a", "b"}, 1, []string{"b"}},
		{"fixed estimate folds bytes into the count", []StreamOption{WithJournal(100, 32)}, []string{"a", "b", "c"}, 1, []string{"b", "c"}}, // 16-byte strings: 2 fit
		{"byte bound", []StreamOption{WithJournal(100, 5), WithItemSize(func(s string) int { return len(s) })}, []string{"aa", "bb", "cc", "d"}, 1, []string{"bb", "cc", "d"}},
		{"oversized newest kept alone", []StreamOption{WithJournal(100, 5), WithItemSize(func(s string) int { return len(s) })}, []string{"aa", "bbbbbbbb"}, 1, []string{"bbbbbbbb"}},
		{"grows past the first ring", nil, slices.Repeat([]string{"x"}, 100), 0, slices.Repeat([]string{"x"}, 100)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := testJournal[string](t, tt.opts...)
			for _, s := range tt.sends {
				if err := j.out.Send(s); err != nil {
					t.Fatal(err)
				}
			}
			if got := kept(t, j); !slices.Equal(got, tt.want) || j.ph != tt.wantHead {
				t.Fatalf("got %v from %d; want %v from %d", got, j.ph, tt.want, tt.wantHead)
			}
		})
	}
}

// FuzzJournal checks the ring against a model: whatever the bounds and
// the sizes sent, the journal keeps exactly the newest items that fit, and
// a reader reads a gapless run of sequence numbers or is told it was
// truncated. An op of 0xb0 to 0xbf makes the reader take at most
// op&7+1 items (as fetch does, with a smaller batch). An op of 0xc0 or
// more is a SendWait of op&0x3f, run as
// waitRoom does but without blocking: a producer with no room is parked
// (up to 4) with its room channel and tries again once that is closed.
// It sends only when the item fits after what the reader has yet to read,
// and a parked producer's channel is closed once no attached reader is
// behind the mark it would get now (the journal's one mark is the
// earliest of the parked producers').
func FuzzJournal(f *testing.F) {
	f.Add(uint8(3), uint8(20), []byte{1, 2, 3, 0, 5, 9, 0, 0, 1})
	f.Add(uint8(1), uint8(1), []byte{7, 0, 7, 0})
	f.Add(uint8(40), uint8(255), []byte{4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 0, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 0})
	f.Add(uint8(8), uint8(12), []byte{0xc7, 0xc7, 0xc1, 0xc6, 0xc1, 0, 0xc1, 0xc7, 0, 0, 0xc2})
	f.Add(uint8(200), uint8(10), []byte{0xc5, 0xc5, 0xc5, 0xc3, 0, 0xc5, 0})
	// Two producers parked for items of different sizes, the reader
	// making room for the first's only.
	f.Add(uint8(200), uint8(10), []byte{0xc5, 0xc5, 0xc1, 0xc7, 0xb0, 0})
	f.Fuzz(func(t *testing.T, items, bytes uint8, ops []byte) {
		if items == 0 || bytes == 0 {
			return
		}
		size := func(v int) int { return v % 8 }
		j := testJournal[int](t, WithJournal(int(items), int(bytes)), WithItemSize(size))
		r := j.newFollow(context.Background(), followConfig{})
		var model []int // every item sent, by sequence number
		next := uint64(0)
		sent := func(v int) {
			t.Helper()
			model = append(model, v)
			// The model's journal: the newest items within both bounds,
			// at least one.
			from, size := len(model)-1, v%8
			for from > 0 && len(model)-from < int(items) && size+model[from-1]%8 <= int(bytes) {
				from--
				size += model[from] % 8
			}
			if got := kept(t, j); !slices.Equal(got, model[from:]) || j.ph != uint64(from) {
				t.Fatalf("kept %v from %d; want %v from %d", got, j.ph, model[from:], from)
			}
		}
		type parked struct {
			v    int
			room <-chan struct{}
		}
		var waiting []parked
		// trySend is one round of waitRoom's loop for v.
		trySend := func(v int) (room <-chan struct{}) {
			t.Helper()
			from := max(int(next), int(j.ph))
			sum := size(v)
			for _, u := range model[min(from, len(model)):] {
				sum += size(u)
			}
			fits := from >= len(model) || len(model)-from+1 <= int(items) && sum <= int(bytes)
			j.lockP()
			ok, room := j.roomP(int64(size(v)))
			if !ok {
				j.unlockP()
				return room
			}
			if !fits {
				j.unlockP()
				t.Fatalf("SendWait(%d) had room with %v unread from %d", v, model[from:], from)
			}
			j.sendP(v, int64(size(v)))
			sent(v)
			return nil
		}
		for _, op := range ops {
			switch {
			case op == 0: // the reader takes what is there
				batch, err := r.fetch(false)
				if err != nil {
					if _, ok := err.(*TruncatedError); !ok {
						t.Fatalf("read: %v", err)
					}
					r = j.newFollow(context.Background(), followConfig{})
					next = r.next
					break
				}
				for _, it := range batch {
					if it.Seq != next || it.V != model[it.Seq] {
						t.Fatalf("read seq %d = %d; want seq %d = %d", it.Seq, it.V, next, model[next])
					}
					next++
				}
			case op&0xf0 == 0xb0: // the reader takes a few
				j.mu.Lock()
				if tail, ok := r.readableLocked(); ok {
					n := min(tail-r.next, uint64(op&7+1))
					for _, it := range j.copyLocked(nil, r.next, n) {
						if it.Seq != next || it.V != model[it.Seq] {
							j.mu.Unlock()
							t.Fatalf("read seq %d = %d; want seq %d = %d", it.Seq, it.V, next, model[next])
						}
						next++
					}
					j.movedLocked(r.next, r.next+n)
					r.next += n
				}
				j.mu.Unlock()
			case op >= 0xc0: // SendWait
				if len(waiting) == 4 {
					break
				}
				v := int(op & 0x3f)
				if room := trySend(v); room != nil {
					waiting = append(waiting, parked{v, room})
				}
			default:
				v := int(op)
				if err := j.out.Send(v); err != nil {
					t.Fatal(err)
				}
				sent(v)
			}
			// The parked producers whose channel was closed look again,
			// oldest first, until none is woken.
			for again := true; again; {
				again = false
				for i := 0; i < len(waiting); i++ {
					select {
					case <-waiting[i].room:
					default:
						continue
					}
					again = true
					if waiting[i].room = trySend(waiting[i].v); waiting[i].room == nil {
						waiting = slices.Delete(waiting, i, i+1)
						i--
					}
				}
			}
			for _, p := range waiting {
				j.lockP()
				j.mu.Lock()
				at := j.roomAtP(int64(size(p.v)))
				behind := j.behindLocked(at)
				j.mu.Unlock()
				j.unlockP()
				if behind == 0 {
					t.Fatalf("SendWait(%d) is parked with no reader behind its mark %d (reader at %d, journal [%d, %d))", p.v, at, next, j.ph, j.pt)
				}
			}
		}
	})
}

// Steady state costs no allocation per item: a Send into a full ring, a
// Send that wakes a parked reader, and a reader's batch.
func TestStreamAllocs(t *testing.T) {
	j := testJournal[*int](t, WithJournal(256, 1<<20))
	r := j.newFollow(context.Background(), followConfig{})
	v := new(int)
	for range 512 { // grow the ring to its bound, and the reader's buffer
		_ = j.out.Send(v)
		r.fetch(false)
	}
	tests := []struct {
		name string
		f    func()
	}{
		{"send into a full ring", func() { _ = j.out.Send(v) }},
		{"send waking a reader", func() {
			j.mu.Lock()
			r.waiting = true
			j.waiters = append(j.waiters, r)
			j.nwait.Store(int32(len(j.waiters)))
			j.mu.Unlock()
			_ = j.out.Send(v)
			<-r.wake
		}},
		{"a batch of 64", func() {
			for range 64 {
				_ = j.out.Send(v)
			}
			r.fetch(false)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r.fetch(false) // what earlier cases left
			if n := testing.AllocsPerRun(100, tt.f); n != 0 {
				t.Fatalf("%v allocations; want 0", n)
			}
			if r.done {
				t.Fatalf("the reader was detached (%v)", r.final)
			}
		})
	}
}
