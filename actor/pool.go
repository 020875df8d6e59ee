package actor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/troupe-go/troupe/internal/engine"
	"github.com/troupe-go/troupe/internal/nilness"
)

// The pools' and groups' sentinel errors (see also ErrStopped,
// ErrTimeout, ErrCallCycle and the other call outcomes, which a call
// through a pool returns as a direct call does).
var (
	// ErrPoolFull: every worker that could take the call is at its
	// WithMaxQueued bound (or, in a group, has a full mailbox). The call
	// was not queued anywhere. It wraps ErrMailboxFull.
	ErrPoolFull = fmt.Errorf("actor: pool full: %w", ErrMailboxFull)
	// ErrPoolStopped: the pool was stopped or killed (or lost its last
	// worker and could not replace it), or the group was closed. It wraps
	// ErrStopped.
	ErrPoolStopped = fmt.Errorf("actor: pool stopped: %w", ErrStopped)
	// ErrPoolSize: NewPool or Resize with a size ≤ 0.
	ErrPoolSize = errors.New("actor: pool size must be > 0")
	// ErrFactory: the pool's factory is nil, panicked (the error wraps the
	// *PanicError) or returned a nil state (it wraps ErrNilState).
	ErrFactory = errors.New("actor: pool factory failed")
	// ErrEmptyGroup: NewGroup without a running member, or a call to a
	// group whose members have all left.
	ErrEmptyGroup = errors.New("actor: empty group")
	// ErrNoHashKey: a call to a Hash pool with a request type no Hash
	// option gave a key function for.
	ErrNoHashKey = errors.New("actor: no hash key for this request type")
	// ErrHashKey: the Hash key function panicked; the error wraps the
	// *PanicError. The call was not sent.
	ErrHashKey = errors.New("actor: hash key function failed")
	// ErrNilPool: a call through a nil or zero *Pool or *Group (one not
	// made by NewPool or NewGroup).
	ErrNilPool = errors.New("actor: nil pool")
)

// Pool is a set of workers of state type S, each an actor made by the
// pool's factory, that calls are spread over by a strategy: vanilla's
// dealer, Akka's and protoactor-go's pool routers, poolboy. Call it with
// CallPool, CastPool, AskPool and BroadcastPool.
//
// Workers are supervised one by one: a worker whose handler panics
// restarts alone (its calls in flight keep their outcomes; the pool routes
// around it until its fresh state is made), and a worker that stops on
// its own is replaced. Calls never go to a stopped worker, and are never
// dropped: a busy pool queues them, bounded by each call's deadline, or
// refuses them with ErrPoolFull under WithMaxQueued.
//
// A nil or zero Pool (not made by NewPool) has no workers: calls through
// it, Stop and Resize fail with ErrNilPool; it reports itself stopped,
// its Done is closed, and Kill ignores it.
//
// A Pool is safe for concurrent use. It runs no goroutine of its own: its
// workers are actors of its runtime (children of the spawning actor, if
// made with a handler's Ctx), and stop with it. A graceful stop of that
// owner (runtime Shutdown, Ref.Stop of the parent) stops each worker
// gracefully: it finishes what is queued for it, and is not replaced.
// With Balancing, the calls waiting in the shared queue run too: once a
// worker stops while its owner stops, the pool is stopping, as by Stop
// (new calls fail with ErrPoolStopped), and its workers take what waits
// before they stop, those that stopped by themselves just before and are
// still finishing (waiting for their children, say) included. If no
// worker is left alive to run them (the last stopped by itself just
// before its owner did, and cannot be replaced now), they fail with
// ErrStopped. If the owner's stop is forced (its ctx ends, Close, Kill),
// what has not run fails with ErrStopped.
type Pool[S any] struct {
	r       router
	factory func() S
	spawner Spawner // where workers are spawned: the runtime, or a Ctx of the parent
	sup     Supervision

	grow sync.Mutex // serialises Resize

	mu       sync.Mutex // guards the fields below and r.members' writes
	slots    []*member  // the workers, by seed
	retiring []*member  // workers shrunk away, still finishing their queue
	// replacing is the seeds of stopped workers whose replacement is
	// being made (see gone): they count toward the size, so that a Resize
	// meanwhile neither reuses their seed nor miscounts.
	replacing []uint64
	// growing counts the workers a Resize is making: not workers yet,
	// but Done waits for them (add stops one made once the pool stopped).
	growing int
	done    chan struct{}
	closed  bool // done is closed
}

var _ Router[int] = (*Pool[int])(nil)

// NewPool starts a pool of size workers, each spawned with SpawnFunc on sp
// (a runtime, or a handler's *Ctx for workers that are its children) from
// factory, which must return a fresh, non-nil state each time (it is
// called again for each restart and replacement). With no option the
// strategy is RoundRobin, queues are unbounded and workers restart.
//
// Errors: ErrNilRuntime, ErrPoolSize (size ≤ 0), ErrFactory (nil factory,
// a panic, a nil state), ErrInvalidOption, ErrStopped (the runtime or
// parent is stopping). On error no worker is left running. Cost: size
// spawns.
func NewPool[S any](sp Spawner, size int, factory func() S, opts ...PoolOption) (*Pool[S], error) {
	if sp == nil || nilness.Is(sp) {
		return nil, ErrNilRuntime
	}
	sys := sp.Engine(engine.Seal{})
	if sys == nil {
		return nil, ErrNilRuntime
	}
	if size <= 0 {
		return nil, fmt.Errorf("%w: %d", ErrPoolSize, size)
	}
	if factory == nil {
		return nil, fmt.Errorf("%w: nil factory", ErrFactory)
	}
	cfg, err := poolConfigOf(opts)
	if err != nil {
		return nil, err
	}
	if cfg.sup.Directive == directiveDefault {
		cfg.sup.Directive = Restart
	}
	p := &Pool[S]{factory: factory, spawner: sp, sup: cfg.sup, done: make(chan struct{})}
	if x, ok := sp.(*Ctx); ok {
		// A handler's Ctx is recycled when the handler returns: keep one
		// of our own for the parent, to spawn replacements later.
		p.spawner = &Ctx{c: x.c}
	}
	p.r.init(sys, cfg, "pool")
	for i := range size {
		m, err := p.spawn(uint64(i))
		if err != nil {
			p.Kill()
			return nil, err
		}
		p.add(m, false)
	}
	return p, nil
}

