package actor

import (
	"fmt"
	"time"

	"github.com/troupe-go/troupe/internal/engine"
)

// FollowOption configures a reader: Open, Stream.Follow, Out.Follow, and
// the readers of other processes' streams, which take the same options:
// remote.StreamBinding's and jobs.RemoteJob's.
type FollowOption interface{ applyFollow(*followConfig) }

type followConfig struct {
	since     uint64
	recent    int
	hasSince  bool
	hasRecent bool
	timeout   time.Duration
	err       error
}

type followOptionFunc func(*followConfig)

func (f followOptionFunc) applyFollow(c *followConfig) { f(c) }

// Since starts the reader at sequence number seq: beyond the end, it waits
// for it; before the oldest item kept, its first read fails with a
// [*TruncatedError]. Without Since or Recent a reader starts at the oldest
// item kept (everything, for a stream just opened). Since and Recent
// together are ErrInvalidOption.
func Since(seq uint64) FollowOption {
	return followOptionFunc(func(c *followConfig) { c.since, c.hasSince = seq, true })
}

// Recent starts the reader n items before the end (fewer if the journal
// keeps fewer): Recent(0) reads only what comes next (harp's default for
// follow). A negative n is ErrInvalidOption.
func Recent(n int) FollowOption {
	return followOptionFunc(func(c *followConfig) {
		if n < 0 {
			c.err = fmt.Errorf("%w: Recent(%d) < 0", ErrInvalidOption, n)
		}
		c.recent, c.hasRecent = n, true
	})
}

// ReadTimeout ends the reader with ErrTimeout (harp's timeout) if it waits
// more than d for the next item; the time the loop's body takes does not
// count. 0 means no limit (the default); a negative d is
// ErrNegativeDuration. The timer is the reader's own, made once.
func ReadTimeout(d time.Duration) FollowOption {
	return followOptionFunc(func(c *followConfig) {
		if d < 0 {
			c.err = fmt.Errorf("%w: ReadTimeout(%v)", ErrNegativeDuration, d)
		}
		c.timeout = d
	})
}

func followConfigOf(opts []FollowOption) (followConfig, error) {
	var c followConfig
	for _, o := range opts {
		if o == nil {
			return c, fmt.Errorf("%w: nil follow option", ErrInvalidOption)
		}
		o.applyFollow(&c)
		if c.err != nil {
			return c, c.err
		}
	}
	if c.hasSince && c.hasRecent {
		return c, fmt.Errorf("%w: Since and Recent together", ErrInvalidOption)
	}
	return c, nil
}

// PositionOf returns what opts ask of a reader, or the error a local Open
// or Follow would return for them (an ErrInvalidOption or an
// ErrNegativeDuration). Sealed: for troupe's remote readers and jobs'
// HTTP client, which carry a reader's options to the process that holds
// the stream.
func PositionOf(_ engine.Seal, opts ...FollowOption) (engine.Position, error) {
	c, err := followConfigOf(opts)
	if err != nil {
		return engine.Position{}, err
	}
	return engine.Position{Since: c.since, HasSince: c.hasSince, Recent: c.recent,
		HasRecent: c.hasRecent, ReadTimeout: c.timeout}, nil
}
