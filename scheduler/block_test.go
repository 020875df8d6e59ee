package scheduler

import (
	"runtime"
	"testing"
	"testing/synctest"
	"time"
)

// A handler blocked between Block and Unblock never starves the pool: with
// 8 such handlers on a pool of 2, another turn still runs, and at once:
// Block started a replacement loop each time, so no stall check was needed
// (the fake clock has not moved). Without Block (the old scheduler, or
// Block doing nothing) the free turn waits for the watchdog's first check,
// a stallCheck later, and the clock reads 1ms.
func TestBlockedHandlerNeverStarvesPool(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, WithPoolSize(2))
		start := time.Now()
		release, open := newGate(t)
		for range 8 {
			schedule(t, s, funcRunner(func() {
				s.Block()
				<-release
				s.Unblock()
			}))
		}
		synctest.Wait() // all 8 in Block, waiting for release
		if _, blocked, _ := s.state(); blocked != 8 {
			t.Fatalf("blocked = %d; want 8", blocked)
		}
		free := make(chan struct{})
		schedule(t, s, funcRunner(func() { close(free) }))
		<-free
		if d := time.Since(start); d != 0 {
			t.Fatalf("free turn ran after %v; want 0 (no stall check)", d)
		}
		if loops, _, _ := s.state(); loops > s.base+8 {
			t.Errorf("loops = %d; want <= %d (base + one per blocked handler)", loops, s.base+8)
		}

		// Unblocked, the replacements are surplus: they exit once idle.
		open()
		synctest.Wait()
		if loops, blocked, _ := s.state(); loops != s.base || blocked != 0 {
			t.Errorf("after Unblock: loops, blocked = %d, %d; want %d, 0", loops, blocked, s.base)
		}
	})
}

// Once handlers leave Block, loops outside Block beyond base+maxExtra exit
// at the end of their turn, even while the queue stays busy. Without that
// trim (loops exiting only when idle) the 8 stay until the queue empties.
func TestUnblockedSurplusExitsAfterTurn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t, WithPoolSize(1), WithMaxExtra(0)) // base 1, no watchdog
		release, open := newGate(t)
		for range 8 {
			schedule(t, s, funcRunner(func() {
				s.Block()
				<-release
				s.Unblock()
			}))
		}
		synctest.Wait()
		// The 8th Block found the queue empty: it started no loop.
		if loops, _, _ := s.state(); loops != 8 {
			t.Errorf("loops = %d; want 8 (base 1 + 7 replacements)", loops)
		}
		// Loops list their batches only while they hold one (local.go):
		// with every loop blocked and nothing held, Block's scan visits
		// nothing.
		s.mu.Lock()
		listed, held := len(s.locals), s.heldLocked()
		s.mu.Unlock()
		if listed != 0 || held != 0 {
			t.Errorf("with every loop blocked and nothing held: %d batches listed, %d turns held; want 0, 0", listed, held)
		}
		// A queue that never empties: 16 runners that reschedule
		// themselves until stop, so no loop ever finds it empty.
		stop, stopBusy := newGate(t)
		var busy [16]*counter
		for i := range busy {
			c := newCounter(1 << 40)
			c.onTurn = func() {
				select {
				case <-stop:
					c.left.Store(1)
				default:
				}
			}
			busy[i] = c
			schedule(t, s, c)
		}
		open()
		// Every unblocked loop finishes its turn and, loops outside Block
		// exceeding base+0, exits.
		// The bound is generous: seven goroutines must each take the
		// scheduler's lock twice while the busy loops keep taking it, and
		// 1<<16 yields (about 10 ms) were not always enough.
		loops := 0
		for range 1 << 24 {
			if loops, _, _ = s.state(); loops == 1 {
				break
			}
			runtime.Gosched()
		}
		if loops != 1 {
			t.Errorf("loops = %d with the queue still busy; want 1 (base)", loops)
		}
		stopBusy()
		for _, c := range busy {
			<-c.done
		}
	})
}

func TestUnblockWithoutBlockPanics(t *testing.T) {
	s := newSched(t)
	defer func() {
		if v := recover(); v != "scheduler: Unblock without Block" {
			t.Fatalf("Unblock without Block: recovered %v; want the scheduler's panic", v)
		}
	}()
	s.Unblock()
}

// Block and Unblock allocate nothing when no loop must start.
func TestBlockAllocs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newSched(t)
		done := make(chan float64)
		schedule(t, s, funcRunner(func() {
			done <- testing.AllocsPerRun(100, func() { s.Block(); s.Unblock() })
		}))
		if got := <-done; got != 0 {
			t.Fatalf("Block+Unblock allocs = %v; want 0", got)
		}
	})
}

func BenchmarkBlockUnblock(b *testing.B) {
	s, err := New()
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.ReportAllocs()
	for b.Loop() { // outside a turn, with the queue empty: the bare cost
		s.Block()
		s.Unblock()
	}
}
