package scheduler

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// A loop takes a batch of turns with the one it runs (local.go). If that
// turn then waits without Block (I/O, a sleep), the batch must not wait
// with it: the loop the watchdog starts runs what is queued, then steals
// the batch. Without the steal the batch's turns wait for the stuck one.
func TestStuckLoopsBatchIsStolen(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, WithPoolSize(1), withIdleProcs())
		release, open := newGate(t)
		first, _ := occupy(t, s)
		// Queued behind the one loop's turn: a turn that gets stuck, then
		// nine that must run meanwhile.
		held := make(chan int, 1)
		schedule(t, s, funcRunner(func() {
			s.mu.Lock()
			held <- s.heldLocked()
			s.mu.Unlock()
			<-release
		}))
		ran := scheduleMany(t, s, 9)
		close(first)
		if n := <-held; n != 4 {
			t.Errorf("the stuck turn's loop holds %d turns; want 4 (half of the 9 queued behind it)", n)
		}
		waitFor(t, ran, "the turns queued and held behind a stuck one")
		open()
	})
}

// With every loop stuck and nothing left in the run queue, turns held in
// a stuck loop's batch are still waiting ones: the watchdog starts a loop
// for them. Without counting them it would stop watching.
func TestHeldTurnsCountForTheWatchdog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, WithPoolSize(2), withIdleProcs())
		release, open := newGate(t)
		first, _ := occupy(t, s)
		second, _ := occupy(t, s)
		stuck1 := make(chan struct{})
		schedule(t, s, funcRunner(func() { close(stuck1); <-release }))
		ran := scheduleMany(t, s, 1)
		stuck2 := make(chan struct{})
		schedule(t, s, funcRunner(func() { close(stuck2); <-release }))
		close(first) // its loop takes stuck1 and holds the quick turn
		<-stuck1
		close(second) // the other takes stuck2: the run queue is empty
		<-stuck2
		waitFor(t, ran, "a turn held by a stuck loop while the other is stuck too")
		open()
	})
}

// Turns held in a batch are still run after Close is called, as queued
// ones are; none is lost.
func TestCloseRunsHeldTurns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, WithPoolSize(1), WithMaxExtra(0))
		first, _ := occupy(t, s)
		ran := scheduleMany(t, s, 40)
		close(first)
		s.Close()
		waitFor(t, ran, "turns queued before Close")
	})
}

// occupy keeps a loop busy with a turn until the returned channel is
// closed; running is closed once the turn runs.
func occupy(t *testing.T, s *Scheduler) (release chan struct{}, running chan struct{}) {
	t.Helper()
	release, running = make(chan struct{}), make(chan struct{})
	schedule(t, s, funcRunner(func() { close(running); <-release }))
	<-running
	return release, running
}

// scheduleMany schedules n quick turns; the channel closes once all ran.
func scheduleMany(t *testing.T, s *Scheduler, n int) <-chan struct{} {
	t.Helper()
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		schedule(t, s, funcRunner(wg.Done))
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	return done
}

// waitFor fails t if done is not closed within a minute of the bubble's
// time (the watchdog's timer keeps it from ever deadlocking).
func waitFor(t *testing.T, done <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatalf("%s never ran", what)
	}
}

// A handler that blocks in a call (Block) while its loop holds a batch,
// with the run queue empty, gets a replacement loop at once that steals
// the batch. Without the watchdog (cap 0) nothing else would take it:
// fails if Block looks at the run queue alone.
func TestBlockKicksForHeldTurns(t *testing.T) {
	procs(t, 2) // two base loops
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, WithPoolSize(2), WithMaxExtra(0))
		release, open := newGate(t)
		first, _ := occupy(t, s)
		second, _ := occupy(t, s)
		var ran <-chan struct{}
		stuckRunning := make(chan struct{})
		schedule(t, s, funcRunner(func() {
			close(second) // the other loop takes the stuck turn: the run queue empties
			<-stuckRunning
			s.Block()
			defer s.Unblock()
			select { // t.Fatal is for the test's goroutine
			case <-ran:
			case <-time.After(time.Minute):
				t.Error("a turn held by a loop whose handler blocked never ran")
			}
		}))
		ran = scheduleMany(t, s, 1) // held with the blocking turn
		schedule(t, s, funcRunner(func() { close(stuckRunning); <-release }))
		close(first)
		<-stuckRunning
		synctest.Wait()
		select { // before the stuck turn is released: its loop could steal then
		case <-ran:
		default:
			t.Error("the held turn did not run while its loop's handler was blocked")
		}
		open()
	})
}

