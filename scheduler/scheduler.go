package scheduler

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/panjf2000/ants/v2"
)

// Sentinel errors returned by this package.
var (
	// ErrClosed is returned by [Scheduler.Schedule] after Shutdown or Close.
	ErrClosed = errors.New("scheduler: closed")
	// ErrInvalidOption is wrapped by [New] when an option is out of range.
	ErrInvalidOption = errors.New("scheduler: invalid option")
)

// Runner is what the scheduler runs: one turn processes at most budget
// messages and returns true if the runner has more work and must be
// scheduled again.
type Runner interface {
	Run(budget int) (more bool)
	// Abort is called instead of another turn when the runner had more
	// work but the scheduler has closed: the runner must dispose of its
	// pending work itself.
	Abort()
}

// Task is a [Runner] bound to a scheduler. Make it once per actor with
// [Scheduler.NewTask], or embed one and bind it with [Scheduler.InitTask]:
// scheduling a Task allocates nothing.
type Task struct {
	s *Scheduler
	r Runner
}

// Scheduler runs [Task] turns on an ants pool. It is safe for concurrent use.
type Scheduler struct {
	pool    *ants.PoolWithFuncGeneric[*Task]
	budget  int
	panics  func(any)
	closed  atomic.Bool
	running atomic.Int64  // turns in flight, pooled or spilled
	idle    chan struct{} // closed once closed is set and running is zero
	idleOne sync.Once
	relOne  sync.Once
}

// New returns a scheduler with its own pool. It starts the pool's two
// housekeeping goroutines; no worker runs until the first turn.
func New(opts ...Option) (*Scheduler, error) {
	c := defaults()
	for _, o := range opts {
		o.apply(&c)
	}
	if c.budget <= 0 {
		return nil, fmt.Errorf("%w: throughput %d must be > 0", ErrInvalidOption, c.budget)
	}
	if c.poolSize == 0 || c.poolSize < -1 {
		return nil, fmt.Errorf("%w: pool size %d must be > 0 or -1 (unbounded)", ErrInvalidOption, c.poolSize)
	}
	p, err := ants.NewPoolWithFuncGeneric(c.poolSize, (*Task).turn, ants.WithNonblocking(true), ants.WithPanicHandler(c.onPanic))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidOption, err)
	}
	return &Scheduler{pool: p, budget: c.budget, panics: c.onPanic, idle: make(chan struct{})}, nil
}

// Throughput is the per-turn message budget.
func (s *Scheduler) Throughput() int { return s.budget }

// NewTask binds r to s. It allocates once; scheduling the task does not.
func (s *Scheduler) NewTask(r Runner) *Task {
	t := new(Task)
	s.InitTask(t, r)
	return t
}

// InitTask binds a zero (embedded) Task to s and r.
func (s *Scheduler) InitTask(t *Task, r Runner) { t.s, t.r = s, r }

func (t *Task) turn() {
	defer t.s.done()
	if t.r.Run(t.s.budget) {
		if err := t.s.Schedule(t); err != nil {
			t.r.Abort()
		}
	}
}

// Schedule submits one turn of t. It never blocks: if the pool is full the
// turn runs on a fresh goroutine owned by the scheduler. It returns
// [ErrClosed] after Shutdown or Close. The caller must ensure a task has at
// most one turn scheduled at a time (the mailbox's scheduled flag does).
func (s *Scheduler) Schedule(t *Task) error {
	s.running.Add(1)
	if s.closed.Load() {
		s.done()
		return ErrClosed
	}
	err := s.pool.Invoke(t)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ants.ErrPoolOverload):
		go s.spill(t)
		return nil
	default: // the pool was released under us
		s.done()
		return ErrClosed
	}
}

// spill runs a turn outside the pool, recovering a panic like the pool does.
func (s *Scheduler) spill(t *Task) {
	defer func() {
		if v := recover(); v != nil && s.panics != nil {
			s.panics(v)
		}
	}()
	t.turn()
}

// done ends one turn; the last one after close opens the idle gate.
func (s *Scheduler) done() {
	if s.running.Add(-1) == 0 && s.closed.Load() {
		s.idleOne.Do(func() { close(s.idle) })
	}
}

func (s *Scheduler) close() {
	s.closed.Store(true)
	if s.running.Load() == 0 {
		s.idleOne.Do(func() { close(s.idle) })
	}
}

// Running is the number of turns in flight.
func (s *Scheduler) Running() int { return int(s.running.Load()) }

// Shutdown refuses new turns, waits until the turns in flight end or ctx is
// done, and releases the pool. It returns ctx.Err() if ctx ended first: the
// pool is released anyway and its workers exit as their turns end.
// Idempotent.
func (s *Scheduler) Shutdown(ctx context.Context) error {
	s.close()
	select {
	case <-s.idle:
		s.release(ctx)
		return nil
	case <-ctx.Done():
		s.release(nil)
		return ctx.Err()
	}
}

// Close refuses new turns, waits for the turns in flight and releases the
// pool: Shutdown without a bound. Idempotent.
func (s *Scheduler) Close() {
	s.close()
	<-s.idle
	s.release(context.Background())
}

func (s *Scheduler) release(ctx context.Context) {
	s.relOne.Do(func() {
		// With a ctx, ReleaseContext also waits for the idle workers and the
		// pool's housekeeping goroutines to exit; with nil it does not wait.
		_ = s.pool.ReleaseContext(ctx)
	})
}
