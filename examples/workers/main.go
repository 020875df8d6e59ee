// Command workers is vanilla's dealer and thread pool in Go. In vanilla a
// dealer hands each message to one of many receivers, thread.pool(size)
// runs calls on a fixed set of threads, and Pool.wrap(ob) turns an object
// into a proxy whose method calls run on the pool. Here the object is a
// worker actor's state, the pool is an actor.Pool of 8 of them, and its
// methods are called through the pool with actor.CallPool and
// actor.AskPool; vanilla's router (many results gathered into one) is
// actor.AwaitAll.
//
// It runs in two parts:
//
//  1. A front fans 1,000 jobs out over 8 workers with AskPool and gathers
//     them with AwaitAll. One job panics: its caller sees a
//     *actor.PanicError, the worker that ran it restarts alone, and every
//     other job completes.
//  2. The same fan-out on jobs of uneven size (90% take 1 ms, 10% 20 ms),
//     sent all at once, with three strategies, each with its makespan
//     beside the ideal (total work / 8). Round robin and least-busy fix a
//     job's worker when it is sent, by turn or by queue length, so a worker
//     that drew more long jobs finishes last; balancing keeps the jobs in
//     one queue that idle workers take from, and ends near the ideal.
//
// Part 1's output is deterministic; part 2's figures are wall-clock times
// (its test checks their shape, not their values).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

const (
	workers = 8
	jobs    = 1000
	badJob  = 500 // the job that panics in part 1
)

// Worker is a pool worker's state: its generation (the how-manieth state
// the factory made: a restarted worker has a new one) and the jobs it ran.
type Worker struct{ gen, ran int }

// newWorkers returns a factory numbering the states it makes.
func newWorkers() func() *Worker {
	gen := 0
	return func() *Worker { gen++; return &Worker{gen: gen} }
}

// Square is part 1's job.
var Square = actor.NewMethod("square", func(w *Worker, _ *actor.Ctx, n int) (int, error) {
	if n == badJob {
		panic(fmt.Sprintf("job %d: bad input", n))
	}
	w.ran++
	return n * n, nil
})

// Gen is a worker's generation.
var Gen = actor.NewMethod("gen", func(w *Worker, _ *actor.Ctx, _ struct{}) (int, error) { return w.gen, nil })

// Sleep is part 2's job: a worker busy for d (waiting on I/O, say).
var Sleep = actor.NewMethod("sleep", func(w *Worker, _ *actor.Ctx, d time.Duration) (struct{}, error) {
	time.Sleep(d)
	w.ran++
	return struct{}{}, nil
})

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "workers:", err)
		os.Exit(1)
	}
}

func run(out io.Writer) error {
	rt, err := troupe.New()
	if err != nil {
		return err
	}
	defer rt.Shutdown(context.Background())
	if err := fanOut(out, rt); err != nil {
		return err
	}
	return uneven(out, rt)
}

// fanOut is part 1.
func fanOut(out io.Writer, rt *troupe.Runtime) error {
	ctx := context.Background()
	p, err := actor.NewPool(rt, workers, newWorkers())
	if err != nil {
		return err
	}
	defer p.Stop(ctx)
	fs := make([]*actor.Future[int], jobs)
	for i := range fs {
		fs[i] = actor.AskPool(ctx, Square, p, i)
	}
	squares, err := actor.AwaitAll(ctx, fs...)
	var pe *actor.PanicError
	if !errors.As(err, &pe) {
		return fmt.Errorf("want one *PanicError, got %v", err)
	}
	done, sum := 0, 0
	for i, f := range fs {
		if _, err := f.Await(ctx); err == nil {
			done++
			sum += squares[i]
		}
	}
	fmt.Fprintf(out, "fan-out:  %d jobs over %d workers with AskPool and AwaitAll: %d done, %d failed\n", jobs, workers, done, jobs-done)
	fmt.Fprintf(out, "failed:   %s panicked: %v (a *actor.PanicError, with its stack)\n", pe.Method, pe.Value)
	fmt.Fprintf(out, "sum:      %d (the squares of 0..999 but 500)\n", sum)
	// Only the worker that failed restarted (a broadcast reaches a
	// restarting worker once its backoff is over): it has a state of a
	// new generation, the others kept theirs.
	gens, err := actor.BroadcastPool(ctx, Gen, p, struct{}{})
	if err != nil {
		return err
	}
	fresh := 0
	for _, g := range gens {
		if g > workers {
			fresh++
		}
	}
	fmt.Fprintf(out, "restart:  %d worker restarted with a fresh state, the other %d kept theirs; the pool has %d workers\n",
		fresh, len(gens)-fresh, p.Size())
	return nil
}

// uneven is part 2.
func uneven(out io.Writer, rt *troupe.Runtime) error {
	rng := rand.New(rand.NewPCG(13, 1))
	sizes := make([]time.Duration, jobs)
	var total time.Duration
	long := 0
	for i := range sizes {
		sizes[i] = time.Millisecond
		if rng.IntN(10) == 0 {
			sizes[i] = 20 * time.Millisecond
			long++
		}
		total += sizes[i]
	}
	ideal := total / workers
	fmt.Fprintf(out, "uneven:   %d jobs of 1 ms, %d of 20 ms, sent at once to %d workers; ideal makespan %v\n",
		jobs-long, long, workers, ideal)
	for _, s := range []struct {
		name     string
		strategy actor.PoolOption
	}{
		{"round robin", actor.RoundRobin()},
		{"least busy", actor.LeastBusy()},
		{"balancing", actor.Balancing()},
	} {
		took, err := makespan(rt, s.strategy, sizes)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "  %-12s makespan %6.1f ms  %.2f× ideal\n", s.name, float64(took)/1e6, float64(took)/float64(ideal))
	}
	return nil
}

// makespan sends every job at once and waits for the last.
func makespan(rt *troupe.Runtime, strategy actor.PoolOption, sizes []time.Duration) (time.Duration, error) {
	ctx := context.Background()
	p, err := actor.NewPool(rt, workers, newWorkers(), strategy)
	if err != nil {
		return 0, err
	}
	defer p.Stop(ctx)
	start := time.Now()
	fs := make([]*actor.Future[struct{}], len(sizes))
	for i, d := range sizes {
		fs[i] = actor.AskPool(ctx, Sleep, p, d)
	}
	if _, err := actor.AwaitAll(ctx, fs...); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}
