// Package scheduler runs actor turns on loops it owns, on an ants worker
// pool (github.com/panjf2000/ants/v2).
//
// A turn is one call of [Runner.Run] with a throughput budget: the runner
// processes at most that many messages, then reports whether it has more.
// A runner with more work goes to the back of the run queue, so a flooded
// actor cannot starve the others.
//
// # Loops and costs
//
// Runnable tasks wait in one FIFO run queue, drained by loops: long-lived
// goroutines (ants workers, started once) that run one turn after another
// and park when the queue is empty. A loop takes the oldest turn that
// waits and half of the rest (at most 32 more) in one acquisition of the
// scheduler's lock and runs that batch in order; a loop that finds the
// queue empty steals half of another's batch before it parks, a batch
// held by a loop whose turn waits counts as waiting work for Block and
// the watchdog, and the watchdog gives back to the run queue a batch
// whose loop has not got past a turn since its last check (while other
// loops keep busy with queued turns and never steal), so no turn waits
// behind a stuck one. About GOMAXPROCS loops run while there
// is work, so scheduling a turn is usually a locked queue push (tens of
// ns), not a goroutine hand-off: one ants submission costs about twice a
// bare go statement (~485 ns vs ~238 ns on a 2-core machine) and is paid
// only when a loop starts. An actor with an empty mailbox is not queued at
// all.
//
// # Blocking handlers
//
// Schedule never blocks. A handler blocked in a sync call never starves
// the others; a handler blocked otherwise does not either, up to a cap.
// There are two cases.
//
// Known blocking: a handler waiting for a sync call's reply waits for
// another turn, which needs a loop. The sync Call of package actor
// brackets that wait with [Scheduler.Block] and [Scheduler.Unblock].
// Between them the loop does not count among those that drain the queue,
// so if turns wait and no loop is free, Block starts (or wakes) a
// replacement at once: no watchdog, no delay, whatever the pool's size.
// After Unblock the surplus exits when it finds the queue empty. Cost:
// one lock acquisition each (~12 ns a pair uncontended), no allocation.
//
// Unknown blocking: a handler in time.Sleep, I/O or a channel receive
// tells the scheduler nothing. When every loop is busy and turns wait, a
// watchdog timer fires every millisecond (stallCheck) while they do. If a
// turn completed since its last check, nothing is stalled. If none did,
// it reads the runtime's goroutine counts (runtime/metrics, Go 1.26:
// /sched/goroutines/running and /runnable, /sched/gomaxprocs): a loop
// running a CPU-bound turn is a running or runnable goroutine, a loop
// waiting in a handler is neither. It starts a loop per waiting turn, but
// no more than there are idle Ps, and never more than [WithMaxExtra]
// (default [DefaultMaxExtra], 64) beyond the base. So CPU-bound turns,
// which leave no P idle, add no loop (unless none completes for 64
// checks: see below); waiting handlers get up to 64 more
// loops, at most one per idle P at each check. At the cap the watchdog stops: a
// turn then waits for a loop to come back, and a handler that waits that
// way routinely should use Block. The counts are approximate (a goroutine
// moving between run queues is briefly in none), so a rare extra loop
// may start; the cap bounds that too. They count every goroutine of the
// program, so they cannot tell a P kept busy by a CPU-bound turn from one
// kept busy by other goroutines (which may be waiting, polling, for the
// very turn that waits): once no turn has completed for 64 checks in a
// row, the watchdog starts one loop even with no P idle, and again after
// 128, 256, ... checks, within the cap. On a runtime without these
// metrics the cap alone bounds the watchdog.
//
// # Goroutines and blocking
//
// The scheduler runs at most these goroutines, all its own:
//
//   - base loops, base = min(GOMAXPROCS at New, [WithPoolSize]): started
//     as turns arrive, parked when idle; up to base stay parked.
//   - one replacement per loop whose handler is between Block and Unblock:
//     bounded by the number of handlers blocked in calls at once, which the
//     application controls; none without Block.
//   - at most [WithMaxExtra] loops started by the watchdog for unknown
//     blocking, and only while Ps are idle (or, one at a time, after a
//     stall of 64, 128, ... checks in a row).
//   - the watchdog: not a goroutine of its own but a time.AfterFunc timer,
//     armed only while turns wait and no loop is free; each firing runs
//     briefly on a goroutine of the timer's and re-arms it or stops.
//   - the pool's two housekeeping goroutines, from New to Shutdown/Close,
//     and from then one that waits for the pool's workers to exit.
//
// In all, at most base + B + WithMaxExtra loops, B the handlers between
// Block and Unblock at that moment, plus one timer callback and the two
// housekeepers. The one excess: a loop whose handler has just returned
// from Unblock counts outside Block before its turn ends (and the rest of
// its batch, if others have not stolen it, has run); at the end of the
// batch it exits if loops outside Block exceed base+WithMaxExtra, and
// idle loops beyond base exit when they find the queue empty. Loops run
// on ants workers while the pool has room, on plain goroutines beyond;
// ants keeps a worker whose loop ended for reuse, about a second.
//
// Why: a sync call's wait is known and its replacement cannot overload
// the CPUs (the blocked loop uses none), so it is immediate and uncapped;
// unknown waits can only be inferred, from missing progress and idle Ps,
// and an inference that is wrong must cost a bounded number of
// goroutines, not one per waiting turn per millisecond.
//
// # Goroutines and shutdown
//
// The loops, the watchdog and the pool's two housekeeping goroutines belong
// to the [Scheduler]. [Scheduler.Shutdown] refuses new turns, stops the
// watchdog (a pending check is cancelled, not waited out), lets the loops
// finish the turns already queued (a runner with more work after that is
// told to [Runner.Abort]), waits for them, releases the pool and waits
// for its goroutines (all bounded by its ctx); [Scheduler.Close] does the
// same without a bound. Both are idempotent. Once Close, or a Shutdown
// that returned nil, returns, no goroutine of the scheduler is left. A
// Shutdown whose ctx ended first releases the pool at once and leaves the
// loops still in turns to exit as those end; a goroutine of the
// scheduler's waits for the pool's last worker, and a later Close (or
// Shutdown) waits for all of them, so calling it after a Shutdown that
// timed out ends everything.
package scheduler
