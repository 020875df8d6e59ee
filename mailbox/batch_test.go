package mailbox

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// The consumer's batch (what the lane held when it began reading it)
// stays behind the system lane, and a filter set mid-batch holds the
// batch's messages in order, like any queued ones.
func TestBatchKeepsLanesAndFilter(t *testing.T) {
	m := newTest(t, Config[msg]{})
	ctx := context.Background()
	for i := 1; i <= 6; i++ {
		if _, err := m.Push(ctx, msg{Key(i % 2), i}); err != nil {
			t.Fatal(err)
		}
	}
	if v, _, ok := m.Pop(); !ok || v.id != 1 {
		t.Fatalf("first Pop = %v, %v; want id 1", v, ok)
	}
	if b := m.Backlog(); b != 0 || m.Len() != 5 {
		t.Fatalf("Backlog %d, Len %d after the first Pop; want 0 and 5 (the lane taken as a batch)", b, m.Len())
	}
	if _, err := m.PushSystem(msg{9, 100}); err != nil {
		t.Fatal(err)
	}
	if v, sys, ok := m.Pop(); !ok || !sys || v.id != 100 {
		t.Fatalf("Pop with a system message behind a batch = %v, %v, %v; want the system message", v, sys, ok)
	}
	m.Admit(0) // even ids only: 3 and 5 get held
	var got []int
	for {
		v, _, ok := m.Pop()
		if !ok {
			break
		}
		got = append(got, v.id)
	}
	if len(got) != 3 || got[0] != 2 || got[1] != 4 || got[2] != 6 {
		t.Fatalf("admitted = %v; want [2 4 6]", got)
	}
	if h := m.Held(); h[1] != 2 {
		t.Fatalf("held = %v; want key 1: 2", h)
	}
	if _, err := m.Push(ctx, msg{0, 7}); err != nil {
		t.Fatal(err)
	}
	m.AdmitAll()
	got = got[:0]
	for {
		v, _, ok := m.Pop()
		if !ok {
			break
		}
		got = append(got, v.id)
	}
	if len(got) != 3 || got[0] != 3 || got[1] != 5 || got[2] != 7 {
		t.Fatalf("after AdmitAll = %v; want [3 5 7] (held first, in order)", got)
	}
	if m.Len() != 0 {
		t.Fatalf("Len = %d; want 0", m.Len())
	}
}

// Close returns the batch's messages too, in arrival order.
func TestBatchClose(t *testing.T) {
	m := newTest(t, Config[msg]{})
	for i := 1; i <= 4; i++ {
		_, _ = m.Push(context.Background(), msg{0, i})
	}
	m.Pop()                                        // swaps 2..4 into the batch
	_, _ = m.Push(context.Background(), msg{0, 5}) // main again
	left := m.Close()
	if len(left) != 4 || left[0].id != 2 || left[3].id != 5 {
		t.Fatalf("Close = %v; want ids 2..5", left)
	}
}

// Claim takes an idle mailbox's flag like a Push would, and only then.
func TestClaim(t *testing.T) {
	m := newTest(t, Config[msg]{})
	if !m.Claim() {
		t.Fatal("Claim on an idle mailbox = false")
	}
	if m.Claim() {
		t.Fatal("second Claim = true; the flag is already held")
	}
	if s, _ := m.Push(context.Background(), msg{0, 1}); s {
		t.Fatal("Push after Claim asked to schedule; the claimer is the consumer")
	}
	m.Pop()
	if !m.Idle() {
		t.Fatal("Idle with nothing pending = false")
	}
	if !m.Claim() {
		t.Fatal("Claim after Idle = false")
	}
}

