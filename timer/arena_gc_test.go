package timer

import (
	"runtime"
	"testing"
	"testing/synctest"
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

// A Handle kept after its scheduling ended keeps its chunk, but not the
// wheel: once the wheel is stopped and dropped, it is collected even
// while Handles into a chunk released earlier, and into the chunk that
// was current at Stop, are kept. Their Stop still reports false.
func TestStoppedWheelNotKeptByHandle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, err := New()
		if err != nil {
			t.Fatal(err)
		}
		hs := make([]Handle, chunkCap+1)
		for i := range hs {
			hs[i] = mustSchedule(t, w, time.Hour, noop)
		}
		if hs[0].c == hs[chunkCap].c {
			t.Fatal("the schedulings took one chunk; want two")
		}
		for _, h := range hs[:chunkCap] {
			h.Stop() // the first chunk is released, the wheel running
		}
		kept := []Handle{hs[0], hs[chunkCap]}
		hs = nil
		ww := weak.Make(w)
		if n := w.Stop(); n != 1 {
			t.Fatalf("Stop dropped %d; want 1", n)
		}
		<-w.Done()
		synctest.Wait() // the driver has exited, its stack gone
		w = nil
		runtime.GC()
		runtime.GC()
		if ww.Value() != nil {
			t.Error("a stopped wheel stays in memory while a Handle of it is kept")
		}
		for i, h := range kept {
			if h.Stop() {
				t.Errorf("kept Handle %d: Stop after the wheel stopped returned true", i)
			}
		}
	})
}
