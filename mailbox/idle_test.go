package mailbox

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
)

func TestIdle(t *testing.T) {
	m := newTest(t, Config[msg]{})
	if m.Scheduled() {
		t.Fatalf("fresh mailbox: Scheduled = true; want false")
	}
	if !mustPush(t, m, msg{1, 1}) {
		t.Fatalf("first Push: got schedule false; want true")
	}
	if mustPush(t, m, msg{2, 2}) {
		t.Fatalf("second Push: got schedule true; want false")
	}
	if !m.Scheduled() {
		t.Fatalf("after Push: Scheduled = false; want true")
	}
	if m.Idle() {
		t.Fatalf("Idle with messages queued: got true; want false")
	}
	if !m.Scheduled() {
		t.Fatalf("Idle returning false must keep the flag")
	}

	m.Admit(2)
	if got := popIDs(m); len(got) != 1 || got[0] != 2 {
		t.Fatalf("popped: got %v; want [2]", got)
	}
	if !m.Idle() {
		t.Fatalf("Idle with only held messages: got false; want true")
	}
	if m.Scheduled() {
		t.Fatalf("after Idle: Scheduled = true; want false")
	}

	if !mustPush(t, m, msg{1, 3}) {
		t.Fatalf("Push on idle mailbox: got schedule false; want true")
	}
	if m.Idle() {
		t.Fatalf("Idle with a queued message not admitted: got true; want false (not yet moved to held)")
	}
	if _, _, ok := m.Pop(); ok {
		t.Fatalf("Pop: got ok; want nothing admitted")
	}
	if !m.Idle() {
		t.Fatalf("Idle once moved to held: got false; want true")
	}

	if s, _ := m.PushSystem(msg{0, 4}); !s {
		t.Fatalf("PushSystem on idle mailbox: got schedule false; want true")
	}
	if m.Idle() {
		t.Fatalf("Idle with a system message: got true; want false")
	}
	m.Pop()
	m.Admit(1)
	if m.Idle() {
		t.Fatalf("Idle with admitted held messages: got true; want false")
	}
	if got := popIDs(m); len(got) != 2 {
		t.Fatalf("popped: got %v; want [1 3]", got)
	}
	if !m.Idle() {
		t.Fatalf("Idle when empty: got false; want true")
	}
}

// TestIdleLostWakeUp pushes from another goroutine exactly between Idle's
// "nothing left" and its storing of the idle flag: exactly one of the
// consumer (Idle returns false) and the producer (schedule is true) must
// own the flag.
func TestIdleLostWakeUp(t *testing.T) {
	pushes := map[string]func(m *Mailbox[msg]) (bool, error){
		"Push":       func(m *Mailbox[msg]) (bool, error) { return m.Push(context.Background(), msg{0, 2}) },
		"PushSystem": func(m *Mailbox[msg]) (bool, error) { return m.PushSystem(msg{0, 2}) },
	}
	for name, pushFn := range pushes {
		t.Run(name, func(t *testing.T) {
			m := newTest(t, Config[msg]{})
			mustPush(t, m, msg{0, 1})
			m.Pop()
			var scheduled bool
			m.cfg.idleHook = func() {
				m.cfg.idleHook = nil // once
				done := make(chan bool)
				go func() {
					s, err := pushFn(m)
					if err != nil {
						t.Errorf("push: %v", err)
					}
					done <- s
				}()
				scheduled = <-done
			}
			defer func() { m.cfg.idleHook = nil }()
			stop := m.Idle()
			if stop && !scheduled {
				t.Fatalf("lost wake-up: Idle returned true and the push got schedule false")
			}
			if !stop && scheduled {
				t.Fatalf("double schedule: Idle returned false and the push got schedule true")
			}
			if v, _, ok := m.Pop(); !ok || v.id != 2 {
				t.Fatalf("Pop: got %v %v; want id 2", v, ok)
			}
		})
	}
}

// driveProtocol runs the consumer only when a push says so, as an actor
// runtime does: producers goroutines push each messages to m, and a
// consumer goroutine is started whenever a push reports schedule. It
// checks that consumers never run two at once and that each producer's
// messages come in order (consecutively if gapless, else increasing: a
// mailbox may drop some), and returns how many were popped once every
// consumer has stopped.
func driveProtocol(t *testing.T, m *Mailbox[msg], producers, each int, gapless bool) int64 {
	t.Helper()
	var (
		consumers sync.WaitGroup
		running   atomic.Int32
		popped    atomic.Int64
		last      = make([]int, producers)
	)
	for i := range last {
		last[i] = -1
	}
	consume := func() {
		defer consumers.Done()
		if running.Add(1) != 1 {
			t.Error("two consumers running")
		}
		for {
			v, _, ok := m.Pop()
			if ok {
				if v.id <= last[v.key] || gapless && v.id != last[v.key]+1 {
					t.Errorf("producer %d: got id %d after %d", v.key, v.id, last[v.key])
				}
				last[v.key] = v.id
				popped.Add(1)
				continue
			}
			running.Add(-1)
			if m.Idle() {
				return
			}
			if running.Add(1) != 1 {
				t.Error("two consumers running")
			}
		}
	}
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := range each {
				s, err := m.Push(context.Background(), msg{Key(p), i})
				if err != nil {
					t.Errorf("Push: %v", err)
				}
				if s {
					consumers.Add(1)
					go consume()
				}
			}
		})
	}
	wg.Wait()
	consumers.Wait()
	return popped.Load()
}

// TestScheduleProtocol checks the protocol on an unbounded mailbox:
// nothing is lost, each producer's messages stay in order.
func TestScheduleProtocol(t *testing.T) {
	const producers, each = 8, 3000
	m := newTest(t, Config[msg]{})
	if got := driveProtocol(t, m, producers, each, true); got != producers*each {
		t.Fatalf("popped: got %d; want %d", got, producers*each)
	}
	if m.Scheduled() {
		t.Fatalf("Scheduled after all consumers stopped: got true; want false")
	}
}

// TestScheduleProtocolBounded is TestScheduleProtocol on small bounded
// mailboxes, where producers evict (DropOldest) or wait for room (Block)
// while the consumer goes idle and is rescheduled: every message is
// popped or dropped exactly once, per-producer order holds, and nobody
// is left waiting.
func TestScheduleProtocolBounded(t *testing.T) {
	for _, p := range []Policy{DropOldest, Block} {
		t.Run(p.String(), func(t *testing.T) {
			const producers, each = 8, 2000
			var dropped atomic.Int64
			m := newTest(t, Config[msg]{Capacity: 16, Policy: p, OnDrop: func(msg) { dropped.Add(1) }})
			popped := driveProtocol(t, m, producers, each, false)
			if got := popped + dropped.Load(); got != producers*each {
				t.Fatalf("popped %d + dropped %d = %d; want %d", popped, dropped.Load(), got, producers*each)
			}
			if p == Block && dropped.Load() != 0 {
				t.Fatalf("Block dropped %d messages", dropped.Load())
			}
			if m.Len() != 0 || m.Scheduled() {
				t.Fatalf("after all consumers stopped: Len %d, Scheduled %v; want 0, false", m.Len(), m.Scheduled())
			}
		})
	}
}
