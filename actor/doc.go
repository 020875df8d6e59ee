// Package actor is troupe's programming model: actors that own their state
// and handle typed calls one at a time from a mailbox.
//
// An actor is any state value (usually a pointer to a struct) spawned on a
// runtime. Its entry points are [Method] values, made once with [NewMethod]
// and checked by the compiler: request and reply types, and the state type
// they run on.
//
//	var Deposit = actor.NewMethod("deposit", func(a *Account, c *actor.Ctx, n int) (int, error) {
//		a.balance += n
//		return a.balance, nil
//	})
//
//	acct, err := actor.Spawn(rt, &Account{})
//	bal, err := Deposit.Call(ctx, acct, 10) // sync
//	err = Deposit.Cast(acct, 10)            // oneway
//	f := Deposit.Ask(ctx, acct, 10)         // future
//
// # Which call to use
//
// Call waits for the outcome and is what most code wants. Cast returns once
// the message is queued; a failure of its handler goes to the runtime's dead
// letters, never silently lost. Ask returns a [Future] at once, for fanning
// out many calls and collecting them with [AwaitAll].
//
// # Guarantees
//
//  1. One turn at a time: an actor never runs two handlers concurrently, so
//     its state needs no lock.
//  2. Order: calls from one sender to one actor run in send order, unless a
//     whitelist holds some back; held calls keep their relative order.
//  3. Exactly one outcome per sync call: the reply, the handler's error, a
//     [*PanicError], or a sentinel (ErrTimeout — which also matches
//     context.DeadlineExceeded —, ErrStopped, ErrMailboxFull, ErrDropped,
//     ErrCallCycle), or, if the caller cancels its ctx, an error wrapping
//     the ctx's cause (context.Canceled). Every sync call has a deadline:
//     its ctx's, or the runtime's default call timeout.
//  4. Deferred means cancellable: a call whose caller gave up before the
//     actor started it never runs; the handler's [Ctx.Context] is cancelled
//     when its caller gives up, when the actor is killed, and when the
//     handler returns; a reply that comes too late is discarded (and
//     counted as a dead letter), never delivered to a later call.
//  5. Whitelists hold, never drop: see [Ctx.Only].
//  6. Oneway failures are never silent: a Cast's error or panic, and every
//     message refused or left over by a stopped actor, is a [DeadLetter]
//     with the method name.
//  7. No deadlock by cycle: a sync call that would close a cycle of actors
//     waiting for each other (A→A, A→B→A, …) fails at once with
//     ErrCallCycle — provided calls made inside a handler pass
//     c.Context() (or a context derived from it). A handler blocked in a
//     call never starves the worker pool.
//  8. Stop ends, and loses nothing silently: [Ref.Stop] runs what is
//     queued, then fails what a whitelist still holds with ErrStopped;
//     [Ref.Kill] fails everything queued with ErrStopped. Whatever the
//     actor's timers, restart backoff or children are doing, a stop
//     finishes in bounded time: timers and backoffs are cancelled at once,
//     and no step waits for another actor inside a turn.
//  9. Panics are contained: a handler's panic (also panic(nil) and
//     runtime.Goexit) becomes the caller's [*PanicError], and the actor is
//     resumed, restarted or stopped by its [Supervision].
//
// # Whitelists and owner-driven actors
//
// A handler can restrict its actor to some methods with [Ctx.Only]: other
// calls are held, in order, until admitted. [NewHandler] makes an actor that
// no scheduler runs: its owner goroutine runs the pending calls at its safe
// points with [Handler.Process], the way a game loop or a resource manager
// embeds an actor.
//
// # Timers
//
// [After] and [Every] schedule self-casts on the runtime's timer wheel, keyed
// by name; restarting a key cancels the old timer ([Ctx.CancelTimer] too),
// and a tick already queued for it is not delivered. An actor's timers die
// with it: a stop cancels them at once. [WithIdleTimeout] casts a method
// once the actor has been idle for a while: a session's expiry.
//
// # Supervision
//
// Spawn's actors resume after a panic by default; [SpawnFunc]'s restart with
// a fresh state from the factory, within a budget (3 restarts in 5 s) and
// with a backoff (10 ms doubling to 1 s) on the timer wheel; [Terminate]
// stops the actor instead. Children spawned from a handler (Spawn(c, ...))
// stop before their parent, newest first. States may implement [Starter]
// and [Stopper]. A panic in any user code — a handler, a hook, a timer's
// method — is recovered where the actor runs it and reported (to the
// caller, or as a dead letter with its stack); it never leaves the actor
// or a worker half-done.
//
// # Lifecycle
//
// An actor is running, then stopping (graceful: [Ref.Stop], [Ctx.Stop]) or
// killing ([Ref.Kill], the Terminate directive, a Stop whose ctx ended),
// then stopped. One state machine (lifecycle.go) drives every path:
//
//   - On the goroutine that asks: new calls are refused with ErrStopped at
//     once; timers and a restart backoff are cancelled; a kill cancels the
//     running handler's Context; the actor's turn is woken with a stop
//     message. An idle actor with nothing to settle is stopped right
//     there, on that goroutine (no message, no pool submission).
//   - On the actor's turn: a stopping actor runs what is queued, a killed
//     one fails it; then it asks its children to stop (one at a time,
//     newest first; all at once on a kill) and goes idle until each has
//     reported; then the Stopping hook runs, held calls fail, the name is
//     freed and Done closes.
//   - Where the runtime closed under it: the goroutine that finds the
//     scheduler closed finalizes the actor itself.
//
// # Costs
//
// An idle actor costs no goroutine and about 230 bytes if never messaged
// (about 750 bytes after its first call: its mailbox's queues are made on
// first use and kept; measured with 20,000 actors). A Cast with a
// pointer payload allocates nothing; a Call with a ctx deadline allocates
// twice (the call and its reply channel); a Call without one arms a timer on
// the wheel (embedded in the call: still two allocations). A turn processes
// up to the runtime's throughput budget of messages, then goes to the back
// of the scheduler's run queue.
//
// # Goroutines and shutdown
//
// This package starts no goroutine of its own: turns run on the runtime's
// worker pool, timers on its wheel, and an owner-driven Handler on its
// owner's goroutine. A handler that waits in a sync call lends its worker
// to the pool (the scheduler starts a replacement at once), so waiting
// never starves other actors. Shutting the runtime down stops every actor.
package actor