// A batch is unlisted once its loop has run it, so that Block, the
// watchdog and idle loops scan only the batches in flight: here the one
// loop runs a batch, then blocks with nothing held.
func TestRunBatchUnlisted(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, WithPoolSize(1), WithMaxExtra(0))
		release, open := newGate(t)
		first, _ := occupy(t, s)
		ran := scheduleMany(t, s, 4) // the loop holds two of them
		schedule(t, s, funcRunner(func() { s.Block(); <-release; s.Unblock() }))
		close(first)
		<-ran
		synctest.Wait()
		s.mu.Lock()
		listed := len(s.locals)
		s.mu.Unlock()
		if listed != 0 {
			t.Errorf("%d batches listed with the only loop blocked and nothing held; want 0", listed)
		}
		open()
	})
}

// A turn that panics past its runner ends its loop: the turns that loop
// held in its batch still run, none is lost, and the panic reaches the
// handler. The dead loop gives its batch back at once (stealing would
// also recover it, but late, with the batch still listed): the one loop
// left never sees another batch listed beside its own.
func TestPanickedLoopLosesNoHeldTurn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		panics := make(chan any, 1)
		s := newSched(t, WithPoolSize(1), WithMaxExtra(0), WithPanicHandler(func(v any) { panics <- v }))
		first, _ := occupy(t, s)
		schedule(t, s, funcRunner(func() { panic("turn") }))
		var wg sync.WaitGroup
		listed := 0   // the most batches listed, seen from the quick turns
		for range 9 { // the loop holds four of them when it panics
			wg.Add(1)
			schedule(t, s, funcRunner(func() {
				s.mu.Lock()
				listed = max(listed, len(s.locals))
				s.mu.Unlock()
				wg.Done()
			}))
		}
		ran := make(chan struct{})
		go func() { wg.Wait(); close(ran) }()
		close(first)
		waitFor(t, ran, "turns held by a loop whose turn panicked")
		if v := <-panics; v != "turn" {
			t.Errorf("panic handler got %v; want the turn's panic", v)
		}
		if listed > 1 {
			t.Errorf("%d batches listed with one loop running; want the dead loop's given back", listed)
		}
	})
}

// A turn that panics past its runner after Shutdown began: the turns
// queued behind it still run, as Shutdown promises for queued turns.
// The dead loop was the only one and did not replace itself once the
// scheduler was closed, so Shutdown returned with them never run nor
// aborted (their actors' messages stranded).
func TestPanickedLoopAfterCloseLosesNoQueuedTurn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, WithPoolSize(1), WithMaxExtra(0), WithPanicHandler(func(any) {}))
		release := make(chan struct{})
		running := make(chan struct{})
		schedule(t, s, funcRunner(func() { close(running); <-release; panic("turn") }))
		<-running
		ran := scheduleMany(t, s, 3)
		stopped := make(chan error)
		go func() { stopped <- s.Shutdown(context.Background()) }()
		synctest.Wait() // Shutdown has closed the scheduler and waits
		close(release)
		if err := <-stopped; err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		synctest.Wait() // ran is closed by a goroutine of its own once the turns are done
		select {
		case <-ran:
		default:
			t.Fatal("Shutdown returned nil with turns queued before it never run")
		}
	})
}

// Without WithPanicHandler, a panic that escapes a turn is not dropped:
// its value and stack go to standard error (testHooks.panicOut here). It
// was recovered and discarded, silently.
func TestPanicWithoutHandlerReported(t *testing.T) {
	var out strings.Builder
	s, err := New(WithPoolSize(1), optionFunc(func(c *config) { c.hooks.panicOut = &out }))
	if err != nil {
		t.Fatal(err)
	}
	schedule(t, s, funcRunner(func() { panic("lost turn") }))
	s.Close()
	if got := out.String(); !strings.Contains(got, "lost turn") || !strings.Contains(got, "TestPanicWithoutHandlerReported") {
		t.Fatalf("standard error got %q; want the panic's value and its stack", got)
	}
}

