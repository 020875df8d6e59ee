package mailbox

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestCloseUnderPushes: producers push until they get ErrClosed while the
// consumer pops, then closes the mailbox: every accepted message is either
// popped or returned by Close, exactly once and in its producer's order,
// and every Push after Close returns ErrClosed. In an unbounded mailbox
// Close seals the lane under pushes that have reserved a position but not
// yet written it: it must wait for them.
func TestCloseUnderPushes(t *testing.T) {
	for _, capacity := range []int{0, 1 << 20} {
		t.Run(fmt.Sprintf("capacity %d", capacity), func(t *testing.T) {
			for range 20 {
				closeUnderPushes(t, capacity)
			}
		})
	}
}

func closeUnderPushes(t *testing.T, capacity int) {
	const producers = 8
	m := newTest(t, Config[msg]{Capacity: capacity})
	accepted := make([]int, producers) // messages 0 to accepted-1 went in
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := 0; ; i++ {
				_, err := m.Push(context.Background(), msg{key: Key(p), id: i})
				if errors.Is(err, ErrClosed) {
					accepted[p] = i
					return
				}
				if err != nil {
					t.Errorf("Push: %v", err)
					return
				}
			}
		})
	}
	next := make([]int, producers)
	check := func(v msg, from string) {
		if v.id != next[v.key] {
			t.Fatalf("%s: producer %d's message %d; want %d", from, v.key, v.id, next[v.key])
		}
		next[v.key]++
	}
	for n := 0; n < 3000; {
		if v, _, ok := m.Pop(); ok {
			check(v, "Pop")
			n++
		}
	}
	for _, v := range m.Close() {
		check(v, "Close")
	}
	wg.Wait()
	for p := range producers {
		if next[p] != accepted[p] {
			t.Fatalf("producer %d: %d messages accepted, %d popped or returned by Close", p, accepted[p], next[p])
		}
	}
	if _, _, ok := m.Pop(); ok {
		t.Fatal("Pop after Close found a message")
	}
}

// TestLaneLenAcrossBlocks: Len and Backlog count messages, not positions
// (each block's last position is a marker), across many blocks, and
// steady traffic recycles the lane's blocks: no allocation per message.
func TestLaneLenAcrossBlocks(t *testing.T) {
	m := newTest(t, Config[msg]{})
	ctx := context.Background()
	pushed, popped := 0, 0
	for round := range 7 {
		for range laneBlockN + round*11 {
			if _, err := m.Push(ctx, msg{id: pushed}); err != nil {
				t.Fatal(err)
			}
			pushed++
		}
		if got := m.Len(); got != pushed-popped {
			t.Fatalf("round %d: Len = %d after %d pushed, %d popped", round, got, pushed, popped)
		}
		for range laneBlockN - 5 {
			v, _, ok := m.Pop()
			if !ok || v.id != popped {
				t.Fatalf("round %d: Pop = %v, %v; want message %d", round, v, ok, popped)
			}
			popped++
		}
		if got, want := m.Len(), pushed-popped; got != want {
			t.Fatalf("round %d: Len = %d; want %d", round, got, want)
		}
	}
	for range pushed - popped {
		if _, _, ok := m.Pop(); !ok {
			t.Fatal("Pop found nothing before the end")
		}
	}
	if m.Len() != 0 || m.Backlog() != 0 {
		t.Fatalf("drained: Len %d, Backlog %d; want 0, 0", m.Len(), m.Backlog())
	}
	// testing.AllocsPerRun rounds down: one block per 63 messages would
	// pass it.
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 20 * laneBlockN {
		_, _ = m.Push(ctx, msg{})
		m.Pop()
	}
	runtime.ReadMemStats(&after)
	if n := after.Mallocs - before.Mallocs; n > 2 {
		t.Fatalf("steady push and pop of %d messages: %d allocations; want none (blocks recycled)", 20*laneBlockN, n)
	}
}

// TestLaneBurstsReuseBlocks: a backlog that comes and goes (20 blocks'
// worth, pushed then popped, again and again) allocates its blocks once:
// the lane keeps the blocks read through for the next installs.
func TestLaneBurstsReuseBlocks(t *testing.T) {
	m := newTest(t, Config[msg]{})
	ctx := context.Background()
	const burst = 20 * laneBlockN
	round := func() {
		for i := range burst {
			if _, err := m.Push(ctx, msg{id: i}); err != nil {
				t.Fatal(err)
			}
		}
		for i := range burst {
			if v, _, ok := m.Pop(); !ok || v.id != i {
				t.Fatalf("Pop = %v, %v; want message %d", v, ok, i)
			}
		}
	}
	round()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 5 {
		round()
	}
	runtime.ReadMemStats(&after)
	if n := after.Mallocs - before.Mallocs; n > 2 {
		t.Fatalf("5 more bursts of %d messages: %d allocations; want none (blocks reused)", burst, n)
	}
}

// TestLaneDrainWaitsForReserved: Close's drain of a sealed lane waits for
// a position a producer reserved before the seal but has not written yet
// (the producer is between its compare-and-swap and its write), and
// returns its message.
func TestLaneDrainWaitsForReserved(t *testing.T) {
	var l lane[int]
	l.push(1)
	// Reserve position 1 as push does, without writing it yet.
	b := l.first.Load()
	if !l.tail.CompareAndSwap(1<<laneShift, 2<<laneShift) {
		t.Fatal("could not reserve position 1")
	}
	got := make(chan []int)
	go func() {
		var out []int
		l.drain(l.seal(), func(v int) { out = append(out, v) })
		got <- out
	}()
	select {
	case out := <-got:
		t.Fatalf("drain returned %v before the reserved position was written", out)
	case <-time.After(10 * time.Millisecond):
	}
	b.slots[1].msg = 2
	b.slots[1].tag.Store(2)
	if out := <-got; !slices.Equal(out, []int{1, 2}) {
		t.Fatalf("drain = %v; want [1 2]", out)
	}
	if l.push(3) == 0 {
		t.Fatal("push into a sealed lane succeeded")
	}
}
