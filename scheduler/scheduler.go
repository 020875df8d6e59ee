package scheduler

import (
	"errors"
	"fmt"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"

	"github.com/panjf2000/ants/v2"
)

// Sentinel errors returned by this package.
var (
	// ErrClosed is returned by [Scheduler.Schedule] after Shutdown or Close.
	ErrClosed = errors.New("scheduler: closed")
	// ErrInvalidOption is wrapped by [New] when an option is nil or out
	// of range.
	ErrInvalidOption = errors.New("scheduler: invalid option")
	// ErrInvalidTask is returned by [Scheduler.Schedule] for a task that
	// is nil, not bound to that scheduler (NewTask, InitTask), or bound
	// with a nil Runner; and by a nil or zero Scheduler, which binds none.
	ErrInvalidTask = errors.New("scheduler: invalid task")
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

// Scheduler runs [Task] turns. It is safe for concurrent use.
//
// Runnable tasks wait in one FIFO run queue, drained by loops: long-lived
// goroutines that run one turn after another, parking when the queue is
// empty. A loop is an ants pool worker (or a plain goroutine of ours when
// the pool is full). The goroutines it runs, and how many, are listed in
// the package doc (Goroutines and blocking): base loops (min of GOMAXPROCS
// and the pool size), one replacement per loop whose handler sits between
// [Scheduler.Block] and [Scheduler.Unblock], at most [WithMaxExtra] loops
// started by the stall watchdog, and the watchdog's timer callback.
//
// A nil or zero Scheduler (not made by New) runs nothing and is closed:
// it binds no task, so Schedule returns ErrInvalidTask (rather than
// queue a turn no loop would run); Shutdown returns ErrClosed, Close,
// Block and Unblock do nothing, Throughput and Running are 0.
type Scheduler struct {
	pool     *ants.Pool
	budget   int
	base     int // loops kept while idle; loops outside Block that drain the queue
	maxExtra int // loops outside Block the watchdog may add beyond base
	panics   func(any)
	loopFn   func()
	hooks    testHooks

	probeMu sync.Mutex             // guards probe (checks by hand, in tests, may overlap the timer's)
	probe   [probes]metrics.Sample // the runtime's counts the watchdog reads: see freeProcs

	// ticked is set when a turn completes and cleared by the watchdog at
	// each check. Loops store it only when it is clear: once per check,
	// not once per turn, so this line is not bounced between loops.
	ticked atomic.Bool
	// A line of its own: loops read ticked after every turn, and mu,
	// which every Schedule writes, would otherwise share its line
	// (measured: 6% of a fan-out's CPU went to that load).
	_ [64]byte

	mu       sync.Mutex // guards the fields below
	cond     sync.Cond  // parked loops wait here
	q        queue
	locals   []*local    // every loop's batch (local.go)
	loops    int         // loops running (parked, spinning and blocked included)
	parked   int         // loops waiting on cond
	spinning int         // loops yielding a few times before they park
	blocked  int         // loops whose turn sits between Block and Unblock
	watching bool        // timer is armed, or its callback is due to run
	stalls   int         // checks in a row that found no turn completed (starveChecks)
	timer    *time.Timer // the watchdog's: made on first use, armed only while watching
	closed   bool
	idle     chan struct{} // closed once closed, with no loop and no watchdog
	idleOne  sync.Once
	relOne   sync.Once     // starts the release of the pool (shutdown.go)
	released chan struct{} // closed once the pool's goroutines have exited
}

// New returns a scheduler with its own pool. It starts the pool's two
// housekeeping goroutines; no loop runs until the first turn. It returns an
// error wrapping [ErrInvalidOption] if an option is nil or out of range.
func New(opts ...Option) (*Scheduler, error) {
	c := defaults()
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: nil option", ErrInvalidOption)
		}
		o.apply(&c)
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	if c.onPanic == nil {
		c.onPanic = writePanic(c.hooks.panicOut)
	} else {
		c.onPanic = guardPanics(c.onPanic, c.hooks.panicOut)
	}
	p, err := ants.NewPool(c.poolSize, ants.WithNonblocking(true), ants.WithPanicHandler(c.onPanic))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidOption, err)
	}
	base := runtime.GOMAXPROCS(0)
	if c.poolSize > 0 {
		base = min(base, c.poolSize)
	}
	s := &Scheduler{
		pool:     p,
		budget:   c.budget,
		base:     base,
		maxExtra: c.maxExtra,
		panics:   c.onPanic,
		hooks:    c.hooks,
		idle:     make(chan struct{}),
		released: make(chan struct{}),
	}
	s.cond.L = &s.mu
	s.loopFn = s.loop
	s.initProbe()
	return s, nil
}

// Throughput is the per-turn message budget.
func (s *Scheduler) Throughput() int {
	if s == nil {
		return 0
	}
	return s.budget
}

// made reports whether s was made by New.
func (s *Scheduler) made() bool { return s != nil && s.pool != nil }

// NewTask binds r to s. It allocates once; scheduling the task does not.
func (s *Scheduler) NewTask(r Runner) *Task {
	t := new(Task)
	s.InitTask(t, r)
	return t
}

// InitTask binds a zero (embedded) Task to s and r. A nil t is ignored;
// a nil or zero s leaves t unbound (Schedule refuses it).
func (s *Scheduler) InitTask(t *Task, r Runner) {
	if t == nil {
		return
	}
	if !s.made() {
		s, r = nil, nil // unbound: Schedule's nil-Runner check refuses it
	}
	t.s, t.r = s, r
}

// Schedule queues one turn of t. It never blocks. It returns [ErrClosed]
// after Shutdown or Close, and [ErrInvalidTask] if t is nil, was not
// bound to s by [Scheduler.NewTask] or [Scheduler.InitTask], or was bound
// with a nil Runner. The caller must ensure a task has at most one turn
// scheduled at a time (the mailbox's scheduled flag does). Cost: O(1)
// amortised, no allocation in steady state; it wakes or starts a loop only
// when none is free.
func (s *Scheduler) Schedule(t *Task) error {
	// A nil or zero s binds none: its tasks, like a zero Task, have no
	// Runner, so a nil s never gets past these checks.
	if t == nil || t.s != s || t.r == nil {
		return ErrInvalidTask
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.q.push(t)
	n := s.kickLocked()
	s.mu.Unlock()
	s.start(n)
	return nil
}

// Running is the number of loops: goroutines running or waiting to run
// turns, those blocked in a handler included. It takes the scheduler's
// lock; O(1).
func (s *Scheduler) Running() int {
	if s == nil {
		return 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loops
}
