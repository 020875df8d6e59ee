package scheduler

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, goleak.IgnoreCurrent()) }

// newSched is New that fails t on error; the test's cleanup closes it.
func newSched(t *testing.T, opts ...Option) *Scheduler {
	t.Helper()
	s, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// procs makes GOMAXPROCS at least n for the rest of t (restored after),
// for a test that needs n base loops (base = min(GOMAXPROCS, pool size)):
// under -cpu 1 it would wait for a loop that never starts. Call it before
// New; not from a parallel test. (testkit.Procs, which this package cannot
// import: testkit imports the runtime, which imports this package.)
func procs(t *testing.T, n int) {
	t.Helper()
	if old := runtime.GOMAXPROCS(0); old < n {
		runtime.GOMAXPROCS(n)
		t.Cleanup(func() { runtime.GOMAXPROCS(old) })
	}
}

// newGate returns a channel turns wait on and the func that closes it.
// The test's cleanup opens it before the scheduler's closes (make it after
// the scheduler), so that a failing test does not leave turns waiting, and
// Close and the bubble with them. Cleanup runs inside the bubble.
func newGate(t *testing.T) (<-chan struct{}, func()) {
	ch := make(chan struct{})
	open := sync.OnceFunc(func() { close(ch) })
	t.Cleanup(open)
	return ch, open
}

// schedule queues one turn of r on a task of its own.
func schedule(t *testing.T, s *Scheduler, r Runner) {
	t.Helper()
	if err := s.Schedule(s.NewTask(r)); err != nil {
		t.Fatal(err)
	}
}

// withSpinHook sets the hook a loop runs when it yields in its spin.
func withSpinHook(f func()) Option { return optionFunc(func(c *config) { c.hooks.spin = f }) }

// withIdleProcs makes the watchdog see every P idle, as a machine whose
// loops all wait would show it. For tests that let the stall timer fire in
// a bubble, where the runtime's counts are not the machine's (testHooks).
func withIdleProcs() Option {
	return optionFunc(func(c *config) { c.hooks.freeProcs = func() int { return runtime.GOMAXPROCS(0) } })
}

// counter is a runner with n messages to process.
type counter struct {
	left    atomic.Int64
	turns   atomic.Int64
	done    chan struct{}
	aborted atomic.Bool
	onTurn  func()
}

func newCounter(n int64) *counter {
	c := &counter{done: make(chan struct{})}
	c.left.Store(n)
	return c
}

func (c *counter) Run(budget int) bool {
	c.turns.Add(1)
	if c.onTurn != nil {
		c.onTurn()
	}
	for i := 0; i < budget; i++ {
		if c.left.Add(-1) == 0 {
			close(c.done)
			return false
		}
	}
	return true
}

func (c *counter) Abort() { c.aborted.Store(true) }

// funcRunner runs f once per turn.
type funcRunner func()

func (f funcRunner) Run(int) bool { f(); return false }
func (f funcRunner) Abort()       {}

// state reads the scheduler's counts under its lock.
func (s *Scheduler) state() (loops, blocked int, watching bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loops, s.blocked, s.watching
}

// noteMax raises m to v if v is larger.
func noteMax(m *atomic.Int64, v int) {
	for {
		old := m.Load()
		if int64(v) <= old || m.CompareAndSwap(old, int64(v)) {
			return
		}
	}
}

// withFreeProcs makes the watchdog read f as the runtime's idle Ps.
func withFreeProcs(f func() int) Option {
	return optionFunc(func(c *config) { c.hooks.freeProcs = f })
}
