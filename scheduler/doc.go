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
// and park when the queue is empty. About GOMAXPROCS loops run while there
// is work, so scheduling a turn is usually a locked queue push (tens of
// ns), not a goroutine hand-off: one ants submission costs about twice a
// bare go statement (~485 ns vs ~238 ns on a 2-core machine) and is paid
// only when a loop starts. An actor with an empty mailbox is not queued at
// all.
//
// # Blocking handlers
//
// Schedule never blocks. When every loop is busy and turns wait, a
// watchdog goroutine checks every millisecond that turns still complete;
// if none did, the loops are stuck in blocked handlers (a sync call, I/O),
// and it starts one more loop per waiting turn — on the pool, or on a
// goroutine of ours once the pool is full. So a handler blocked in a sync
// call never starves the others; the extra loops exit once idle.
//
// # Goroutines and shutdown
//
// The loops, the watchdog and the pool's two housekeeping goroutines belong
// to the [Scheduler]. [Scheduler.Shutdown] refuses new turns, lets the
// loops finish the turns already queued (a runner with more work after
// that is told to [Runner.Abort]), waits for them (bounded by its ctx) and
// releases the pool; [Scheduler.Close] does the same without a bound. Both
// are idempotent.
package scheduler
