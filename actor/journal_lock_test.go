package actor

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
)

// stamped is an item whose fields must agree: a reader that saw one
// half-written (a torn read) would find them apart.
type stamped struct {
	p, i, sum int
}

// Producers that find the lock held park on it and are woken one after
// another: with the lock held until every producer has parked, each Send
// after it contends, and none is left parked (synctest fails a test whose
// goroutines all wait for a wake-up that never comes). Every item is kept
// once, each producer's in its order.
func TestJournalLockParks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const producers, each = 8, 200
		j := testJournal[stamped](t, WithJournal(producers*each, 1<<30))
		j.lockP()
		var wg sync.WaitGroup
		for p := range producers {
			wg.Go(func() {
				for i := range each {
					if err := j.out.Send(stamped{p, i, p + i}); err != nil {
						t.Errorf("Send: %v", err)
						return
					}
				}
			})
		}
		for j.pwait.Load() < producers {
			runtime.Gosched()
		}
		j.unlockP()
		wg.Wait()
		last := make([]int, producers)
		for i, it := range kept(t, j) {
			if it.p+it.i != it.sum || it.i != last[it.p] {
				t.Fatalf("item %d = %+v; want producer %d's item %d", i, it, it.p, last[it.p])
			}
			last[it.p]++
		}
		for p, n := range last {
			if n != each {
				t.Fatalf("producer %d: %d items kept; want %d", p, n, each)
			}
		}
	})
}

// A reader that has read everything parks; each Send, from Send,
// SendWait or a producer woken from the lock, wakes it: it reads every
// item although it parks before each one.
func TestJournalWakesParkedReader(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := testJournal[int](t, WithJournal(4, 1<<20))
		r := j.newFollow(context.Background(), followConfig{})
		got := make(chan uint64)
		go func() {
			for it, err := range r.All() {
				if err != nil {
					return
				}
				got <- it.Seq
			}
			close(got)
		}()
		sends := []func(int) error{
			j.out.Send,
			func(v int) error { return j.out.SendWait(context.Background(), v) },
			func(v int) error { // a producer that parks on the lock first
				j.lockP()
				done := make(chan error)
				go func() { done <- j.out.Send(v) }()
				for j.pwait.Load() == 0 {
					runtime.Gosched()
				}
				j.unlockP()
				return <-done
			},
		}
		for i := range 30 {
			synctest.Wait() // the reader has parked
			j.mu.Lock()
			parked := r.waiting
			j.mu.Unlock()
			if !parked {
				t.Fatalf("item %d: the reader is not parked", i)
			}
			if err := sends[i%len(sends)](i); err != nil {
				t.Fatal(err)
			}
			if s := <-got; s != uint64(i) {
				t.Fatalf("read seq %d; want %d", s, i)
			}
		}
		_ = j.out.Close(nil)
		if _, ok := <-got; ok {
			t.Fatal("read past the end")
		}
	})
}

// Concurrent producers and readers of a small journal: each reader reads
// a gapless run of items, none torn, each producer's in its order (the
// race detector checks that no slot is written while it is read).
func TestJournalConcurrent(t *testing.T) {
	const producers, each, readers = 4, 2000, 3
	j := testJournal[stamped](t, WithJournal(16, 1<<30))
	var wg sync.WaitGroup
	for range readers {
		r := j.newFollow(context.Background(), followConfig{})
		wg.Go(func() {
			last := make([]int, producers)
			next := uint64(0)
			for it, err := range r.All() {
				if err != nil {
					t.Errorf("read: %v", err)
					return
				}
				v := it.V
				if it.Seq != next || v.p+v.i != v.sum || v.i != last[v.p] {
					t.Errorf("seq %d = %+v; want seq %d, producer %d's item %d", it.Seq, v, next, v.p, last[v.p])
					return
				}
				next++
				last[v.p]++
			}
			if next != producers*each {
				t.Errorf("read %d items; want %d", next, producers*each)
			}
		})
	}
	var pw sync.WaitGroup
	for p := range producers {
		pw.Go(func() {
			for i := range each {
				if err := j.out.SendWait(context.Background(), stamped{p, i, p + i}); err != nil {
					t.Errorf("SendWait: %v", err)
					return
				}
			}
		})
	}
	pw.Wait()
	_ = j.out.Close(nil)
	wg.Wait()
}
