package scheduler

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

// Option configures a [Scheduler].
type Option interface{ apply(*config) }

type config struct {
	budget   int
	poolSize int
	maxExtra int
	onPanic  func(any)
	hooks    testHooks
}

// testHooks let this package's tests act at points no API reaches; New
// copies them into the Scheduler. Production code never sets them.
type testHooks struct {
	spin func() // runs when a loop yields in its spin, without the lock
	// freeProcs replaces the runtime's goroutine counts in the watchdog.
	// In a synctest bubble, counts read from a timer callback include
	// the bubble's own machinery (with GOMAXPROCS=1 they show no idle P
	// while every goroutine is blocked), so tests that let the stall timer
	// fire say what an idle machine would show.
	freeProcs func() int
	// panicOut is where the default panic handler writes (nil: stderr).
	panicOut io.Writer
}

// DefaultThroughput is the default per-turn message budget.
const DefaultThroughput = 256

// DefaultPoolSize is the default number of pooled workers. Loops beyond it
// run on spill goroutines, so the size bounds reuse, not concurrency.
const DefaultPoolSize = 4096

// DefaultMaxExtra is the default cap on loops the stall watchdog may start
// beyond the base (see [WithMaxExtra]).
//
// It is a fixed number, not a multiple of GOMAXPROCS, because extras are
// not there for CPU: the watchdog starts them while Ps sit idle (or,
// one at a time, after a long stall), so they do not oversubscribe the
// CPUs, however many. They stand in for
// handlers stuck in waits the scheduler was not told of (time.Sleep, I/O,
// a channel), and how many of those an application has at once depends
// on its code, not on the machine's cores. 64 such handlers keep the
// queue draining (16 times the base of a 4-core machine) for at most 64
// more goroutines (~0.5 MiB of stack); an application that waits more
// than that outside sync calls should say so with [Scheduler.Block] or
// raise the cap. Sync calls made through Block are not counted here.
const DefaultMaxExtra = 64

func defaults() config {
	return config{budget: DefaultThroughput, poolSize: DefaultPoolSize, maxExtra: DefaultMaxExtra}
}

// validate checks c in one place; New wraps its error.
func (c *config) validate() error {
	if c.budget <= 0 {
		return fmt.Errorf("%w: throughput %d must be > 0", ErrInvalidOption, c.budget)
	}
	if c.poolSize == 0 || c.poolSize < -1 {
		return fmt.Errorf("%w: pool size %d must be > 0 or -1 (unbounded)", ErrInvalidOption, c.poolSize)
	}
	if c.maxExtra < 0 {
		return fmt.Errorf("%w: max extra %d must be >= 0", ErrInvalidOption, c.maxExtra)
	}
	return nil
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithThroughput sets how many messages a turn may process before it yields
// (default [DefaultThroughput]; must be > 0).
func WithThroughput(n int) Option { return optionFunc(func(c *config) { c.budget = n }) }

// WithPoolSize sets the pool's worker limit (default [DefaultPoolSize]; -1
// means unbounded; 0 and values below -1 are rejected).
func WithPoolSize(n int) Option { return optionFunc(func(c *config) { c.poolSize = n }) }

// WithMaxExtra caps the loops the stall watchdog may start beyond the base
// while loops sit in handlers that wait without [Scheduler.Block] (default
// [DefaultMaxExtra]; must be >= 0; 0 turns the watchdog off). Loops that
// replace handlers inside Block are not counted: they are bounded by the
// number of such handlers.
func WithMaxExtra(n int) Option { return optionFunc(func(c *config) { c.maxExtra = n }) }

// WithPanicHandler receives a panic that escaped a turn, on the loop's
// goroutine, where [runtime/debug.Stack] shows the panic's stack. Runners
// are expected to recover their own panics; this is the last line of
// defence. Without it (or with nil) the panic's value and stack are
// written to standard error: a panic is never dropped. A panic in f is
// recovered: it and the panic f was handling are written to standard
// error, and the loops go on. f must not call [runtime.Goexit].
func WithPanicHandler(f func(any)) Option {
	return optionFunc(func(c *config) {
		if f != nil {
			c.onPanic = f
		}
	})
}

// writePanic is the panic handler without [WithPanicHandler]: it writes
// the value and the stack (of the panicking goroutine: it runs in the
// loop's deferred recover) to out (standard error, unless a test says
// otherwise: testHooks.panicOut).
func writePanic(out io.Writer) func(any) {
	if out == nil {
		out = os.Stderr
	}
	return func(v any) {
		fmt.Fprintf(out, "scheduler: panic escaped a turn: %v\n\n%s\n", v, debug.Stack())
	}
}

// guardPanics wraps the handler of [WithPanicHandler]: a panic in f is
// recovered, and it and v (the panic f was handed) are written to out
// (standard error unless testHooks.panicOut), so that it neither escapes
// the loop's deferred recover (skipping the loop's bookkeeping) nor
// reaches ants, whose own recover would hand it to f again and end the
// program.
func guardPanics(f func(any), out io.Writer) func(any) {
	if out == nil {
		out = os.Stderr
	}
	return func(v any) {
		defer func() {
			if w := recover(); w != nil {
				fmt.Fprintf(out, "scheduler: panic handler panicked: %v\n\n%s\nwhile handling a panic that escaped a turn: %v\n", w, debug.Stack(), v)
			}
		}()
		f(v)
	}
}
