package scheduler

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

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

// stallCheck is how often the watchdog looks for loops that all sit in
// blocked handlers while turns wait.
const stallCheck = time.Millisecond

// Scheduler runs [Task] turns. It is safe for concurrent use.
//
// Runnable tasks wait in one FIFO run queue, drained by loops: long-lived
// goroutines that run one turn after another, parking when the queue is
// empty. About GOMAXPROCS loops run while there is work, so scheduling a
// turn is usually a queue push, not a goroutine hand-off. A loop is an
// ants pool worker (or a plain goroutine of ours when the pool is full).
// When every loop is busy and the queue waits, a watchdog checks every
// millisecond that turns still complete; if none did — the loops sit in
// blocked handlers — it starts one loop per waiting task, so a blocked
// handler never starves the others.
type Scheduler struct {
	pool   *ants.Pool
	budget int
	base   int // loops kept while idle
	panics func(any)
	loopFn func()

	// ticked is set when a turn completes and cleared by the watchdog at
	// each check. Loops store it only when it is clear: once per check,
	// not once per turn, so this line is not bounced between loops.
	ticked atomic.Bool

	mu       sync.Mutex // guards the fields below
	cond     sync.Cond  // parked loops wait here
	q        queue
	loops    int  // loops running (parked and spinning included)
	parked   int  // loops waiting on cond
	spinning int  // loops yielding a few times before they park
	watching bool // the watchdog runs
	closed   bool
	idle     chan struct{} // closed once closed, with no loop and no watchdog
	idleOne  sync.Once
	relOne   sync.Once
}

// New returns a scheduler with its own pool. It starts the pool's two
// housekeeping goroutines; no loop runs until the first turn.
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
	p, err := ants.NewPool(c.poolSize, ants.WithNonblocking(true), ants.WithPanicHandler(c.onPanic))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidOption, err)
	}
	base := runtime.GOMAXPROCS(0)
	if c.poolSize > 0 {
		base = min(base, c.poolSize)
	}
	s := &Scheduler{pool: p, budget: c.budget, base: base, panics: c.onPanic, idle: make(chan struct{})}
	s.cond.L = &s.mu
	s.loopFn = s.loop
	return s, nil
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

// Schedule queues one turn of t. It never blocks. It returns [ErrClosed]
// after Shutdown or Close. The caller must ensure a task has at most one
// turn scheduled at a time (the mailbox's scheduled flag does). Cost: O(1)
// amortised, no allocation in steady state; it wakes or starts a loop only
// when none is free.
func (s *Scheduler) Schedule(t *Task) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.q.push(t)
	start, watch := s.kickLocked()
	s.mu.Unlock()
	s.kicked(start, watch)
	return nil
}

// kickLocked makes sure a queued turn will be taken: by a spinning loop,
// a parked one it wakes, or a loop it counts in (the caller starts it with
// kicked); if every loop is busy, the watchdog must run.
func (s *Scheduler) kickLocked() (start int, watch bool) {
	switch {
	case s.spinning > 0:
	case s.parked > 0:
		s.cond.Signal()
	case s.loops < s.base:
		s.loops++
		start = 1
	case !s.watching:
		s.watching, watch = true, true
	}
	return start, watch
}

// kicked does, without the lock, what kickLocked decided.
func (s *Scheduler) kicked(start int, watch bool) {
	s.start(start)
	if watch {
		go s.watch()
	}
}

// loopSpins is how many times a loop that finds the queue empty yields
// before it parks: a producer that sends again within a few hundred
// nanoseconds (a oneway stream the actor keeps up with) then finds it
// awake, instead of paying a futex wake-up per message.
const loopSpins = 3

// spinHook, if set, runs when a loop yields in its spin, without the lock.
// Tests use it to schedule turns exactly then.
var spinHook func()

// start starts n loops, counted in s.loops by the caller: on the pool, or
// on goroutines of ours when it is full.
func (s *Scheduler) start(n int) {
	for ; n > 0; n-- {
		if err := s.pool.Submit(s.loopFn); err != nil {
			go s.loop()
		}
	}
}

