package actor

import (
	"fmt"
	"time"
)

// PoolOption configures NewPool and NewGroup: the routing strategy (one;
// RoundRobin by default), a bound on queued calls, the workers'
// supervision.
type PoolOption interface{ applyPool(*poolConfig) }

type poolConfig struct {
	kind    strategy
	kinds   int // strategy options given (Hash counts once)
	stagger time.Duration
	keys    []any
	limit   int
	sup     Supervision
	err     error
}

type poolOptionFunc func(*poolConfig)

func (f poolOptionFunc) applyPool(c *poolConfig) { f(c) }

func setStrategy(k strategy) poolOptionFunc {
	return func(c *poolConfig) {
		if c.kinds == 0 || c.kind != k {
			c.kinds++
		}
		c.kind = k
	}
}

// RoundRobin sends each call to the next worker in turn (the default).
// Cost: one atomic add per call.
func RoundRobin() PoolOption { return setStrategy(roundRobin) }

// Random sends each call to a worker picked at random. Cost: one call to
// math/rand/v2.
func Random() PoolOption { return setStrategy(randomPick) }

// LeastBusy sends each call to the worker with the fewest calls queued or
// running, an idle one first (Akka's SmallestMailbox); ties go round robin.
// The counts are those of the pool's own calls (for a group, plus each
// member's whole mailbox). It balances calls as they arrive: a burst sent
// all at once spreads evenly by count, not by duration — for jobs of
// uneven size sent in bursts, use Balancing. Cost: O(workers) per call.
func LeastBusy() PoolOption { return setStrategy(leastBusy) }

// Hash sends each call whose request is a Q to the worker chosen by
// rendezvous hashing of key(req) (xxhash): calls with one key go to one
// worker, in order, across that worker's restarts; when the pool grows or
// shrinks, or a group member leaves, only the keys of the workers that
// came or went move. Calls with one key therefore wait out their worker's
// restart rather than move. Give one Hash per request type the pool is
// called with; a call whose request type has none fails with
// ErrNoHashKey, and one whose key function panics with ErrHashKey
// wrapping the *PanicError. Cost: the key function, xxhash of the key and
// O(workers) mixes per call.
func Hash[Q any](key func(req Q) string) PoolOption {
	return poolOptionFunc(func(c *poolConfig) {
		setStrategy(hashed)(c)
		if key == nil {
			c.err = fmt.Errorf("%w: nil hash key function", ErrInvalidOption)
			return
		}
		c.keys = append(c.keys, key)
	})
}

// Balancing queues calls in one queue the pool owns, from which each
// worker takes the next call when it is idle (Akka's BalancingPool): a
// call never waits behind a long one while another worker is free, the
// best makespan for jobs of uneven size. Calls are taken in arrival
// order. A worker restarting takes nothing until it is back. A graceful
// stop (Pool.Stop, or the runtime's Shutdown or the parent's Stop, which
// stop the pool with its workers) runs what the queue holds before the
// last worker stops; a forced one fails it with ErrStopped. Pools only:
// a group's members have mailboxes of their own. Cost: a lock and a
// message to the worker per call.
//
// A worker's whitelist (Ctx.Only) holds the pool's calls as a whole: a
// worker that admits only some methods takes no call from the shared
// queue until it admits all again (AdmitAll); the others take them.
func Balancing() PoolOption { return setStrategy(balancing) }

// First sends each call to several workers and returns the first
// successful reply, cancelling the others: queued ones never run, running
// ones see their Context cancelled, late replies are discarded (they are
// not failures, so not dead letters). With stagger 0 every worker is
// asked at once (scatter-gather); with stagger > 0 one worker is asked,
// then another every stagger until one replies (tail-chopping), and at
// once after a failure. If every worker fails, the call fails with their
// errors joined. Casts and streams go to one worker, round robin. A
// NewDeferred method's workers answer through their Reply, on a later turn
// or from another goroutine: the first successful Send wins, the others
// are discarded (Send returns nil), an error sent counts as that worker's
// failure, and a worker that stops with its Reply unsent fails with
// ErrStopped; the Reply's Context ends when the call settles. Cost: one
// call per worker asked, a derived context, and a timer per stagger.
func First(stagger time.Duration) PoolOption {
	return poolOptionFunc(func(c *poolConfig) {
		setStrategy(firstReply)(c)
		if stagger < 0 {
			c.err = fmt.Errorf("%w: %w: First stagger %v", ErrInvalidOption, ErrNegativeDuration, stagger)
		}
		c.stagger = stagger
	})
}

// WithMaxQueued bounds the calls a pool or group routes to each worker,
// queued or running, to n (≥ 1): a call that finds every eligible worker
// at the bound fails at once with ErrPoolFull (a Cast's payload is also
// reported as a dead letter), never dropped, never blocked. With
// Balancing the shared queue holds at most n calls per worker (calls
// whose callers gave up are purged from it to make room); at a worker, a
// call whose caller gave up keeps its place until the worker reaches it
// (and skips it). Without this option (the default) queues are unbounded
// and a call to a busy pool waits in its worker's queue, bounded by its
// own deadline.
func WithMaxQueued(n int) PoolOption {
	return poolOptionFunc(func(c *poolConfig) {
		if n < 1 {
			c.err = fmt.Errorf("%w: WithMaxQueued(%d): must be ≥ 1", ErrInvalidOption, n)
		}
		c.limit = n
	})
}

// WithWorkerSupervision sets the failure policy of each worker of a pool
// (the default: Restart, 3 restarts in 5 s, backoff from 10 ms). Each
// worker is supervised alone: only the one that failed restarts, and the
// pool routes around it meanwhile. A worker that stops (Terminate, or its
// restart budget spent) is replaced by a fresh one. Ignored by groups.
func WithWorkerSupervision(s Supervision) PoolOption {
	return poolOptionFunc(func(c *poolConfig) { c.sup = s })
}

// poolConfigOf applies and validates opts.
func poolConfigOf(opts []PoolOption) (*poolConfig, error) {
	c := &poolConfig{}
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: nil pool option", ErrInvalidOption)
		}
		o.applyPool(c)
	}
	switch {
	case c.err != nil:
		return nil, c.err
	case c.kinds > 1:
		return nil, fmt.Errorf("%w: more than one routing strategy", ErrInvalidOption)
	case c.limit > 1<<30:
		return nil, fmt.Errorf("%w: WithMaxQueued(%d) too large", ErrInvalidOption, c.limit)
	}
	if err := c.sup.validate(); err != nil {
		return nil, err
	}
	return c, nil
}
