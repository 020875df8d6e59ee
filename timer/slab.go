package timer

// Timers made by AfterFunc are carved out of slabs: one allocation of
// timerSlab timers serves that many arms (Schedule's timers are nodes of
// an arena instead: see arena.go). With a million timers pending and
// none finished, nothing can be recycled, and after reading
// the clock an arm's largest cost is its allocation: the malloc, and the
// garbage collector, which finds and marks every pending timer at each
// cycle (one object per slab instead of one per timer). Timers armed one
// after another also sit side by side in memory, as they do in the slot
// list they join.
//
// Measured (bench/: TimerAddPending, TimerSchedulePending; five runs
// alternating with the code before slabs, medians): AfterFunc 131 -> 107
// ns, Schedule (then pooled timers in slabs of 8) 127 -> 110 ns. Slabs of 63 (3 KB) measured about 5% less
// CPU than slabs of 10, within the noise, at 48.8 bytes per timer (the
// 8-byte header) and with six times as much memory pinned by a kept
// timer; slabs of 1024 (48 KB, a large object: no header) about 10% less,
// with a hundred times as much pinned.
//
// The price is memory held: a slab is one object to the garbage
// collector, so it lives while any of its timers is referenced, by the
// wheel (pending) or by a caller keeping a *Timer or a Handle. A timer
// kept forever keeps its whole slab (480 bytes). With timers armed and dropped at a steady rate, slabs are
// freed as their timers finish; a handful of long-lived timers amid many
// short ones is the worst case, which Wheel.Start (a Timer embedded in
// the caller's struct) avoids entirely.
//
// A slab's timers are handed out once each, in order: the wheel never
// reuses a Timer (a caller may still hold it).
//
// What the collector's share is (an experiment, not kept: 2026-12-06,
// bench/ TimerAddPending, three alternated rounds on a 2-core VM whose
// clock read costs about 50 ns): slabs allocated as pointer-free memory
// kept alive by the wheel, so that the collector scanned no pending
// timer at all, took AfterFunc from 137 to 126 ns (0.47 -> 0.39 times
// time.AfterFunc's). That is the most any layout of a pointerful Timer
// could win; the rest above the clock read and the lock is the fresh
// memory and the placement, which Schedule's pointer-free nodes pay too.

// timerSlab is the number of timers per slab: the most that fit in 512
// bytes (480 bytes, a size class of the Go allocator). Above 512 bytes,
// an object holding pointers carries an 8-byte header, which would make
// each timer cost more than its own 48 bytes; and a small slab keeps
// small what a kept timer pins.
const timerSlab = 10

// newTimerLocked returns a fresh zero Timer from the wheel's current
// slab, allocating the next slab when it is used up. The caller holds
// w.mu.
func (w *Wheel) newTimerLocked() *Timer {
	if w.nTimers == len(w.timers) {
		w.timers = make([]Timer, timerSlab)
		w.nTimers = 0
	}
	t := &w.timers[w.nTimers]
	w.nTimers++
	return t
}