// loop runs turns until the queue is empty and enough loops are parked,
// or the scheduler closed.
func (s *Scheduler) loop() {
	clean := false
	defer func() {
		if clean {
			return
		}
		// A turn panicked past its runner, or called runtime.Goexit: this
		// loop is gone; count it out and replace it if work waits.
		if v := recover(); v != nil && s.panics != nil {
			s.panics(v)
		}
		s.mu.Lock()
		s.loops--
		n := 0
		if s.q.n > 0 && !s.closed && s.parked == 0 {
			s.loops++
			n = 1
		}
		s.maybeIdleLocked()
		s.mu.Unlock()
		s.start(n)
	}()
	s.mu.Lock()
	for {
		spins := 0
		for s.q.n == 0 {
			if s.closed || s.parked >= s.base {
				s.loops--
				s.maybeIdleLocked()
				s.mu.Unlock()
				clean = true
				return
			}
			if spins < loopSpins {
				spins++
				s.spinning++
				s.mu.Unlock()
				if spinHook != nil {
					spinHook()
				}
				runtime.Gosched()
				s.mu.Lock()
				s.spinning--
				continue
			}
			s.parked++
			s.cond.Wait()
			s.parked--
		}
		t := s.q.pop()
		start, watch := 0, false
		if spins > 0 && s.q.n > 0 {
			// Schedule left this turn to us while we spun: see that
			// the others queued behind it are taken too.
			start, watch = s.kickLocked()
		}
		s.mu.Unlock()
		s.kicked(start, watch)
		more := t.r.Run(s.budget)
		if !s.ticked.Load() {
			s.ticked.Store(true)
		}
		if more && s.Schedule(t) != nil {
			t.r.Abort()
		}
		s.mu.Lock()
	}
}

// watch runs while every loop is busy and turns wait. If no turn completed
// during a check interval, the loops are stuck in blocked handlers: it
// starts one loop per waiting turn. It exits when the queue empties.
func (s *Scheduler) watch() {
	s.ticked.Store(false)
	for {
		time.Sleep(stallCheck)
		s.mu.Lock()
		if s.q.n == 0 || s.closed {
			s.watching = false
			s.maybeIdleLocked()
			s.mu.Unlock()
			return
		}
		n := 0
		if !s.ticked.Swap(false) && s.parked == 0 {
			n = s.q.n
			s.loops += n
		}
		s.mu.Unlock()
		s.start(n)
	}
}

func (s *Scheduler) maybeIdleLocked() {
	if s.closed && s.loops == 0 && !s.watching {
		s.idleOne.Do(func() { close(s.idle) })
	}
}

// Running is the number of loops (goroutines running or waiting to run
// turns).
func (s *Scheduler) Running() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loops
}

func (s *Scheduler) close() {
	s.mu.Lock()
	s.closed = true
	s.cond.Broadcast()
	s.maybeIdleLocked()
	s.mu.Unlock()
}

// Shutdown refuses new turns, lets the loops finish the turns already
// queued, waits for them (bounded by ctx) and releases the pool. It
// returns ctx.Err() if ctx ended first: the pool is released anyway and
// the loops exit as their turns end. Idempotent.
func (s *Scheduler) Shutdown(ctx context.Context) error {
	s.close()
	select {
	case <-s.idle:
		s.release(ctx)
		return nil
	case <-ctx.Done():
		s.relOne.Do(s.pool.Release) // without waiting: loops end with their turns
		return ctx.Err()
	}
}

// Close is Shutdown without a bound. Idempotent.
func (s *Scheduler) Close() {
	s.close()
	<-s.idle
	s.release(context.Background())
}

func (s *Scheduler) release(ctx context.Context) {
	s.relOne.Do(func() {
		// ReleaseContext also waits for the idle workers and the pool's
		// housekeeping goroutines to exit, bounded by ctx.
		_ = s.pool.ReleaseContext(ctx)
	})
}
