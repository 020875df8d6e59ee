package timer

import (
	"fmt"
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
	onPanic func(v any)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// MinTick is the finest resolution: a timer stores its due tick in 48
// bits, which at 1µs covers 8.9 years of a wheel's life (at the default
// 1ms, 8,900 years).
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

// WithPanicHandler sets the function called with the value of a recovered
// callback panic. It runs on the wheel's goroutine, after the panic is
// counted in [Wheel.Panics], and must not panic itself. The default (and a
// nil f) ignores the value; the panic is still counted.
func WithPanicHandler(f func(v any)) Option {
	return optionFunc(func(c *config) { c.onPanic = f })
}

// newConfig applies opts over the defaults and validates the result.
func newConfig(opts []Option) (config, error) {
	c := config{tick: defaultTick}
	for i, o := range opts {
		if o == nil {
			return config{}, fmt.Errorf("%w: option %d is nil", ErrInvalidOption, i)
		}
		o.apply(&c)
	}
	if c.tick < MinTick {
		return config{}, fmt.Errorf("%w: tick %v is below %v", ErrInvalidOption, c.tick, MinTick)
	}
	return c, nil
}
