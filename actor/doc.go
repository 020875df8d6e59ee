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
//   - Call: one request, one reply, the caller waits. Most code.
//   - Ask: the same without waiting now: a [Future] to collect later, or
//     many at once with [AwaitAll].
//   - Cast: fire and forget; a failure goes to the runtime's dead letters,
//     never silently lost.
//   - A stream ([NewStream], read with [Stream.Open]): one request, many
//     items over time, read by one or more readers that may come, go and
//     resume by sequence number: tail -f, job output, chunked replies,
//     pipelines of actors.
//   - A deferred method ([NewDeferred]): one request, one reply, but the
//     handler answers later than its turn: it keeps the [Reply] and sends
//     it on a later turn or from another goroutine, exactly once, while the
//     actor serves other calls (a front actor handing calls to workers, a
//     call parked until an event). Callers do not know: they use Call or
//     Ask and get the same outcomes, deadlines included.
//   - [Go]: slow work (I/O) without blocking the turn: a function runs on a
//     goroutine the actor owns and its result comes back as a message to
//     one of the actor's methods (vanilla's thread.call, Akka's pipeTo).
//     With a deferred method: start the work with Go, send the Reply from
//     the method that receives the result.
//
// # Streams
//
// A stream's handler gets an [Out]: it may Send during its turn, keep the
// Out in the actor's state and Send on later turns, or hand it to a
// goroutine. Send never blocks the actor: items go to a numbered, bounded
// journal (DefaultJournalItems items and DefaultJournalBytes bytes unless
// [WithJournal] says otherwise; the oldest are dropped). [Stream.Open]
// sends the request and returns a [Follow]: All waits for items until the
// end (harp's follow), Collected takes what is there now (harp's stream);
// [Since] and [Recent] position a reader, [ReadTimeout] bounds its wait
// for the next item. Many readers may follow one stream ([Stream.Follow]
// by ID). A reader that falls behind gets a [*TruncatedError] naming the
// oldest item kept and never slows the producer, unless the producer asks
// for back-pressure with SendWait. The stream's end (Close(err), the
// handler's error or panic, the actor's stop: ErrStopped) is every
// reader's last (item, err) pair. A break out of All, Close or the
// reader's ctx detaches it; a producer that watches Out.Context stops when
// nobody reads. A truncated reader still counts as one until it is closed
// or its ctx ends: resume with Since(Oldest), then Close the old reader,
// and the producer never sees a moment without a reader. [Follow.Follow]
// attaches a reader through one at hand, even to a stream that has ended
// (Stream.Follow by ID finds only open ones).
//
// # Pools
//
// [NewPool] spreads calls over workers of one state type, each an actor made by
// a factory: [CallPool], [AskPool] and [CastPool] route one call by the pool's
// strategy, [OpenPool] opens a stream on one worker (freed for other calls once
// the handler's turn is over, whether or not the stream goes on),
// [BroadcastPool] reaches every worker. [RoundRobin] (the default) and [Random]
// cost O(1); [LeastBusy] picks an idle worker, else the shortest queue; [Hash]
// keeps each key on one worker, across its restarts, and moves only the keys of
// workers added or removed; [Balancing] keeps one queue that idle workers take
// from (the best makespan for uneven jobs sent in bursts); [First] asks several
// workers, all at once or one more per stagger, and takes the first success,
// cancelling the rest. Workers are supervised one by one: only the one that
// panicked restarts, and the pool routes around it meanwhile; one that stops is
// replaced. A call never goes to a stopped worker and is never dropped: a busy
// pool queues it, bounded by its deadline, or with [WithMaxQueued] refuses it
// with ErrPoolFull. Resize grows and shrinks a live pool (a removed worker
// finishes its queue first); Stats counts ready, busy, queued and restarting
// workers. [NewGroup] routes the same way over actors spawned elsewhere (found
// with runtime.Lookup, say); a member leaves when it stops, but one waiting out
// a restart's backoff is not routed around: calls routed to it wait for its
// restart. A pool call costs what a Call to an idle actor costs: about 1.2× a
// Call to an actor that is already running.
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
//     its ctx's, or the runtime's default call timeout. The same holds for
//     a deferred reply: a Reply never sent fails its caller with
//     ErrStopped when the actor stops, not at the deadline.
//  4. Deferred means cancellable: a call whose caller gave up before the
//     actor started it never runs; the handler's [Ctx.Context] is cancelled
//     when its caller gives up, when the actor is killed, and when the
//     handler returns; a reply that comes too late is discarded (and
//     counted as a dead letter), never delivered to a later call.
//  5. Whitelists hold, never drop: see [Ctx.Only] (held calls count toward
//     the mailbox's capacity: a DropOldest mailbox may evict one).
//  6. Oneway failures are never silent: a Cast's error or panic, and every
//     message refused or left over by a stopped actor, is a dead letter
//     (a runtime.DeadLetter) with the method name.
//  7. No deadlock by cycle: a sync call that would close a cycle of actors
//     waiting for each other (A→A, A→B→A, …) fails at once with
//     ErrCallCycle — provided calls made inside a handler pass
//     c.Context() (or a context derived from it). Awaiting an Ask's
//     [Future] with it is such a wait too: the call fails with
//     ErrCallCycle; so does a [Ref.Stop] made with it whose stop waits
//     for the handler (its own actor's, an ancestor's, or one that, or a
//     descendant of which, waits for it in a call): the stop is asked
//     for, not waited for. A call through a pool is checked where it waits for
//     one actor: a member it was routed to, or itself as its pool's only
//     worker (any call through the pool, BroadcastPool too, which reaches
//     every worker but the caller). A wait on several (First,
//     BroadcastPool, a Balancing pool's shared queue) is not a chain, and
//     a cycle through one ends at the call's deadline. A handler blocked
//     in a call (or an Await, or a wait for a stop: Ref.Stop, Pool.Stop)
//     never starves the worker pool.
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
// with it: a stop cancels them at once. A tick that finds the mailbox full
// is pushed on the actor's next turn instead, where the mailbox's policy
// refuses it or evicts for it, and the dead letter is reported: no user
// code runs on the wheel's goroutine. [WithIdleTimeout] casts a method
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
//     one fails it (and skips its Started hook if it had not run yet: see
//     [Starter]); then it asks its children to stop (one at a time,
//     newest first; all at once on a kill) and goes idle until each has
//     reported, having failed the calls its whitelist holds (a child may
//     be waiting in one); then the Stopping hook runs, what is left (held
//     calls, if it had no children) fails, the name is freed and Done
//     closes.
//   - Where the runtime closed under it: the goroutine that finds the
//     scheduler closed finalizes the actor itself.
//
// # Costs
//
// An idle actor costs no goroutine and about 230 bytes if never messaged (about
// 750 bytes in use: its mailbox's queues are made by its first message, and
// given back once it has run no turn for one to two seconds, so an actor idle
// after traffic returns to the smaller size; an owner-driven Handler keeps
// them; measured with 20,000 actors). Opening a stream costs about 10
// allocations (13 with a ctx that has a deadline); an uncontended Send about 10
// ns and nothing once the journal has grown; a reader about 1.5 KiB (a batch
// buffer of 64 items). A Cast allocates nothing in steady state: a payload that
// is one pointer, or a value of at most 16 bytes without pointers (an id, a
// duration, a small struct of numbers), travels in the mailbox entry itself, at
// the same cost; any other value in a recycled box, somewhat slower with many
// senders (see Method.Cast). A Call with a ctx deadline allocates twice (the
// call and its reply channel); a Call without one arms a timer on the wheel
// (embedded in the call: still two allocations). A turn processes up to the
// runtime's throughput budget of messages, then goes to the back of the
// scheduler's run queue.
//
// # Goroutines and shutdown
//
// This package starts no goroutine of its own but [Go]'s: one per function,
// its ctx cancelled when the actor is killed, restarted or finalizes (the
// actor does not wait for it, so the function must honour its ctx; the
// runtime's Shutdown and Close do); the result of a restarted
// incarnation's function is a dead letter, never handed to the fresh
// state. At most [MaxWork] functions of an actor run at once; a goroutine
// whose function has returned no longer
// counts, and may still wait for room to deliver its result to a full
// Block-policy mailbox, each such wait bounded by the call timeout and the
// actor's finalize (so more than MaxWork of an actor's goroutines may exist
// while its mailbox is full). Turns run on the runtime's worker pool, timers on
// its wheel, and an owner-driven Handler on its owner's goroutine. Streams
// start no goroutine: a waiting reader parks on a channel the journal signals,
// and an actor's stop ends its open streams with ErrStopped. A handler that
// waits in a sync call (or for another actor's stop) lends its worker to
// the pool (the scheduler starts a replacement at once), so waiting never
// starves other actors. Shutting the runtime down stops every actor.
package actor
