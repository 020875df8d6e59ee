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
// truncated.
func FuzzJournal(f *testing.F) {
	f.Add(uint8(3), uint8(20), []byte{1, 2, 3, 0, 5, 9, 0, 0, 1})
	f.Add(uint8(1), uint8(1), []byte{7, 0, 7, 0})
	f.Add(uint8(40), uint8(255), []byte{4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 0, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 0})
	f.Fuzz(func(t *testing.T, items, bytes uint8, ops []byte) {
		if items == 0 || bytes == 0 {
			return
		}
		j := testJournal[int](t, WithJournal(int(items), int(bytes)), WithItemSize(func(v int) int { return v % 8 }))
		r := j.newFollow(context.Background(), followConfig{})
		var model []int // every item sent, by sequence number
		next := uint64(0)
		for _, op := range ops {
			if op == 0 { // the reader takes what is there
				batch, err := r.fetch(false)
				if err != nil {
					if _, ok := err.(*TruncatedError); !ok {
						t.Fatalf("read: %v", err)
					}
					r = j.newFollow(context.Background(), followConfig{})
					next = r.next
					continue
				}
				for _, it := range batch {
					if it.Seq != next || it.V != model[it.Seq] {
						t.Fatalf("read seq %d = %d; want seq %d = %d", it.Seq, it.V, next, model[next])
					}
					next++
				}
				continue
			}
			v := int(op)
			model = append(model, v)
			if err := j.out.Send(v); err != nil {
				t.Fatal(err)
			}
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
