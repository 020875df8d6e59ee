package scheduler

// Option configures a [Scheduler].
type Option interface{ apply(*config) }

type config struct {
	budget   int
	poolSize int
	onPanic  func(any)
}

// DefaultThroughput is the default per-turn message budget.
const DefaultThroughput = 256

// DefaultPoolSize is the default number of pooled workers. Loops beyond it
// run on spill goroutines, so the size bounds reuse, not concurrency.
const DefaultPoolSize = 4096

func defaults() config {
	return config{budget: DefaultThroughput, poolSize: DefaultPoolSize}
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithThroughput sets how many messages a turn may process before it yields
// (default [DefaultThroughput]; must be > 0).
func WithThroughput(n int) Option { return optionFunc(func(c *config) { c.budget = n }) }

// WithPoolSize sets the pool's worker limit (default [DefaultPoolSize]; -1
// means unbounded; 0 and values below -1 are rejected).
func WithPoolSize(n int) Option { return optionFunc(func(c *config) { c.poolSize = n }) }

// WithPanicHandler receives a panic that escaped a turn. Runners are
// expected to recover their own panics; this is the last line of defence.
func WithPanicHandler(f func(any)) Option { return optionFunc(func(c *config) { c.onPanic = f }) }
