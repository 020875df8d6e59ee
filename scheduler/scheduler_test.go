package scheduler

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestOptionsValidated(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  Option
	}{
		{"throughput 0", WithThroughput(0)},
		{"throughput -1", WithThroughput(-1)},
		{"pool size 0", WithPoolSize(0)},
		{"pool size -2", WithPoolSize(-2)},
		{"max extra -1", WithMaxExtra(-1)},
		{"nil option", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.opt); !errors.Is(err, ErrInvalidOption) {
				t.Errorf("New = %v; want ErrInvalidOption", err)
			}
		})
	}
	newSched(t, WithMaxExtra(0)) // 0 is valid: no watchdog
}

// A turn processes at most the budget, then the task is resubmitted.
func TestBudgetSplitsTurns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, WithThroughput(10))
		c := newCounter(100)
		schedule(t, s, c)
		<-c.done
		if got := c.turns.Load(); got != 10 {
			t.Fatalf("turns = %d; want 10 (100 messages / budget 10)", got)
		}
	})
}

// Fairness: a flooded runner does not starve another on a one-loop pool:
// the run queue is FIFO, so their turns alternate.
func TestFairness(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, WithThroughput(1), WithPoolSize(1))
		flood := newCounter(1000)
		small := newCounter(3)
		var floodAtSmallEnd atomic.Int64
		small.onTurn = func() {
			if small.turns.Load() == 3 {
				floodAtSmallEnd.Store(flood.turns.Load())
			}
		}
		// Queue both from a turn, so that the one loop takes neither
		// before both wait (the test goroutine may not run again before
		// flood ends, with GOMAXPROCS=1).
		schedule(t, s, funcRunner(func() {
			for _, r := range []Runner{flood, small} {
				if err := s.Schedule(s.NewTask(r)); err != nil {
					t.Error(err)
				}
			}
		}))
		<-small.done
		<-flood.done
		if got := floodAtSmallEnd.Load(); got > 4 {
			t.Fatalf("flooded runner had %d turns before the small one's 3rd; want <= 4 (turns alternate)", got)
		}
	})
}

// Loops blocked in turns (without Block) do not starve the others: the
// watchdog starts more loops, beyond the pool's size if it must (they run
// on goroutines of ours), and Schedule never blocks.
func TestSpillWhenPoolFull(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, WithPoolSize(2), withIdleProcs())
		release, open := newGate(t)
		var blocked sync.WaitGroup
		for range 8 {
			blocked.Add(1)
			schedule(t, s, funcRunner(func() { blocked.Done(); <-release }))
		}
		blocked.Wait() // all 8 run at once on a pool of 2
		free := newCounter(1)
		schedule(t, s, free)
		<-free.done
		open()
	})
}

func TestShutdownWaitsAndRefuses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		release, open := newGate(t)
		c := newCounter(1)
		started := make(chan struct{})
		c.onTurn = func() { close(started); <-release }
		schedule(t, s, c)
		<-started
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		defer cancel()
		if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Shutdown with a stuck turn = %v; want DeadlineExceeded", err)
		}
		if err := s.Schedule(s.NewTask(newCounter(1))); !errors.Is(err, ErrClosed) {
			t.Fatalf("Schedule after Shutdown = %v; want ErrClosed", err)
		}
		open()
		<-c.done
		s.Close() // idempotent, waits for the loops
		if err := s.Shutdown(context.Background()); err != nil {
			t.Fatalf("second Shutdown = %v; want nil", err)
		}
	})
}

// A runner with more work when the scheduler closes is aborted, not lost.
func TestAbortOnClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, WithThroughput(1))
		c := newCounter(1 << 40)
		gate := make(chan struct{})
		var once sync.Once
		c.onTurn = func() { once.Do(func() { <-gate }) }
		schedule(t, s, c)
		go func() { time.Sleep(10 * time.Millisecond); close(gate) }()
		s.Close()
		if !c.aborted.Load() {
			t.Fatal("runner with pending work was not aborted on close")
		}
	})
}

// Turns scheduled while a loop spins are left to that loop (Schedule wakes
// nobody), so the loop that takes the first must see the others taken:
// here the first blocks until the second has run, which deadlocks unless
// another loop is woken or started for it.
func TestSpinningLoopHandsOnTheRest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bRan := make(chan struct{})
		aDone := make(chan struct{})
		giveUp := make(chan struct{}) // on failure, so that Close returns
		var once sync.Once
		var s *Scheduler
		s = newSched(t, withSpinHook(func() {
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
		}))
		first := make(chan struct{})
		schedule(t, s, funcRunner(func() { close(first) }))
		<-first
		select {
		case <-aDone:
		case <-time.After(10 * time.Second):
			close(giveUp)
			t.Fatal("the second turn was never taken: the first blocks for good")
		}
	})
}

func BenchmarkSchedule(b *testing.B) {
	s, err := New()
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.ReportAllocs()
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

// Schedule refuses a task that is nil, unbound (a zero Task), bound to
// another scheduler or bound with a nil Runner with ErrInvalidTask, and the turns queued around it
// all run. A nil task was queued: the loop that took it with a batch
// stopped at it and unlisted the batch, so the turns behind it were never
// run nor aborted (overwritten by its next batch, or left at its exit).
func TestScheduleInvalidTask(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, WithPoolSize(1), WithMaxExtra(0))
		other := newSched(t)
		for _, tc := range []struct {
			name string
			task *Task
		}{
			{"nil", nil},
			{"zero", new(Task)},
			{"other scheduler's", other.NewTask(funcRunner(func() {}))},
			{"nil runner's", s.NewTask(nil)},
		} {
			first, _ := occupy(t, s)        // the turns below wait in the run queue
			before := scheduleMany(t, s, 2) // the loop takes the task in its batch, with one behind
			err := s.Schedule(tc.task)
			if !errors.Is(err, ErrInvalidTask) {
				t.Errorf("Schedule(%s task) = %v; want ErrInvalidTask", tc.name, err)
			}
			after := scheduleMany(t, s, 4)
			close(first)
			synctest.Wait()
			for _, ran := range []<-chan struct{}{before, after} {
				select {
				case <-ran:
				default:
					t.Errorf("turns queued around a %s task never ran", tc.name)
				}
			}
		}
	})
}
