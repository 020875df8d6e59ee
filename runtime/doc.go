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
// [New] validates its options and returns errors, never panics. [Runtime.Shutdown]
// is graceful: it refuses new actors, stops every actor (children before
// parents, newest first) letting each finish what is queued, stops the timer
// wheel and releases the pool, all bounded by its ctx. [Runtime.Close] is
// immediate: every queued call fails with actor.ErrStopped. Both are
// idempotent; afterwards every spawn and call returns actor.ErrStopped.
//
// # Names
//
// Actors spawned with actor.WithName are found with [Lookup]. The registry
// is split into shards chosen by the xxhash of the name, so concurrent
// spawns and lookups rarely contend. A name is unique among running actors
// and free again once its actor stops; a Ref never reaches a later actor of
// the same name.
//
// # Dead letters
//
// Oneway failures (a handler's error or panic) and messages that could not
// be delivered go to one sink: counted per reason ([Runtime.DeadLetters]),
// passed to the hook of [WithDeadLetterHook], and logged through the
// *slog.Logger of [WithLogger] at a bounded rate. The global logger is never
// used.
//
// # Goroutines and shutdown
//
// A runtime runs the pool's workers (only while actors have work, plus the
// pool's two housekeeping goroutines) and the timer wheel's driver (only
// while timers are pending). Shutdown and Close return after all of them
// have exited.
package runtime
