package actor

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/troupe-go/troupe/mailbox"
	"github.com/troupe-go/troupe/scheduler"
	"github.com/troupe-go/troupe/timer"
)

// Spawner is where actors are spawned: a *runtime.Runtime (a top-level
// actor), or a handler's [*Ctx] (a child of that handler's actor).
type Spawner interface {
	System() *System
}

// Names is the registry an actor's name lives in while it runs. The
// runtime's sharded registry implements it.
type Names interface {
	// Register claims name for a; it returns an error wrapping
	// ErrNameTaken if another running actor holds it.
	Register(name string, a Actor) error
	// Unregister frees name if a still holds it.
	Unregister(name string, a Actor)
}

// Actor is the untyped view of a running actor, as the registry and the
// runtime see it. Every *Ref[S] is an Actor.
type Actor interface {
	// Name is the name given at spawn, or "" for an anonymous actor.
	Name() string
	// ID is unique among the actors of a process.
	ID() uint64
	// Stop stops the actor gracefully, bounded by ctx; see Ref.Stop.
	Stop(ctx context.Context) error
	// Done is closed once the actor has stopped.
	Done() <-chan struct{}
	// Stopped reports whether the actor is stopping or stopped.
	Stopped() bool
}

// Config assembles a [System]. The runtime package builds it from its
// options; it is exported so other hosts can, too.
type Config struct {
	Scheduler   *scheduler.Scheduler // required: runs actor turns
	Wheel       *timer.Wheel         // required: timeouts, After, Every, backoff
	CallTimeout time.Duration        // default deadline of a sync call without one; > 0
	Names       Names                // optional registry for WithName
	DeadLetter  func(DeadLetter)     // optional sink for oneway failures and undeliverable messages
}

// System is the engine actors run on: scheduler, timer wheel, default
// timeout, registry and dead-letter sink. A *runtime.Runtime embeds one;
// most programs never touch it directly. Safe for concurrent use.
type System struct {
	cfg Config

	closed atomic.Bool

	mu    sync.Mutex         // guards roots
	roots map[*cell]struct{} // top-level actors still running
}

// NewSystem validates cfg and returns a System. It starts no goroutine.
func NewSystem(cfg Config) (*System, error) {
	switch {
	case cfg.Scheduler == nil:
		return nil, fmt.Errorf("%w: nil scheduler", ErrInvalidOption)
	case cfg.Wheel == nil:
		return nil, fmt.Errorf("%w: nil timer wheel", ErrInvalidOption)
	case cfg.CallTimeout <= 0:
		return nil, fmt.Errorf("%w: call timeout %v must be > 0", ErrInvalidOption, cfg.CallTimeout)
	}
	return &System{cfg: cfg, roots: make(map[*cell]struct{})}, nil
}

// System returns s, making a *System a [Spawner] of top-level actors.
func (s *System) System() *System { return s }

// CallTimeout is the default deadline of a sync call whose ctx has none.
func (s *System) CallTimeout() time.Duration { return s.cfg.CallTimeout }

// Closed reports whether Close has begun: new spawns and calls are refused.
func (s *System) Closed() bool { return s.closed.Load() }

// unbounded is the config of every unbounded mailbox (the default): its
// OnDrop never runs, since nothing is evicted from a mailbox that is never
// full, so one config serves all.
var unbounded = &mailbox.Config[envelope]{Key: envelope.key, Live: envelope.live}

// mailboxConfig returns the mailbox config of c: the shared one if it is
// unbounded; else c's own, whose OnDrop reports the calls it evicts as c's.
func mailboxConfig(c *cell, capacity int, policy mailbox.Policy) *mailbox.Config[envelope] {
	if capacity == 0 {
		return unbounded
	}
	return &mailbox.Config[envelope]{
		Capacity: capacity,
		Policy:   policy,
		Key:      envelope.key,
		Live:     envelope.live,
		OnDrop:   func(e envelope) { e.fail(c, ErrDropped, ReasonDropped) },
	}
}

func (s *System) addRoot(c *cell) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return ErrStopped
	}
	s.roots[c] = struct{}{}
	return nil
}

func (s *System) removeRoot(c *cell) {
	s.mu.Lock()
	delete(s.roots, c)
	s.mu.Unlock()
}

// Close refuses new spawns and stops every top-level actor (each stops its
// children first), newest first, bounded by ctx. Actors that did not stop
// in time are killed and reported in a *StopError, which matches
// context.DeadlineExceeded. Close is idempotent; the scheduler and the wheel
// are the caller's to stop afterwards.
func (s *System) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed.Store(true)
	roots := make([]*cell, 0, len(s.roots))
	for c := range s.roots {
		roots = append(roots, c)
	}
	s.mu.Unlock()
	return stopAll(ctx, roots)
}

// stopAll stops cells newest first: each one's graceful stop, then a kill
// for those still running when ctx ends.
func stopAll(ctx context.Context, cells []*cell) error {
	slices.SortFunc(cells, func(a, b *cell) int { return cmp.Compare(b.id, a.id) })
	var late []string
	for _, c := range cells {
		c.requestStop(false)
		if ctx.Err() != nil {
			break
		}
		select {
		case <-c.doneCh():
		case <-ctx.Done():
		}
	}
	if ctx.Err() != nil {
		for _, c := range cells {
			select {
			case <-c.doneCh():
			default:
				late = append(late, c.String())
				c.requestStop(true)
			}
		}
	}
	if len(late) > 0 {
		return &StopError{Actors: late, Err: ctx.Err()}
	}
	return nil
}

// StopError lists the actors that had not stopped when a Stop or Shutdown
// deadline passed. It unwraps to the ctx error (context.DeadlineExceeded).
type StopError struct {
	Actors []string // name or id of each late actor
	Err    error
}

func (e *StopError) Error() string {
	return fmt.Sprintf("actor: %d actor(s) did not stop in time %v: %v", len(e.Actors), e.Actors, e.Err)
}

func (e *StopError) Unwrap() error { return e.Err }
