package mailbox

import (
	"context"
	"runtime"
	"sync"
	"testing"
)

// drain pops everything admitted and ends the turn.
func drain(t *testing.T, m *Mailbox[msg]) []msg {
	t.Helper()
	var out []msg
	for {
		v, _, ok := m.Pop()
		if !ok {
			if m.Idle() {
				return out
			}
			continue
		}
		out = append(out, v)
	}
}

func TestTrimFreesIdleQueues(t *testing.T) {
	m := newTest(t, Config[msg]{})
	for i := range 20 { // enough for a batch swap: the consumer's ring is made too
		mustPush(t, m, msg{id: i})
	}
	if got := len(drain(t, m)); got != 20 {
		t.Fatalf("drained %d; want 20", got)
	}
	if !m.Claim() {
		t.Fatal("Claim of an idle mailbox: got false")
	}
	if !m.Trim() {
		t.Fatal("Trim of an empty mailbox: got false; want true")
	}
	if m.q.Load() != nil {
		t.Fatal("Trim left the queues")
	}
	if m.Trim() {
		t.Fatal("second Trim: got true; want false (nothing to free)")
	}
	if !m.Idle() {
		t.Fatal("Idle after Trim: got false")
	}
	// The mailbox works as new.
	if s := mustPush(t, m, msg{id: 7}); !s {
		t.Fatal("first Push after Trim: got schedule false")
	}
	if got := drain(t, m); len(got) != 1 || got[0].id != 7 || m.Len() != 0 {
		t.Fatalf("after Trim: got %v, Len %d", got, m.Len())
	}
}

func TestTrimKeepsWhatIsInUse(t *testing.T) {
	t.Run("queued", func(t *testing.T) {
		m := newTest(t, Config[msg]{})
		mustPush(t, m, msg{id: 1})
		if m.Trim() {
			t.Fatal("Trim with a queued message: got true")
		}
		if got := drain(t, m); len(got) != 1 {
			t.Fatalf("got %v; want the queued message", got)
		}
	})
	t.Run("held and filtered", func(t *testing.T) {
		m := newTest(t, Config[msg]{})
		m.Admit(1)
		mustPush(t, m, msg{key: 2, id: 1})
		if _, _, ok := m.Pop(); ok {
			t.Fatal("Pop: got a message the filter holds")
		}
		if m.Trim() {
			t.Fatal("Trim with a held message: got true")
		}
		m.AdmitAll()
		if got := drain(t, m); len(got) != 1 {
			t.Fatalf("got %v; want the held message", got)
		}
		m.Claim()
		m.Admit(1)
		if m.Trim() {
			t.Fatal("Trim with a filter set: got true (the filter would be lost)")
		}
		m.Idle()
	})
	t.Run("closed", func(t *testing.T) {
		m := newTest(t, Config[msg]{})
		mustPush(t, m, msg{id: 1})
		m.Close()
		if m.Trim() {
			t.Fatal("Trim of a closed mailbox: got true")
		}
		if _, err := m.Push(context.Background(), msg{}); err != ErrClosed {
			t.Fatalf("Push after Close: got %v; want ErrClosed", err)
		}
	})
}

// TestTrimUnderPushes: producers push while the consumer drains and trims
// over and over; every message arrives once, in each producer's order.
// (Without the retired-queues check in lock, a producer that found the
// queues before a Trim pushed into queues nobody reads any more.)
func TestTrimUnderPushes(t *testing.T) {
	m := newTest(t, Config[msg]{})
	const producers, each = 4, 20000
	var wg sync.WaitGroup
	sched := make(chan struct{}, producers*each)
	for p := range producers {
		wg.Go(func() {
			for i := range each {
				s, err := m.Push(context.Background(), msg{key: Key(p), id: i})
				if err != nil {
					t.Error(err)
					return
				}
				if s {
					sched <- struct{}{}
				}
			}
		})
	}
	next := make([]int, producers)
	got, trims := 0, 0
	for got < producers*each {
		<-sched // we are the consumer
		for {
			v, _, ok := m.Pop()
			if !ok {
				if m.Trim() {
					trims++
				}
				if m.Idle() {
					break
				}
				continue
			}
			if v.id != next[v.key] {
				t.Fatalf("producer %d: got message %d; want %d", v.key, v.id, next[v.key])
			}
			next[v.key]++
			got++
		}
	}
	wg.Wait()
	if trims == 0 {
		t.Log("no Trim succeeded: the producers never let the mailbox empty")
	}
}

func TestTaken(t *testing.T) {
	m := newTest(t, Config[msg]{})
	for i := range 3 {
		mustPush(t, m, msg{id: i})
	}
	ch := m.Taken()
	select {
	case <-ch:
		t.Fatal("Taken closed before the consumer took anything")
	default:
	}
	if _, _, ok := m.Pop(); !ok { // takes the queue as its batch, under the lock
		t.Fatal("Pop: got nothing")
	}
	select {
	case <-ch:
	default:
		t.Fatal("Taken still open after the consumer took the queue")
	}
	m.Close()
	select {
	case <-m.Taken():
	default:
		t.Fatal("Taken of a closed mailbox: open")
	}
}

