package timer

import (
	"fmt"
	"io"
	"os"
	"time"
)

// defaultTick is the resolution of a wheel created without [WithTick].
const defaultTick = time.Millisecond

// An Option configures a [Wheel] at [New].
type Option interface {
	apply(*config)
}

// config holds what the options set; [newConfig] fills in the defaults and
// validates it in one place.
type config struct {
	tick    time.Duration
	onPanic func(*PanicError)
	// stderr is where the default panic handler writes: os.Stderr, or a
	// buffer set by tests of this package.
	stderr io.Writer
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// MinTick is the finest resolution: a timer stores its due tick in 48
// bits, which at 1µs covers 8.9 years of a wheel's life (at the default
// 1ms, 8,900 years). A timer due beyond the last of those ticks is due at
// it instead; so on a wheel that has run past that tick, every timer
// armed fires at the next tick, early.
const MinTick = time.Microsecond

// WithTick sets the resolution of the wheel (default 1ms): deadlines are
// rounded up to a whole tick, so a timer fires up to one tick after its
// deadline and never before. d must be at least [MinTick], or [New] fails
// with an error wrapping [ErrInvalidOption]. A shorter tick costs more driver
// wake-ups when timers are pending; an idle wheel costs nothing whatever
// the tick. Six levels of 64 slots span 2^36 ticks (about 795 days at
// 1ms); longer delays work too, they are re-examined once per turn of the
// top level.
func WithTick(d time.Duration) Option {
	return optionFunc(func(c *config) { c.tick = d })
}

// WithPanicHandler sets the function that receives each callback panic
// the wheel recovers, as a [*PanicError] holding the value and the stack.
// It runs on the goroutine that recovered the panic, after the panic is
// counted in [Wheel.Panics]: for a callback, on the driver before the next
// callback, so it must be short, like a callback; it may call
// [Wheel.Stop]. For a [Dropper.Dropped] called by Wheel.Stop (a pending
// timer dropped), it runs on Stop's caller before Stop returns, perhaps
// while the driver runs a callback or f itself: if Droppers may panic, f
// must be safe for concurrent use. A panic in f is recovered: it and the
// panic f was handling are written to standard error, and the driver
// goes on with later callbacks (or Stop goes on). f must not call
// [runtime.Goexit].
//
// Without this option (or with a nil f) the wheel writes each recovered
// panic and its stack to standard error, as net/http does for a handler's
// panic: a panic is never silently dropped.
func WithPanicHandler(f func(*PanicError)) Option {
	return optionFunc(func(c *config) { c.onPanic = f })
}

// newConfig applies opts over the defaults and validates the result.
func newConfig(opts []Option) (config, error) {
	c := config{tick: defaultTick, stderr: os.Stderr}
	for i, o := range opts {
		if o == nil {
			return config{}, fmt.Errorf("%w: option %d is nil", ErrInvalidOption, i)
		}
		o.apply(&c)
	}
	if c.onPanic == nil {
		c.onPanic = writePanic(c.stderr)
	} else {
		c.onPanic = guardPanics(c.onPanic, c.stderr)
	}
	if c.tick < MinTick {
		return config{}, fmt.Errorf("%w: tick %v is below %v", ErrInvalidOption, c.tick, MinTick)
	}
	return c, nil
}