// A loop that wakes from its spin (or park) to take the last queued turn
// must see turns another loop took into its batch meanwhile: the
// Schedules that queued them left them to the spinning loop (waking or
// arming nothing), and the loop that filled its batch did not spin, so
// it kicks nobody either. Here both loops then get stuck: the held turn
// must still run (the watchdog starts a loop that steals it). Without
// the kick nothing is armed and it waits for a stuck turn to end.
func TestWokenLoopKicksForHeldTurns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		spun := make(chan struct{})
		resume := make(chan struct{})
		var once sync.Once
		s := newSched(t, WithPoolSize(2), withIdleProcs(), withSpinHook(func() {
			once.Do(func() { close(spun); <-resume })
		}))
		release, open := newGate(t)
		first, _ := occupy(t, s)              // loop A
		schedule(t, s, funcRunner(func() {})) // loop B runs it, then spins
		<-spun
		stuck1 := make(chan struct{})
		schedule(t, s, funcRunner(func() { close(stuck1); <-release }))
		ran := scheduleMany(t, s, 1) // A holds it with stuck1
		stuck2 := make(chan struct{})
		schedule(t, s, funcRunner(func() { close(stuck2); <-release }))
		close(first) // A takes stuck1 and holds the quick turn; no spin, no kick
		<-stuck1
		close(resume) // B takes stuck2, the last queued: the run queue is empty
		<-stuck2
		waitFor(t, ran, "a turn held by a stuck loop, taken while another loop spun")
		open()
	})
}

// A turn held in the batch of a loop stuck in a handler must not wait for
// the run queue to empty: here the other loop is kept busy by an actor
// that always has more (each of its turns waits a little, so turns keep
// completing), and the run queue never empties, so it never steals. The
// watchdog, seeing turns complete, started no loop and did nothing else:
// the held turn waited as long as the flood lasted, though a loop kept
// taking turns queued after it.
func TestFloodDoesNotHideHeldTurns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, WithPoolSize(2), withIdleProcs())
		release, open := newGate(t)
		var stop atomic.Bool
		t.Cleanup(func() { stop.Store(true) })
		first, _ := occupy(t, s)
		second, _ := occupy(t, s)
		stuck := make(chan struct{})
		schedule(t, s, funcRunner(func() { close(stuck); <-release }))
		ran := scheduleMany(t, s, 1) // held with the stuck turn
		schedule(t, s, moreRunner(func() bool {
			time.Sleep(stallCheck / 4)
			return !stop.Load()
		}))
		close(first) // its loop takes the stuck turn and holds the quick one
		<-stuck
		close(second) // the other loop runs the flood
		select {
		case <-ran:
		case <-time.After(time.Second):
			t.Error("a turn held by a stuck loop waited a second (4,000 turns of another actor) and never ran")
		}
		stop.Store(true)
		open()
	})
}

// moreRunner runs f once per turn; f reports whether there is more.
type moreRunner func() bool

func (f moreRunner) Run(int) bool { return f() }
func (f moreRunner) Abort()       {}

// A turn that panics past its runner, with the run queue empty and another
// loop stuck in a handler holding a turn in its batch: had the turn
// returned, its loop would have stolen the held turn; the dead loop must
// see it waiting too and replace itself. It restarted only for turns in
// the run queue (and only with no loop parked), so here, with the
// watchdog off, the held turn waited for the stuck one.
func TestPanickedLoopReplacedForHeldTurns(t *testing.T) {
	procs(t, 2) // two base loops
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, WithPoolSize(2), WithMaxExtra(0), WithPanicHandler(func(any) {}))
		release, open := newGate(t)
		first, _ := occupy(t, s)  // loop A
		second, _ := occupy(t, s) // loop B
		stuck := make(chan struct{})
		schedule(t, s, funcRunner(func() { close(stuck); <-release }))
		ran := scheduleMany(t, s, 1) // A holds it with the stuck turn
		schedule(t, s, funcRunner(func() { panic("turn") }))
		close(first) // A takes the stuck turn and holds the quick one
		<-stuck
		close(second) // B takes the panicking turn, the last queued
		waitFor(t, ran, "a turn held by a stuck loop when the other loop's turn panicked")
		open()
	})
}