// TestTrimUnderBlockedPush: a Push blocked on a full Block mailbox is
// released by a Pop, and before it retakes the lock the consumer drains,
// goes idle, and Trim retires the queues. The released Push must push
// into the current queues, not the retired ones nobody reads any more.
func TestTrimUnderBlockedPush(t *testing.T) {
	// One P: the released producer runs only once this goroutine blocks,
	// which puts Trim exactly in its window.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for range 20 {
		m := newTest(t, Config[msg]{Capacity: 1, Policy: Block})
		mustPush(t, m, msg{id: 1})
		m.Pop()
		m.Idle()
		mustPush(t, m, msg{id: 1})
		done := make(chan error, 1)
		go func() {
			_, err := m.Push(context.Background(), msg{id: 2})
			done <- err
		}()
		for waiting := false; !waiting; { // until it waits for room
			runtime.Gosched()
			q := m.lock()
			waiting = q.space != nil
			q.mu.Unlock()
		}
		if got := drain(t, m); len(got) != 1 || got[0].id != 1 {
			t.Fatalf("drained %v; want [1]", got)
		}
		if !m.Claim() || !m.Trim() {
			continue // the producer was quicker: no race this round
		}
		m.Idle()
		if err := <-done; err != nil {
			t.Fatalf("released Push: %v", err)
		}
		if got := drain(t, m); len(got) != 1 || got[0].id != 2 {
			t.Fatalf("after the released Push: popped %v, Len %d; want [2]", got, m.Len())
		}
	}
}

// TestTrimThenPushBounded: a producer that finds the queues retired by
// Trim (m.q nil) and pushes into new ones must not race with Trim's own
// writes: a bounded Push reads the consumer's batch pointer to count the
// mailbox (lenLocked), and Trim cleared it after publishing the
// retirement, so the producer's atomic load of m.q did not order it
// after that write (-race reported it).
func TestTrimThenPushBounded(t *testing.T) {
	m := newTest(t, Config[msg]{Capacity: 8})
	mustPush(t, m, msg{id: 1})
	drain(t, m)
	done := make(chan error)
	go func() {
		for m.q.Load() != nil { // until Trim retired the queues
			runtime.Gosched()
		}
		_, err := m.Push(context.Background(), msg{id: 2})
		done <- err
	}()
	if !m.Claim() || !m.Trim() {
		t.Fatal("Claim and Trim of an idle, empty mailbox: got false")
	}
	m.Idle()
	if err := <-done; err != nil {
		t.Fatalf("Push after Trim: %v", err)
	}
	if got := drain(t, m); len(got) != 1 || got[0].id != 2 {
		t.Fatalf("popped %v; want [2]", got)
	}
}

// TestTrimUnderReaders: Len, Held, HeldEach and Admitted, safe for
// concurrent use, run while the consumer fills, drains and trims the
// mailbox over and over. Run with -race: a reader that found the queues
// before a Trim and got their lock after it read the consumer's batch
// pointer under the retired queues' lock, while the consumer wrote it
// under the new ones'.
func TestTrimUnderReaders(t *testing.T) {
	m := newTest(t, Config[msg]{})
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if n := m.Len(); n < 0 || n > 3 {
				t.Errorf("Len = %d; want 0 to 3", n)
			}
			m.Held()
			m.HeldEach(func(msg) {})
			m.Admitted(1)
		}
	})
	trims := 0
	for i := range 20000 {
		for j := range 3 { // more than one: Pop takes them as a batch
			mustPush(t, m, msg{id: 3*i + j})
		}
		if got := len(drain(t, m)); got != 3 {
			t.Fatalf("round %d: drained %d; want 3", i, got)
		}
		if m.Trim() {
			trims++
		}
	}
	close(stop)
	wg.Wait()
	if trims == 0 {
		t.Fatal("no Trim succeeded")
	}
}

// TestTakenWhenAllHeld: a Pop that takes the queued messages only to hold
// them (the filter admits none) has taken them under the lock all the
// same: a producer waiting on Taken must be released, since the consumer
// may then go idle and take nothing more until someone pushes again.
func TestTakenWhenAllHeld(t *testing.T) {
	for _, capacity := range []int{0, 8} {
		m := newTest(t, Config[msg]{Capacity: capacity})
		m.Admit(1)
		for i := range 3 {
			mustPush(t, m, msg{key: 2, id: i})
		}
		ch := m.Taken()
		if _, _, ok := m.Pop(); ok {
			t.Fatal("Pop: got a message the filter does not admit")
		}
		if !m.Idle() {
			t.Fatal("Idle with only held messages: got false")
		}
		select {
		case <-ch:
		default:
			t.Fatalf("capacity %d: Taken still open after the consumer took (and held) the queue and went idle", capacity)
		}
	}
}
