// Package bench compares troupe with raw Go (goroutines, channels,
// time.AfterFunc) and github.com/asynkron/protoactor-go, one b.Run per
// system per workload, so that the three can be read side by side.
//
// It is its own module (with a replace of ../) so that the peers never
// enter troupe's go.mod. The benchmarks live in the _test.go files; run
// them with `make bench` from the repository root, which also prints the
// comparison table (see README.md).
//
// # Naming
//
// Every benchmark is BenchmarkWorkload/system, with system one of troupe,
// raw and protoactor: cmd/table pairs the results by that name.
//
// # What one op is
//
// Per-message workloads (oneway, fan-out) count b.N messages and stop the
// clock only once the receiving actors have processed all of them, so
// ns/op is the mean cost of one message, delivery included. They loop to
// b.N rather than use b.Loop: b.Loop stops the clock when it returns
// false, before the wait for the last message, which must be timed.
// Synchronous workloads (call, spawn+stop, timers) time one complete
// operation with b.Loop. Memory workloads report bytes per idle actor or
// pending timer as a custom metric (B/actor, B/timer).
package bench
