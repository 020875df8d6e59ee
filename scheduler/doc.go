// Package scheduler runs actor turns on a worker pool it owns.
//
// A turn is one call of [Runner.Run] with a throughput budget: the runner
// processes at most that many messages, then reports whether it has more.
// A runner with more work is submitted again at the back of the pool's
// queue, so a flooded actor cannot starve the others.
//
// # Costs
//
// One submission to the pool (github.com/panjf2000/ants/v2) costs about twice
// a bare go statement (~485 ns vs ~238 ns on a 2-core machine). The scheduler
// pays it once per turn, never per message: a busy actor processes up to the
// budget of messages per submission, and an actor with an empty mailbox is not
// submitted at all.
//
// # Blocking handlers
//
// Submissions never block. When the pool is at its size limit (handlers
// blocked in synchronous calls occupy workers), the turn runs on a fresh
// goroutine instead, owned and waited for by the scheduler, so a blocked
// handler never starves the others and a worker never waits for a worker.
//
// # Goroutines and shutdown
//
// The pool's workers (and its purge goroutines) plus any spill goroutines
// belong to the [Scheduler]. [Scheduler.Shutdown] refuses new turns, waits
// for running turns to end (bounded by its ctx) and releases the pool;
// [Scheduler.Close] does the same without a bound. Both are idempotent.
package scheduler