func (p *Pool[S]) route() (*router, *S) {
	if !p.made() {
		return nil, nil
	}
	return &p.r, nil
}

// made reports whether p was made by NewPool (which sets its runtime).
func (p *Pool[S]) made() bool { return p != nil && p.r.sys != nil }

// Size is the number of workers now (a worker being replaced is not
// counted until its replacement runs). O(1).
func (p *Pool[S]) Size() int {
	if !p.made() {
		return 0
	}
	return len(p.r.snapshot())
}

// Stopped reports whether Stop or Kill was called, or the pool lost its
// last worker, or (Balancing) its workers are stopping with their owner:
// calls fail with ErrPoolStopped. O(1).
func (p *Pool[S]) Stopped() bool {
	return !p.made() || p.r.state.Load() != routerRunning
}

// Done is closed once the pool has stopped and every worker with it (also
// the ones a Resize shrank away, and a worker a Resize or a replacement
// was making when the pool stopped). It does not block.
func (p *Pool[S]) Done() <-chan struct{} {
	if !p.made() {
		return closedChan
	}
	return p.done
}

// Stop stops the pool gracefully and waits: new calls fail with
// ErrPoolStopped at once, every worker finishes what is queued for it
// (with Balancing, the shared queue is drained: if no worker is left to
// take its calls, as when the only one had stopped itself, a worker is
// made to run them), then stops; a worker's replacement, or a worker a
// Resize is making, being made meanwhile is waited for too, and stopped
// once made. It returns when Done is closed. If ctx ends first, the
// workers left are killed (their queued calls fail with ErrStopped) and
// Stop returns a *StopError naming them (none, if only a replacement or
// a Resize's worker was still being made), matching ctx's
// error, without waiting further (wait on Done); nil if the pool had
// stopped all the same (Done is closed). Idempotent; safe for
// concurrent use. Do not wait for a pool's stop from one of its workers'
// handlers (it would wait for itself): call Kill, or Stop from elsewhere.
// Errors: ErrNilPool, ErrNilContext, *StopError.
func (p *Pool[S]) Stop(ctx context.Context) error {
	if !p.made() {
		return ErrNilPool
	}
	if ctx == nil {
		return ErrNilContext
	}
	if caller := callerOf(ctx); caller.lend() { // waits for other actors, as a sync call does
		defer caller.reclaim()
	}
	if q := p.r.shared; q != nil {
		q.stopping()
	} else {
		p.r.state.CompareAndSwap(routerRunning, routerStopping)
	}
	// Again while new workers are found: one made meanwhile to drain the
	// shared queue (see gone) is waited for too.
	var waited []*member
	for ws := p.workers(); len(ws) > 0; ws = p.newWorkers(waited) {
		waited = append(waited, ws...)
		for _, m := range ws {
			m.c.requestStop(false)
		}
		for _, m := range ws {
			select {
			case <-m.c.doneCh():
				continue
			case <-ctx.Done():
			}
			return p.forced(ctx)
		}
	}
	p.checkDone()
	// A replacement still being made (see gone), or a Resize's worker, is
	// no worker yet: add stops it once made, and Done waits for it.
	select {
	case <-p.done:
		return nil
	case <-ctx.Done():
	}
	return p.forced(ctx)
}

// forced ends a Stop whose ctx ended: nil if the pool has stopped all the
// same (the select that saw ctx end chose at random among ready cases),
// else the workers not yet stopped are named and the pool is killed.
func (p *Pool[S]) forced(ctx context.Context) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	var late []string
	for _, m := range p.workers() {
		select {
		case <-m.c.doneCh():
		default:
			late = append(late, m.c.String())
		}
	}
	p.Kill()
	return &StopError{Actors: late, Err: ctx.Err()}
}

// Kill stops the pool now: new calls fail with ErrPoolStopped, calls
// waiting in the shared queue (Balancing) fail with ErrStopped, and every
// worker is killed (see Ref.Kill). It does not wait; use Done for that.
// Idempotent; a nil or zero Pool is ignored.
func (p *Pool[S]) Kill() {
	if !p.made() {
		return
	}
	p.r.state.Store(routerKilled)
	if q := p.r.shared; q != nil {
		q.failAll(ErrStopped)
	}
	for _, m := range p.workers() {
		m.c.requestStop(true)
	}
	p.checkDone()
}

// workers is every worker, retiring ones included.
func (p *Pool[S]) workers() []*member {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append(slices.Clone(p.slots), p.retiring...)
}

// newWorkers is every worker not in old.
func (p *Pool[S]) newWorkers(old []*member) []*member {
	return slices.DeleteFunc(p.workers(), func(m *member) bool { return slices.Contains(old, m) })
}

// checkDone closes Done if the pool is stopped and has no worker left.
func (p *Pool[S]) checkDone() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.checkDoneLocked()
}

func (p *Pool[S]) checkDoneLocked() {
	if p.closed || p.r.state.Load() == routerRunning || len(p.slots)+len(p.retiring)+len(p.replacing)+p.growing > 0 {
		return
	}
	p.closed = true
	close(p.done)
}
