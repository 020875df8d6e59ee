// Package engine is what actors run on, kept out of the public API: the
// scheduler, the timer wheel, the default call timeout, the name registry,
// the dead-letter sink and the set of top-level actors; and Position, a
// reader's follow options in a form remote and jobs can carry to another
// process. Package runtime builds a System from its options; package
// actor spawns on it. Users see neither this package nor its types:
// actor.Spawner, and the few methods only troupe's own packages may call,
// are sealed by Seal.
//
// # Goroutines
//
// None: a System owns no goroutine. Stopping it stops actors through the
// Cell interface, on the caller's goroutine.
package engine
