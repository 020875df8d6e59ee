package runtime

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/troupe-go/troupe/actor"
)

// Option configures New.
type Option interface{ apply(*config) }

type config struct {
	callTimeout time.Duration
	throughput  int
	poolSize    int
	tick        time.Duration
	logger      *slog.Logger
	hook        func(DeadLetter)
	errHook     func(error)
	logRate     int
}

// Defaults of New.
const (
	DefaultCallTimeout = 5 * time.Second
	DefaultThroughput  = 256
	DefaultPoolSize    = 4096
	DefaultTick        = time.Millisecond
	DefaultLogRate     = 10 // dead letters logged per second at most
)

func defaults() config {
	return config{
		callTimeout: DefaultCallTimeout,
		throughput:  DefaultThroughput,
		poolSize:    DefaultPoolSize,
		tick:        DefaultTick,
		logRate:     DefaultLogRate,
	}
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithCallTimeout sets the deadline of sync calls whose ctx has none
// (default 5 s; must be > 0).
func WithCallTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.callTimeout = d })
}

// WithThroughput sets how many messages an actor processes per turn before
// yielding its worker (default 256; must be > 0).
func WithThroughput(n int) Option { return optionFunc(func(c *config) { c.throughput = n }) }

// WithPoolSize sets the number of pooled workers (default 4096; -1 for
// unbounded). Turns beyond it run on extra goroutines, so it bounds reuse,
// never progress.
func WithPoolSize(n int) Option { return optionFunc(func(c *config) { c.poolSize = n }) }

// WithTick sets the timer wheel's resolution (default 1 ms; must be at
// least timer.MinTick, 1 µs).
func WithTick(d time.Duration) Option { return optionFunc(func(c *config) { c.tick = d }) }

// WithLogger logs dead letters to l at a bounded rate (default: not
// logged). The global logger is never used.
func WithLogger(l *slog.Logger) Option { return optionFunc(func(c *config) { c.logger = l }) }

// WithLogRate bounds dead-letter logging to n entries per second (default
// 10; must be > 0). Counters and the hook see every dead letter.
func WithLogRate(n int) Option { return optionFunc(func(c *config) { c.logRate = n }) }

// WithDeadLetterHook calls f with every dead letter, on the goroutine that
// produced it (often an actor's turn; for a timer's tick refused by a full
// mailbox or evicting a message, its actor's turn, never the timer
// wheel's): keep it short and non-blocking. A blocked f stalls that
// goroutine (the actor's turn, or the sender); a panic in f is recovered
// and reported to the error hook. f
// may call Close (it waits for the stop, which gives the goroutine f runs
// on the call timeout, as it does a handler, and names its actor) or
// Shutdown with a ctx that ends. f should not
// send to an actor that may be stopped or full: a refused send is itself a
// dead letter, reported by calling f again on the same goroutine. That
// recursion is cut at 1,024 calls of f in progress (nested, or at once on
// several goroutines, which a short f never reaches): past it the dead
// letter is written to standard error, not given to f or the error hook.
func WithDeadLetterHook(f func(DeadLetter)) Option {
	return optionFunc(func(c *config) { c.hook = f })
}

// WithErrorHook calls f with every error that has no caller to return to
// and is not a dead letter: a panic in the dead-letter hook, or one that
// escaped the runtime's own goroutines, as an *actor.PanicError carrying
// the stack. Without it such errors are logged at error level through the
// WithLogger logger, or written to standard error if there is none: they
// are never dropped. f runs on the goroutine where the error happened,
// except for a panic that escaped the runtime's own goroutines (a timer
// callback, a scheduler loop): that is reported on a goroutine of the
// runtime's, one report at a time, so that f never holds the timer wheel
// or the worker pool (past 1,024 reports waiting for f, the rest are
// written to standard error). Keep f short and non-blocking: the runtime's stop
// waits for those reports as it waits for handlers (Runtime.Close).
func WithErrorHook(f func(error)) Option {
	return optionFunc(func(c *config) { c.errHook = f })
}

func (c *config) validate() error {
	switch {
	case c.callTimeout < 0, c.tick < 0:
		return fmt.Errorf("%w: %w", ErrInvalidOption, actor.ErrNegativeDuration)
	case c.callTimeout == 0:
		return fmt.Errorf("%w: call timeout must be > 0", ErrInvalidOption)
	case c.tick == 0:
		return fmt.Errorf("%w: tick must be > 0", ErrInvalidOption)
	case c.throughput <= 0:
		return fmt.Errorf("%w: throughput %d must be > 0", ErrInvalidOption, c.throughput)
	case c.poolSize == 0 || c.poolSize < -1:
		return fmt.Errorf("%w: pool size %d must be > 0 or -1", ErrInvalidOption, c.poolSize)
	case c.logRate <= 0:
		return fmt.Errorf("%w: log rate %d must be > 0", ErrInvalidOption, c.logRate)
	}
	return nil
}
