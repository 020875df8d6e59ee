// Package timer implements a hierarchical timer wheel: many callbacks,
// each due after a delay, scheduled and cancelled in O(1), driven by one
// goroutine that sleeps until the next one is due.
//
//	w, err := timer.New(timer.WithTick(time.Millisecond)) // no goroutine yet
//	t, err := w.AfterFunc(d, f)  // f runs on the wheel's goroutine: keep it short
//	stopped := t.Stop()          // true if this call kept f from running
//	h, err := w.Schedule(d, f)   // the same without allocating; h can only Stop
//	dropped := w.Stop()          // drops what is pending; never waits
//	<-w.Done()                   // closed once the goroutine has exited
//
// It imports only the standard library.
//
// # Choosing between a Wheel and time.AfterFunc
//
// [time.AfterFunc] starts a goroutine per callback, keeps nanosecond
// precision and costs a runtime timer per pending call. A [Wheel] runs
// every callback on its one goroutine, rounds deadlines up to its tick
// (1ms by default), and keeps a pending timer in 48 bytes with O(1) add
// and stop whatever the number pending: it suits the many timeouts,
// retries and self-messages of an actor system, which are mostly stopped
// before they fire. Use [time.AfterFunc] for a few timers, for callbacks
// that block, or when a tick of delay matters.
//
// # How it works
//
// Time is counted in ticks since [New], on the monotonic clock; a timer is
// due at the first tick boundary at or after its deadline. The wheel has
// six levels of 64 slots; a slot of level L covers 64^L ticks, so the
// levels span 64, 4096, ... up to 2^36 ticks. A timer goes into the slot
// of the highest level whose 6-bit digit of the due tick differs from the
// current tick's. Each slot holds two doubly-linked lists: one threaded
// through the [Timer]s, one through the nodes of Schedule's arena (linked
// by index, not pointer), with one bit per slot marking it non-empty, so
// adding and stopping a timer never allocate beyond the timer itself.
//
// When a slot above level 0 comes due, its timers cascade: each is placed
// again and lands on a lower level, closer to its tick, until it reaches
// level 0, whose slots come due exactly at their tick. A timer due beyond
// the span sits on the top level and is looked at once per turn of it
// (every 2^36 ticks) until its remaining delay fits. A timer therefore
// never fires before its deadline, and fires within one tick after it on
// an unloaded machine.
//
// # Cost
//
//   - [Wheel.AfterFunc], [Wheel.Start], [Wheel.Schedule], [Timer.Stop],
//     [Timer.Reset], [Handle.Stop]: O(1), under one mutex, plus one read
//     of the monotonic clock to arm. AfterFunc takes its 48-byte [Timer]
//     from a slab of 10 (one 480-byte allocation per 10 calls; see
//     Memory); [Wheel.Start] allocates nothing (it arms a Timer embedded
//     in the caller's struct, with the struct itself as the [Callback]);
//     [Wheel.Schedule] takes a 32-byte node from the wheel's arena,
//     recycling those of finished schedulings, and allocates a 32 KiB
//     chunk of 1023 nodes when none is free.
//   - Firing: O(1) per timer (one more short hold of the mutex for each
//     callback after the first of a batch) plus at most five cascades
//     over its life (and one per 2^36 ticks beyond the span), each O(1);
//     finding the next due slot is O(levels) bit scans.
//   - [Wheel.Stop]: O(pending); [Wheel.Done]: O(1).
//   - Memory: 48 bytes per pending timer (32 through Schedule), plus the
//     caller's closure, plus about 9KB per wheel.
//
// Measured with a million timers pending (BenchmarkAddStop, one core of
// an AMD EPYC): an AfterFunc+Stop pair takes about 110-150ns against
// 210-300ns for [time.AfterFunc]+Stop, and a pending timer holds 48 bytes
// of heap against about 115-130; Start+Stop on an embedded timer, and
// Schedule+Stop, take about 55-75ns with no allocation. About 25ns of
// that is reading the monotonic clock on that (virtual) machine.
//
// Adding timers that stay pending, with 1M to 2M pending and nothing
// finished to recycle (BenchmarkTimerAddPending and
// BenchmarkTimerSchedulePending in bench/, a loaded 2-core VM): AfterFunc
// takes about 105-140ns against 180-240ns for [time.AfterFunc], holding
// 48 bytes per timer against about 112; Schedule 0.35-0.45 times what
// time.AfterFunc takes (85-100ns of CPU against 225-290, the collector's
// included), holding 32 bytes. What is left of an add is the clock
// (about 35ns here), the lock, and for AfterFunc the garbage collector
// marking a heap that grows by a pointerful timer per add.
//
// The driver holds the mutex for bounded work (at most 64 callbacks taken
// out or 1024 timers cascaded at a time, apart from a top-level slot), so
// callers of AfterFunc and Stop do not wait behind a large cascade.
//
// # Memory
//
// The Timers AfterFunc makes come out of slabs: one allocation serves
// 10, the most that fit in 512 bytes, the largest pointerful object Go's
// allocator keeps without a header. With a million timers pending and
// none finished, nothing can be recycled, and slabs make such an arm
// about a sixth cheaper: one malloc per slab instead of one per timer,
// and a tenth as many objects for the garbage collector to find and mark
// at every cycle. The price: a slab is one object to the collector, so
// it stays in memory while any of its timers is pending or referenced. A
// *Timer kept long after it fired or was stopped keeps up to 480 bytes
// (the Timers made just before and after it). To keep a timer as long as
// its owner (an idle timeout reset on every message, say), embed a Timer
// in the owner's struct and arm it with [Wheel.Start]: it costs no
// allocation and pins nothing.
//
// Schedule's timers are not objects at all: each is a 32-byte node of an
// arena the wheel owns, in chunks of 1023 (32 KiB each), linked into its
// slot by index, so that the garbage collector reads only its func and
// never the rest (a pointerful timer makes the collector find and mark
// every link at each cycle). A node is reused as soon as its scheduling
// ends; a chunk whose nodes are all free is given back to the collector,
// so the memory of a burst is returned as its timers finish. The price
// of chunks: one pending node keeps its chunk's 32 KiB (its free nodes
// serve the next schedulings), so a few long timers left from a burst of
// short ones can hold up to a chunk each until they finish; and a Handle
// kept long after its scheduling ended, once the wheel has released that
// chunk, keeps its 32 KiB in memory (but not the wheel, once stopped).
//
// # Callbacks
//
// Callbacks run on the driver goroutine, one at a time, outside the lock:
// a callback may call AfterFunc, Stop and Reset on its own wheel, and
// [Wheel.Stop] too (but must not wait on [Wheel.Done], which waits for
// the callback itself). A slow callback delays every later one.
//
// A panicking callback is recovered and counted by [Wheel.Panics]; later
// timers still fire. The panic, as a [*PanicError] with its value and
// stack, goes to the [WithPanicHandler] function (whose own panic is
// recovered and written to standard error with it), or without one to
// standard error: no panic passes unseen. A callback must not call
// [runtime.Goexit] (as t.FailNow does), which would end the driver.
//
// For each scheduling of a timer exactly one of these happens: its
// callback runs, a [Timer.Stop] or [Timer.Reset] returns true, a
// [Wheel.Start] re-arms the still pending Timer (which Start does not
// report: Stop it first to know), or [Wheel.Stop] drops it and counts it
// (and, if its callback is a [Dropper], calls its Dropped method instead
// of Fire: a waiter that depends on the callback is not stranded).
// The driver takes due timers out of
// the wheel in batches (Timer.Stop returns false from then on) and begins
// their callbacks one by one; Wheel.Stop drops, and counts, those of a
// batch not yet begun.
//
// # Goroutines and shutdown
//
// A Wheel owns one goroutine, the driver. [New] starts nothing; the first
// timer armed (AfterFunc, Start or Schedule) starts the driver. With
// nothing pending the driver blocks on a channel and burns no CPU;
// otherwise it sleeps on a single reused [time.Timer] until the next
// occupied slot comes due, and a timer added with an earlier slot wakes
// it.
//
// [Wheel.Stop] drops every pending timer, returns how many, and tells the
// driver to exit; like [time.Timer.Stop] it never waits, so it may be
// called from a callback. The callback the driver has begun when Stop is
// called runs to its end, perhaps after Stop returns; no other begins
// after Stop returns. [Wheel.Done] is the channel to wait on: it is
// closed once the driver has exited (by Stop itself if no driver ever
// started), and never before Stop. The owner of a wheel stops it and
// waits:
//
//	w.Stop()
//	<-w.Done() // the last callback has returned; the goroutine is gone
//
// Stop is idempotent. Afterwards AfterFunc, Start and Schedule return
// [ErrStopped] and Reset does nothing; a stopped wheel cannot be
// restarted. Every wheel that has had a timer must be stopped, or its
// goroutine leaks.
//
// # Testing
//
// The wheel reads time only through [time.Now], [time.Since] and
// [time.Timer], so a wheel created inside a [testing/synctest] bubble runs
// on the bubble's fake clock, and its driver is durably blocked while it
// sleeps.
package timer