// Backlog counts the system messages and the user messages queued since
// the consumer began its current batch: exactly, in an unbounded mailbox
// (where a batch is what the lane held when the consumer had read the
// previous one through); in a bounded one, main's length as of the last
// multiple of backlogEvery pushes. It drops to 0 when the consumer takes
// the queue, and held messages are not in it.
func TestBacklog(t *testing.T) {
	for _, capacity := range []int{0, 1 << 20} {
		t.Run(fmt.Sprintf("capacity %d", capacity), func(t *testing.T) {
			m := newTest(t, Config[msg]{Capacity: capacity})
			queued := func(i int) int {
				if capacity == 0 {
					return i
				}
				return i - i%backlogEvery
			}
			if got := m.Backlog(); got != 0 {
				t.Fatalf("Backlog of a new mailbox = %d; want 0", got)
			}
			const n = 2*backlogEvery + 5
			for i := 1; i <= n; i++ {
				_, _ = m.Push(context.Background(), msg{0, i})
				if want := queued(i); m.Backlog() != want {
					t.Fatalf("after %d pushes: Backlog = %d; want %d", i, m.Backlog(), want)
				}
			}
			_, _ = m.PushSystem(msg{0, 0})
			if got, want := m.Backlog(), queued(n)+1; got != want {
				t.Fatalf("with a system message: Backlog = %d; want %d", got, want)
			}
			m.Pop() // the system message
			m.Pop() // begins a batch of the whole queue (unbounded); pops one
			want := 0
			if capacity != 0 {
				want = queued(n) // not published again until a multiple of 64
			}
			if got := m.Backlog(); got != want || m.Len() != n-1 {
				t.Fatalf("Backlog = %d, Len = %d; want %d and %d", got, m.Len(), want, n-1)
			}
			for {
				if _, _, ok := m.Pop(); !ok {
					break
				}
			}
			m.Idle()
			if got := m.Backlog(); got != 0 || m.Len() != 0 {
				t.Fatalf("after draining and Idle: Backlog = %d, Len = %d; want 0 and 0", got, m.Len())
			}
			m.Admit(1)
			for i := range backlogEvery {
				_, _ = m.Push(context.Background(), msg{0, i})
			}
			m.Pop() // holds them all
			if got := m.Backlog(); got != 0 || m.Len() != backlogEvery {
				t.Fatalf("Backlog = %d, Len = %d with %d held messages; want 0 and %d", got, m.Len(), backlogEvery, backlogEvery)
			}
		})
	}
}

// TryPush never waits: a full Block mailbox refuses at once.
func TestTryPush(t *testing.T) {
	m := newTest(t, Config[msg]{Capacity: 1, Policy: Block})
	if s, err := m.TryPush(msg{0, 1}); err != nil || !s {
		t.Fatalf("TryPush on an empty mailbox = %v, %v; want true, nil", s, err)
	}
	if _, err := m.TryPush(msg{0, 2}); !errors.Is(err, ErrFull) {
		t.Fatalf("TryPush on a full Block mailbox = %v; want ErrFull", err)
	}
}

// Offer never makes room: on a full mailbox it returns ErrFull whatever the
// policy, evicting nothing and discarding no dead message (it calls neither
// OnDrop nor OnExpire); with room it pushes as TryPush does.
func TestOfferNeverMakesRoom(t *testing.T) {
	for _, p := range []Policy{Reject, DropOldest, Block} {
		t.Run(p.String(), func(t *testing.T) {
			calls := 0
			m := newTest(t, Config[msg]{
				Capacity: 1, Policy: p,
				Live:     func(msg) bool { return false }, // every message is dead
				OnDrop:   func(msg) { calls++ },
				OnExpire: func(msg) { calls++ },
			})
			if s, err := m.Offer(msg{0, 1}); err != nil || !s {
				t.Fatalf("Offer on an empty mailbox = %v, %v; want true, nil", s, err)
			}
			if _, err := m.Offer(msg{0, 2}); !errors.Is(err, ErrFull) {
				t.Fatalf("Offer on a full mailbox = %v; want ErrFull", err)
			}
			if calls != 0 || m.Len() != 1 {
				t.Fatalf("after Offer on a full mailbox: %d OnDrop/OnExpire calls, Len %d; want 0, 1", calls, m.Len())
			}
			if _, err := m.TryPush(msg{0, 3}); err != nil || calls != 1 {
				t.Fatalf("TryPush on it = %v with %d calls; want nil with 1 (its dead message discarded)", err, calls)
			}
			m.Close()
			if _, err := m.Offer(msg{0, 4}); !errors.Is(err, ErrClosed) {
				t.Fatalf("Offer after Close = %v; want ErrClosed", err)
			}
		})
	}
}
