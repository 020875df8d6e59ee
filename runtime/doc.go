// Package runtime owns everything actors run on: the scheduler and its
// worker pool, the timer wheel, the name registry, the dead-letter sink and
// the default call timeout. Import it under another name, since it shadows
// the standard library's runtime:
//
//	import troupe "github.com/troupe-go/troupe/runtime"
//
//	rt, err := troupe.New(troupe.WithCallTimeout(2 * time.Second))
//	if err != nil { ... }
//	defer rt.Shutdown(context.Background())
//
// # Lifecycle
//
// [New] validates its options and returns errors, never panics. Stopping
// follows net/http.Server: one stop sequence, run on a goroutine the
// runtime owns, that every caller waits for on its own terms.
// [Runtime.Shutdown] is graceful: it refuses new actors and stops every
// actor (children before parents, newest first; timers and restart
// backoffs cancelled at once), each finishing what is queued, then stops
// the timer wheel and drains the pool. If its ctx ends first the stop is
// forced (as by Close) and Shutdown returns a *actor.StopError naming the
// actors still running; a second Shutdown never waits for the first. A
// handler that calls Shutdown waits for its own actor's stop: it must pass
// a ctx that ends, or call Close.
// [Runtime.Close] forces the stop from any state — also during a Shutdown,
// or after one that timed out — and waits: every actor is killed, running
// handlers get the call timeout to return (their Context is cancelled),
// and Close returns once every goroutine of the runtime has exited, or a
// *actor.StopError naming the actors whose handlers would not return (or,
// if the error hook is still reporting a panic of the runtime's own
// goroutines by then, an error matching context.DeadlineExceeded, joined
// with it: the hook's goroutine exits as the hook returns).
// Both are idempotent; afterwards every spawn and call returns
// actor.ErrStopped.
//
// # Names
//
// Actors spawned with actor.WithName are found with [Lookup]. The registry
// is split into shards chosen by the xxhash of the name, so concurrent
// spawns and lookups rarely contend. A name is unique among live actors:
// it stays taken while its actor stops (its queued calls and Stopping hook
// run) and is free again once the actor has stopped, as its Done closes
// (a restart keeps it), so two actors of one name never run at once.
// Lookup does not find a stopping actor (ErrNotFound); a spawn with its
// name fails with actor.ErrNameTaken (the message says the holder is
// stopping); LookupOrSpawn waits for its Done, bounded by its ctx or the
// call timeout, or, called from a handler whose turn that stop waits for
// (its own actor's name, an ancestor's), fails at once with
// actor.ErrCallCycle. A Ref never reaches a later actor of the same name.
//
// # Dead letters and errors
//
// Oneway failures (a handler's error or panic) and messages that could not
// be delivered go to one sink as a [DeadLetter] with a [Reason]: counted per
// reason ([Runtime.DeadLetters]), passed to the hook of
// [WithDeadLetterHook], and logged through the *slog.Logger of
// [WithLogger] at a bounded rate. The global logger is never used. Errors
// that are not dead letters and have no caller — a panic in the dead-letter
// hook, in a timer callback or in a worker loop — go to the hook of
// [WithErrorHook] as an *actor.PanicError with its stack; without one they
// are logged at error level, or written to standard error: never dropped.
//
// # Sessions
//
// [LookupOrSpawn] gets or creates an actor by name, race-free: one actor per
// user, connection or job. With actor.WithIdleTimeout it expires by itself.
//
// # Goroutines and shutdown
//
// A runtime runs the scheduler's loops on its pool's workers (started as
// actors get work; once it is over, up to GOMAXPROCS of them stay parked;
// more run while handlers block, see package scheduler), the pool's two
// housekeeping goroutines, the timer wheel's driver (from the first
// timer on, parked while none is pending), and, while a panic of the
// wheel's or a loop's is reported to the error hook, one goroutine that
// reports it (see WithErrorHook). Shutdown and Close return after all of
// them have exited, and the goroutines of actor.Go too (their functions'
// ctxs end with their actors; Close names, after its grace, the actors
// whose functions would not return, as it names handlers, and says so of
// an error hook that would not return).
package runtime
