package timer

import (
	"runtime"
	"testing"
	"time"
	"weak"
)

// scheduleBurst schedules n funcs an hour away and stops them all, as a
// burst that finishes does, and returns weak pointers to the chunks they
// took: the Handles, which keep their chunk, are gone when it returns.
func scheduleBurst(t *testing.T, w *Wheel, n int) []weak.Pointer[chunk] {
	hs := make([]Handle, n)
	for i := range hs {
		hs[i] = mustSchedule(t, w, time.Hour, noop)
	}
	var ws []weak.Pointer[chunk]
	seen := map[*chunk]bool{}
	for _, h := range hs {
		if !seen[h.c] {
			seen[h.c] = true
			ws = append(ws, weak.Make(h.c))
		}
	}
	for i, h := range hs {
		if !h.Stop() {
			t.Fatalf("Stop %d: got false; want true", i)
		}
	}
	return ws
}

// A chunk whose nodes are all free is given back to the garbage
// collector (but for the one nodes are taken from), even when it had
// been set aside as spare: once the burst's Handles are dropped, its
// memory is collected.
func TestArenaReleasedChunksCollected(t *testing.T) {
	w := newWheel(t)
	ws := scheduleBurst(t, w, 3*chunkCap+5)
	if len(ws) != 4 {
		t.Fatalf("the burst took %d chunks; want 4", len(ws))
	}
	runtime.GC()
	runtime.GC()
	kept := 0
	for _, p := range ws {
		if p.Value() != nil {
			kept++
		}
	}
	if kept != 1 {
		t.Fatalf("%d of the burst's 4 chunks still in memory after it finished; want 1 (the current one)", kept)
	}
	// The wheel still works on the chunk it kept and on new ones.
	scheduleBurst(t, w, 2*chunkCap)
}
