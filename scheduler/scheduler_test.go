package scheduler

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, goleak.IgnoreCurrent()) }

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

func TestOptionsValidated(t *testing.T) {
	for _, opt := range []Option{WithThroughput(0), WithThroughput(-1), WithPoolSize(0), WithPoolSize(-2)} {
		if _, err := New(opt); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("New(%v) = %v; want ErrInvalidOption", opt, err)
		}
	}
}

// A turn processes at most the budget, then the task is resubmitted.
func TestBudgetSplitsTurns(t *testing.T) {
	s, err := New(WithThroughput(10))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := newCounter(100)
	if err := s.Schedule(s.NewTask(c)); err != nil {
		t.Fatal(err)
	}
	<-c.done
	if got := c.turns.Load(); got != 10 {
		t.Fatalf("turns = %d; want 10 (100 messages / budget 10)", got)
	}
}

// Fairness: a flooded runner does not starve another on a one-worker pool.
func TestFairness(t *testing.T) {
	s, err := New(WithThroughput(1), WithPoolSize(1))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	flood := newCounter(1 << 40)
	stop := make(chan struct{})
	flood.onTurn = func() {
		select {
		case <-stop:
			flood.left.Store(1)
		default:
		}
	}
	small := newCounter(3)
	if err := s.Schedule(s.NewTask(flood)); err != nil {
		t.Fatal(err)
	}
	if err := s.Schedule(s.NewTask(small)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-small.done:
	case <-time.After(30 * time.Second):
		t.Fatal("small runner starved by the flooded one")
	}
	close(stop)
	<-flood.done
}

// Loops blocked in turns do not starve the others: the watchdog starts
// more loops, beyond the pool's size if it must (they run on goroutines of
// ours), and Schedule never blocks.
func TestSpillWhenPoolFull(t *testing.T) {
	s, err := New(WithPoolSize(2))
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var blocked sync.WaitGroup
	for i := 0; i < 8; i++ {
		c := newCounter(1)
		blocked.Add(1)
		c.onTurn = func() { blocked.Done(); <-release }
		if err := s.Schedule(s.NewTask(c)); err != nil {
			t.Fatal(err)
		}
	}
	blocked.Wait() // all 8 run at once on a pool of 2
	free := newCounter(1)
	if err := s.Schedule(s.NewTask(free)); err != nil {
		t.Fatal(err)
	}
	<-free.done
	close(release)
	s.Close()
}

func TestShutdownWaitsAndRefuses(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	c := newCounter(1)
	started := make(chan struct{})
	c.onTurn = func() { close(started); <-release }
	if err := s.Schedule(s.NewTask(c)); err != nil {
		t.Fatal(err)
	}
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown with a stuck turn = %v; want DeadlineExceeded", err)
	}
	if err := s.Schedule(s.NewTask(newCounter(1))); !errors.Is(err, ErrClosed) {
		t.Fatalf("Schedule after Shutdown = %v; want ErrClosed", err)
	}
	close(release)
	<-c.done
	s.Close() // idempotent, waits for the pool's goroutines
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatalf("second Shutdown = %v", err)
	}
}

// A runner with more work when the scheduler closes is aborted, not lost.
func TestAbortOnClose(t *testing.T) {
	s, err := New(WithThroughput(1))
	if err != nil {
		t.Fatal(err)
	}
	c := newCounter(1 << 40)
	gate := make(chan struct{})
	var once sync.Once
	c.onTurn = func() { once.Do(func() { <-gate }) }
	if err := s.Schedule(s.NewTask(c)); err != nil {
		t.Fatal(err)
	}
	go func() { time.Sleep(10 * time.Millisecond); close(gate) }()
	s.Close()
	if !c.aborted.Load() {
		t.Fatal("runner with pending work was not aborted on close")
	}
}

func BenchmarkSchedule(b *testing.B) {
	s, err := New()
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.ReportAllocs()
	c := newCounter(1 << 62)
	c.done = make(chan struct{})
	one := &oneShot{ch: make(chan struct{}, 1)}
	task := s.NewTask(one)
	for b.Loop() {
		_ = s.Schedule(task)
		<-one.ch
	}
}

type oneShot struct{ ch chan struct{} }

func (o *oneShot) Run(int) bool { o.ch <- struct{}{}; return false }
func (o *oneShot) Abort()       {}

// funcRunner runs f once per turn.
type funcRunner func()

func (f funcRunner) Run(int) bool { f(); return false }
func (f funcRunner) Abort()       {}

// Turns scheduled while a loop spins are left to that loop (Schedule wakes
// nobody), so the loop that takes the first must see the others taken:
// here the first blocks until the second has run, which deadlocks unless
// another loop is woken or started for it.
func TestSpinningLoopHandsOnTheRest(t *testing.T) {
	s, err := New()
	if err != nil {
		t.Fatal(err)
	}
	bRan := make(chan struct{})
	aDone := make(chan struct{})
	giveUp := make(chan struct{}) // on failure, so that Close returns
	var once sync.Once
	spinHook = func() {
		once.Do(func() {
			a := funcRunner(func() {
				select {
				case <-bRan:
					close(aDone)
				case <-giveUp:
				}
			})
			b := funcRunner(func() { close(bRan) })
			if err := s.Schedule(s.NewTask(a)); err != nil {
				t.Error(err)
			}
			if err := s.Schedule(s.NewTask(b)); err != nil {
				t.Error(err)
			}
		})
	}
	defer func() {
		s.Close() // the loops are gone: the hook can go
		spinHook = nil
	}()
	first := make(chan struct{})
	if err := s.Schedule(s.NewTask(funcRunner(func() { close(first) }))); err != nil {
		t.Fatal(err)
	}
	<-first
	select {
	case <-aDone:
	case <-time.After(10 * time.Second):
		close(giveUp)
		t.Fatal("the second turn was never taken: the first blocks for good")
	}
}
