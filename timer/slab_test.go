package timer

import (
	"runtime"
	"testing"
	"time"
	"unsafe"
	"weak"
)

// mallocs returns the number of heap allocations made so far.
func mallocs() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.Mallocs
}

// A slab fits the Go allocator exactly: at most 512 bytes (pointerful
// objects above that carry an 8-byte header, which would make a timer
// cost more than its own size), and one more timer would not fit.
func TestSlabSizes(t *testing.T) {
	tests := []struct {
		name      string
		size, len uintptr
	}{
		{"Timer", unsafe.Sizeof(Timer{}), timerSlab},
	}
	for _, tt := range tests {
		if got := tt.size * tt.len; got > 512 || got+tt.size <= 512 {
			t.Errorf("%s slab: %d × %d B = %d B; want the most that fit in 512", tt.name, tt.len, tt.size, got)
		}
	}
}

// AfterFunc, and Schedule with nothing to recycle, allocate one slab per
// timerSlab timers (Schedule one 32 KiB chunk per chunkCap), not one
// object per timer.
func TestSlabAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts are not meaningful in -short runs")
	}
	const slabs = 200
	tests := []struct {
		name string
		per  int
		arm  func(w *Wheel) error
	}{
		{"AfterFunc", timerSlab, func(w *Wheel) error {
			_, err := w.AfterFunc(time.Hour, noop)
			return err
		}},
		{"Schedule", chunkCap, func(w *Wheel) error {
			_, err := w.Schedule(time.Hour, noop)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWheel(t)
			if err := tt.arm(w); err != nil { // starts the driver
				t.Fatal(err)
			}
			n := slabs * tt.per
			before := mallocs()
			for range n {
				if err := tt.arm(w); err != nil {
					t.Fatal(err)
				}
			}
			got := mallocs() - before
			if got > slabs+slabs/10 {
				t.Errorf("%d arms made %d allocations; want about %d (one per %d)", n, got, slabs, tt.per)
			}
			if l := w.Len(); l != n+1 {
				t.Errorf("Len: got %d; want %d", l, n+1)
			}
		})
	}
}

// A slab is one object: it stays in memory while any of its timers is
// referenced (the documented price), and is freed once none is.
func TestSlabLifetime(t *testing.T) {
	w := newWheel(t)
	var weaks []weak.Pointer[Timer]
	var kept *Timer
	for i := range timerSlab { // exactly the wheel's first slab
		tm := mustAfter(t, w, time.Hour, noop)
		if !tm.Stop() {
			t.Fatal("Stop: got false; want true")
		}
		if i == timerSlab/2 {
			kept = tm
		} else {
			weaks = append(weaks, weak.Make(tm))
		}
	}
	mustAfter(t, w, time.Hour, noop) // the wheel moves to a second slab
	runtime.GC()
	for i, p := range weaks {
		if p.Value() == nil {
			t.Fatalf("timer %d freed while another timer of its slab is referenced", i)
		}
	}
	runtime.KeepAlive(kept)
	kept = nil
	runtime.GC()
	runtime.GC()
	for i, p := range weaks {
		if p.Value() != nil {
			t.Fatalf("timer %d: slab still in memory with no timer of it referenced", i)
		}
	}
}

// A Timer is never handed out twice: a caller may keep one forever, so
// the wheel hands out each slab entry once, stopped or fired or not.
func TestAfterFuncFreshTimers(t *testing.T) {
	bubble(t, time.Minute, func(t *testing.T) {
		w := newWheel(t)
		seen := make(map[*Timer]bool)
		var fired rec[int]
		for i := range 5 * timerSlab {
			tm := mustAfter(t, w, time.Duration(i%3)*time.Millisecond, func() { fired.add(i) })
			if seen[tm] {
				t.Fatalf("AfterFunc %d returned a Timer handed out before", i)
			}
			seen[tm] = true
			if i%2 == 0 {
				tm.Stop()
			}
			if i%7 == 0 {
				time.Sleep(2 * time.Millisecond) // let some fire
			}
		}
		time.Sleep(10 * time.Millisecond)
		w.mu.Lock()
		defer w.mu.Unlock()
		for tm := range seen {
			if tm.w.Load() != w || tm.level() != notPending || tm.next != nil || tm.prev != nil {
				t.Fatalf("timer after the run: w %p, level %d, links %p %p; want %p, not pending, nil links", tm.w.Load(), tm.level(), tm.next, tm.prev, w)
			}
		}
		if got, want := len(fired.all()), 5*timerSlab/2; got != want {
			t.Errorf("fired %d callbacks; want %d (the unstopped)", got, want)
		}
	})
}
