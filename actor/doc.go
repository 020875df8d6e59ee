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
// out many calls and collecting them with [All].
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
//     ErrCallCycle). Every sync call has a deadline: its ctx's, or the
//     runtime's default call timeout.
//  4. Deferred means cancellable: a call whose caller gave up before the
//     actor started it never runs; the handler's [Ctx.Context] is cancelled
//     when its caller gives up; a reply that comes too late is discarded
//     (and counted as a dead letter), never delivered to a later call.
//  5. Whitelists hold, never drop: see [Ctx.Only].
//  6. Oneway failures are never silent: a Cast's error or panic, and every
//     message refused or left over by a stopped actor, is a [DeadLetter]
//     with the method name.
//  7. No deadlock by cycle: a sync call that would close a cycle of actors
//     waiting for each other (A→A, A→B→A, …) fails at once with
//     ErrCallCycle — provided calls made inside a handler pass
//     c.Context() (or a context derived from it). A handler blocked in a
//     call never starves the worker pool.
//  8. Stop loses nothing silently: [Ref.Stop] runs what is queued, then
//     fails what a whitelist still holds with ErrStopped; [Ref.Kill] fails
//     everything queued with ErrStopped.
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
// by name; restarting a key cancels the old timer, and a tick already queued
// for it is not delivered. An actor's timers die with it.
//
// # Supervision
//
// Spawn's actors resume after a panic by default; [SpawnFunc]'s restart with
// a fresh state from the factory, within a budget (3 restarts in 5 s) and
// with a backoff (10 ms doubling to 1 s) on the timer wheel. Children
// spawned from a handler (Spawn(c, ...)) stop before their parent, newest
// first. States may implement [Starter] and [Stopper].
//
// # Costs
//
// An idle actor costs no goroutine and about 250 bytes. A Cast with a
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
// owner's goroutine. Shutting the runtime down stops every actor.
package actor
