package timer

import (
	"testing"
	"time"
	"unsafe"
)

// A chunk is exactly 32 KiB: a large object of four pages, with no malloc
// header and no rounding, so a node costs 32 bytes with its func.
func TestChunkSize(t *testing.T) {
	if got := unsafe.Sizeof(chunk{}); got != 32<<10 {
		t.Errorf("chunk is %d bytes; want %d", got, 32<<10)
	}
	if got := unsafe.Sizeof(node{}) + unsafe.Sizeof(func() {}); got != 32 {
		t.Errorf("node and func are %d bytes; want 32", got)
	}
}

// liveChunks returns the chunks the wheel holds.
func liveChunks(w *Wheel) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, c := range w.arena.chunks {
		if c != nil {
			n++
		}
	}
	return n
}

// Nodes of finished schedulings are reused, and a chunk whose nodes are
// all free is released (but for the one nodes are taken from), so a burst
// leaves no memory behind; released chunks' indices are reused.
func TestArenaRelease(t *testing.T) {
	w := newWheel(t)
	const n = 3*chunkCap + 5
	hs := make([]Handle, n)
	for i := range hs {
		hs[i] = mustSchedule(t, w, time.Hour, noop)
	}
	if got := liveChunks(w); got != 4 {
		t.Fatalf("chunks after %d schedulings: got %d; want 4", n, got)
	}
	for i, h := range hs {
		if !h.Stop() {
			t.Fatalf("Stop %d: got false; want true", i)
		}
	}
	if got := liveChunks(w); got != 1 {
		t.Fatalf("chunks after stopping all: got %d; want 1 (the current one)", got)
	}
	for i, h := range hs {
		if h.Stop() {
			t.Fatalf("stale Stop %d: got true; want false", i)
		}
	}
	// Refill: the current chunk's free nodes first, then new chunks in
	// the released indices. Stale handles stop none of them.
	for range hs {
		mustSchedule(t, w, time.Hour, noop)
	}
	if got := liveChunks(w); got != 4 {
		t.Fatalf("chunks after refilling: got %d; want 4", got)
	}
	w.mu.Lock()
	if got := len(w.arena.chunks); got != 4 {
		t.Errorf("chunk indices: got %d; want 4 (released ones reused)", got)
	}
	w.mu.Unlock()
	for i, h := range hs {
		if h.Stop() {
			t.Fatalf("stale Stop %d after refill: got true; want false", i)
		}
	}
	if got := w.Len(); got != n {
		t.Fatalf("Len: got %d; want %d", got, n)
	}
}

// Schedule's pending timers are 32 bytes each, in the heap as measured.
func TestScheduleMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("heap measurements are not meaningful in -short runs")
	}
	w := newWheel(t)
	const n = 100 * chunkCap
	hs := make([]Handle, n)
	mustSchedule(t, w, time.Hour, noop) // the driver and its first chunk
	before := heapAlloc()
	for i := range hs {
		hs[i] = mustSchedule(t, w, time.Hour, noop)
	}
	per := float64(heapAlloc()-before) / n
	if per > 33 {
		t.Errorf("heap per pending Schedule timer: %.1f B; want at most 33", per)
	}
}

// Handles and nodes mix with Timers in the same slots, fire in their
// tick and are freed as they are taken out.
func TestScheduleFiresAndFrees(t *testing.T) {
	bubble(t, time.Hour, func(t *testing.T) {
		w := newWheel(t)
		var got rec[int]
		start := time.Now()
		var hs []Handle
		for i := range 2 * chunkCap {
			d := time.Duration(i%50) * time.Millisecond
			hs = append(hs, mustSchedule(t, w, d, func() {
				if e := time.Since(start); e < d {
					t.Errorf("func %d ran after %v; want at least %v", i, e, d)
				}
				got.add(i)
			}))
			mustAfter(t, w, d, noop)
		}
		time.Sleep(time.Second)
		if n := len(got.all()); n != len(hs) {
			t.Fatalf("ran %d funcs; want %d", n, len(hs))
		}
		for i, h := range hs {
			if h.Stop() {
				t.Fatalf("Stop %d after it ran: got true; want false", i)
			}
		}
		if n := liveChunks(w); n != 1 {
			t.Errorf("chunks after all ran: got %d; want 1", n)
		}
	})
}
