package engine

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/troupe-go/troupe/scheduler"
	"github.com/troupe-go/troupe/timer"
)

// Seal is the first argument of troupe's sealed methods: Engine, the
// method that makes a type an actor.Spawner, and the methods users must
// not call (actor's Ref.AtStop, Method.CastInline, Method.CastGated,
// Method.AskUnwatched).
// Only packages under github.com/troupe-go/troupe can name it (Go's
// internal rule goes by import path: the remote module's packages can
// too), so only they can implement Spawner or call those methods.
type Seal struct{}

// Gate is implemented by the context of a call queued by actor's
// Method.AskUnwatched, or of a stream's opening request (Stream.Open),
// whose admission can lapse while it waits (remote's served calls and
// stream opens to a claimed name: the claim's lease). On the call's turn,
// after its context's Err and before its handler, Admit is asked: an error
// is the call's outcome, and the handler does not run (a dead letter,
// ReasonExpired, as for a call whose caller gave up). It is also the
// gate of a oneway sent by actor's Method.CastGated (remote's served casts
// to a claimed name), asked on its turn alike: an error is a dead letter
// (ReasonExpired, with the request), as a oneway has nobody to answer.
// Admit must be cheap and must not block: it runs on the actor's turn.
// Sealed (Seal), so that no user's context is taken for one.
type Gate interface{ Admit(Seal) error }

// Config assembles a System.
type Config struct {
	Scheduler   *scheduler.Scheduler // required: runs actor turns
	Wheel       *timer.Wheel         // required: timeouts, After, Every, backoff
	CallTimeout time.Duration        // default deadline of a sync call without one; > 0
	Names       Names                // optional registry for WithName
	DeadLetter  DeadLetterFunc       // optional sink for oneway failures and undeliverable messages
}

// Cell is an actor as the System sees it.
type Cell interface {
	// RequestStop asks the actor to stop, gracefully or now (kill); it
	// never waits.
	RequestStop(kill bool)
	// Done is closed once the actor has stopped.
	Done() <-chan struct{}
	// ID orders actors by age: a newer actor has a higher ID.
	ID() uint64
	// String is the actor's name, or "#id".
	String() string
}

// System is the engine actors run on: Config plus the set of top-level
// actors. Safe for concurrent use.
type System struct {
	Config

	closed atomic.Bool

	mu    sync.Mutex        // guards roots
	roots map[Cell]struct{} // top-level actors still running

	trims trims // actors to trim when idle; see trim.go

	work Tally[Cell] // goroutines started by actor.Go, refused actors' ends, by actor
}

// New validates cfg and returns a System. It starts no goroutine.
func New(cfg Config) (*System, error) {
	switch {
	case cfg.Scheduler == nil:
		return nil, fmt.Errorf("%w: nil scheduler", ErrInvalidOption)
	case cfg.Wheel == nil:
		return nil, fmt.Errorf("%w: nil timer wheel", ErrInvalidOption)
	case cfg.CallTimeout <= 0:
		return nil, fmt.Errorf("%w: call timeout %v must be > 0", ErrInvalidOption, cfg.CallTimeout)
	}
	return &System{Config: cfg, roots: make(map[Cell]struct{})}, nil
}

// Closed reports whether Close has begun: new spawns are refused.
func (s *System) Closed() bool { return s.closed.Load() }

// AddRoot records a top-level actor; ErrStopped once Close has begun.
func (s *System) AddRoot(c Cell) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed.Load() {
		return ErrStopped
	}
	s.roots[c] = struct{}{}
	return nil
}

// RemoveRoot forgets a top-level actor that stopped.
func (s *System) RemoveRoot(c Cell) {
	s.mu.Lock()
	delete(s.roots, c)
	s.mu.Unlock()
}

// Close refuses new spawns and stops every top-level actor (each stops its
// children first), newest first, bounded by ctx: see StopAll. Idempotent.
func (s *System) Close(ctx context.Context) (late []string) {
	s.mu.Lock()
	s.closed.Store(true)
	s.mu.Unlock()
	return StopAll(ctx, s.rootList())
}

// rootList returns the top-level actors still running.
func (s *System) rootList() []Cell {
	s.mu.Lock()
	defer s.mu.Unlock()
	roots := make([]Cell, 0, len(s.roots))
	for c := range s.roots {
		roots = append(roots, c)
	}
	return roots
}

// WorkStarted counts a goroutine that c's actor.Go starts, or the end
// of c, an actor whose Spawn was refused after it had joined (its end
// runs on a turn no running actor waits for); WorkEnded must follow once
// the goroutine has handed its result over, or c has ended. Call it
// while c is running, or from c's Spawn: the runtime's stop waits for
// such work (WaitWork) only once every actor has stopped, before it
// drains the scheduler.
func (s *System) WorkStarted(c Cell) { s.work.Add(c) }

// WorkEnded ends what WorkStarted counted.
func (s *System) WorkEnded(c Cell) { s.work.Done(c) }

// WaitWork waits until no goroutine counted by WorkStarted is left, or
// ctx ends: it then returns the sorted names of the actors whose
// goroutines are still running.
func (s *System) WaitWork(ctx context.Context) (late []string) {
	idle := s.work.Idle()
	if idle == nil {
		return nil
	}
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
	}
	return s.work.Names(Cell.String)
}

// Running names the top-level actors that have not finished stopping,
// sorted. O(actors).
func (s *System) Running() []string {
	var names []string
	for _, c := range s.rootList() {
		names = append(names, c.String())
	}
	slices.Sort(names)
	return names
}

// Wait waits until every top-level actor has stopped, or ctx ends: it then
// returns the names of those still running. It does not stop them.
func (s *System) Wait(ctx context.Context) (late []string) {
	for _, c := range s.rootList() {
		select {
		case <-c.Done():
		case <-ctx.Done():
			return s.Running()
		}
	}
	return nil
}

// StopAll stops cells newest first, each gracefully, waiting for one
// before the next; when ctx ends it kills those still running, does not
// wait for them, and returns their names. O(cells).
func StopAll(ctx context.Context, cells []Cell) (late []string) {
	slices.SortFunc(cells, func(a, b Cell) int { return cmp.Compare(b.ID(), a.ID()) })
	for _, c := range cells {
		c.RequestStop(false)
		select {
		case <-c.Done():
			continue
		case <-ctx.Done():
		}
		for _, c := range cells {
			select {
			case <-c.Done():
			default:
				late = append(late, c.String())
				c.RequestStop(true)
			}
		}
		return late
	}
	return nil
}
