package mailbox

import (
	"context"
	"errors"
	"slices"
	"testing"
)

func TestNewInvalidConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  *Config[msg]
	}{
		{"nil config", nil},
		{"nil key", &Config[msg]{}},
		{"negative capacity", &Config[msg]{Key: msgKey, Capacity: -1}},
		{"unknown policy", &Config[msg]{Key: msgKey, Policy: Block + 1}},
		{"everything", &Config[msg]{Capacity: -3, Policy: 9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := New(tt.cfg)
			if !errors.Is(err, ErrInvalidConfig) {
				t.Fatalf("New: got error %v; want ErrInvalidConfig", err)
			}
			if m != nil {
				t.Errorf("New: got mailbox %p; want nil", m)
			}
		})
	}
	if _, err := New(&Config[msg]{Key: msgKey, Capacity: 3, Policy: Block}); err != nil {
		t.Errorf("New(valid): got %v; want nil", err)
	}
}

// TestBoundedAndBlocks: Bounded is true for any capacity, whatever the
// policy; Blocks only with the Block policy too.
func TestBoundedAndBlocks(t *testing.T) {
	for _, tc := range []struct {
		cfg                     Config[msg]
		bounded, blocks, evicts bool
	}{
		{Config[msg]{}, false, false, false},
		{Config[msg]{Policy: Block}, false, false, false},
		{Config[msg]{Policy: DropOldest}, false, false, false},
		{Config[msg]{Capacity: 3, Policy: Block}, true, true, false},
		{Config[msg]{Capacity: 3, Policy: Reject}, true, false, false},
		{Config[msg]{Capacity: 3, Policy: DropOldest}, true, false, true},
	} {
		m := newTest(t, tc.cfg)
		if m.Bounded() != tc.bounded || m.Blocks() != tc.blocks || m.Evicts() != tc.evicts {
			t.Errorf("capacity %d, policy %v: Bounded %v, Blocks %v, Evicts %v; want %v, %v, %v",
				tc.cfg.Capacity, tc.cfg.Policy, m.Bounded(), m.Blocks(), m.Evicts(), tc.bounded, tc.blocks, tc.evicts)
		}
	}
}

// TestCloseIfEmpty: a mailbox holding a message of any kind (system,
// queued, held) stays open and keeps it; an empty one closes, after which
// every push fails with ErrClosed. In both kinds of mailbox.
func TestCloseIfEmpty(t *testing.T) {
	for _, capacity := range []int{0, 4} {
		for _, kind := range []string{"system", "queued", "held"} {
			m := newTest(t, Config[msg]{Capacity: capacity})
			if kind == "held" {
				m.Admit() // admits nothing: the message is held
			}
			var err error
			if kind == "system" {
				_, err = m.PushSystem(msg{id: 1})
			} else {
				_, err = m.TryPush(msg{id: 1})
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.CloseIfEmpty() {
				t.Fatalf("capacity %d, a %s message: closed", capacity, kind)
			}
			if got := m.Close(); len(got) != 1 || got[0].id != 1 {
				t.Errorf("capacity %d, a %s message: Close returned %v; want it", capacity, kind, got)
			}
		}
		m := newTest(t, Config[msg]{Capacity: capacity})
		mustPush(t, m, msg{id: 1})
		if got, _, ok := m.Pop(); !ok || got.id != 1 {
			t.Fatalf("Pop: %v, %v", got, ok)
		}
		if !m.CloseIfEmpty() {
			t.Fatalf("capacity %d, emptied: not closed", capacity)
		}
		if !m.CloseIfEmpty() {
			t.Fatalf("capacity %d: a second CloseIfEmpty: false; want true (closed)", capacity)
		}
		if _, err := m.TryPush(msg{id: 2}); !errors.Is(err, ErrClosed) {
			t.Errorf("capacity %d: TryPush after CloseIfEmpty: %v; want ErrClosed", capacity, err)
		}
		if _, err := m.PushSystem(msg{id: 3}); !errors.Is(err, ErrClosed) {
			t.Errorf("capacity %d: PushSystem after CloseIfEmpty: %v; want ErrClosed", capacity, err)
		}
		if got := m.Close(); got != nil {
			t.Errorf("capacity %d: Close after CloseIfEmpty: %v; want nil", capacity, got)
		}
	}
}

func TestFIFO(t *testing.T) {
	m := newTest(t, Config[msg]{})
	for i := range 100 {
		s := mustPush(t, m, msg{id: i})
		if want := i == 0; s != want {
			t.Fatalf("Push #%d: got schedule %v; want %v", i, s, want)
		}
	}
	if got := m.Len(); got != 100 {
		t.Fatalf("Len: got %d; want 100", got)
	}
	// Interleave pops and pushes across the ring's wrap-around and growth.
	var want []int
	for i := range 100 {
		want = append(want, i)
	}
	got := []int{}
	for i := range 50 {
		v, sys, ok := m.Pop()
		if !ok || sys {
			t.Fatalf("Pop: got ok %v system %v; want true false", ok, sys)
		}
		got = append(got, v.id)
		mustPush(t, m, msg{id: 100 + i})
		want = append(want, 100+i)
	}
	got = append(got, popIDs(m)...)
	if !slices.Equal(got, want) {
		t.Fatalf("order: got %v; want %v", got, want)
	}
	if got := m.Len(); got != 0 {
		t.Fatalf("Len after draining: got %d; want 0", got)
	}
}

func TestSystemFirst(t *testing.T) {
	m := newTest(t, Config[msg]{Capacity: 1})
	mustPush(t, m, msg{id: 1})
	for _, id := range []int{10, 11} {
		if _, err := m.PushSystem(msg{id: id}); err != nil {
			t.Fatalf("PushSystem: %v", err) // capacity does not apply
		}
	}
	m.Admit() // nor does the filter
	var got []int
	var system []bool
	for {
		v, sys, ok := m.Pop()
		if !ok {
			break
		}
		got, system = append(got, v.id), append(system, sys)
	}
	if want := []int{10, 11}; !slices.Equal(got, want) {
		t.Fatalf("got %v; want %v", got, want)
	}
	if want := []bool{true, true}; !slices.Equal(system, want) {
		t.Fatalf("system: got %v; want %v", system, want)
	}
	m.AdmitAll()
	if v, sys, ok := m.Pop(); !ok || sys || v.id != 1 {
		t.Fatalf("Pop: got %v %v %v; want {0 1} false true", v, sys, ok)
	}
}

func TestConcurrentProducers(t *testing.T) {
	const producers, each = 8, 5000
	m := newTest(t, Config[msg]{})
	popInOrder(t, m, pushFrom(t, m, producers, each), producers, each)
}

func TestClose(t *testing.T) {
	m := newTest(t, Config[msg]{})
	mustPush(t, m, msg{key: 1, id: 1})
	mustPush(t, m, msg{key: 2, id: 2})
	mustPush(t, m, msg{key: 1, id: 3})
	mustPush(t, m, msg{key: 3, id: 4})
	m.PushSystem(msg{id: 100})
	m.Pop() // the system message
	m.Admit(3)
	if got := popIDs(m); !slices.Equal(got, []int{4}) {
		t.Fatalf("popped: got %v; want [4]", got)
	}
	mustPush(t, m, msg{key: 2, id: 5})
	m.PushSystem(msg{id: 101})
	got := m.Close()
	if want := []int{101, 1, 2, 3, 5}; !slices.Equal(ids(got), want) {
		t.Fatalf("Close: got %v; want %v", ids(got), want)
	}
	if got := m.Close(); got != nil {
		t.Fatalf("second Close: got %v; want nil", got)
	}
	if _, err := m.Push(context.Background(), msg{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Push after Close: got %v; want ErrClosed", err)
	}
	if _, err := m.PushSystem(msg{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("PushSystem after Close: got %v; want ErrClosed", err)
	}
	if _, _, ok := m.Pop(); ok {
		t.Fatalf("Pop after Close: got ok; want nothing")
	}
	if got := m.Len(); got != 0 {
		t.Fatalf("Len after Close: got %d; want 0", got)
	}
	if !m.Idle() {
		t.Fatalf("Idle after Close: got false; want true")
	}
	if m.Admitted(1) || !m.Admitted(3) {
		t.Fatalf("Close must keep the filter")
	}
}

func TestCloseEmpty(t *testing.T) {
	m := newTest(t, Config[msg]{})
	if got := m.Close(); got != nil {
		t.Fatalf("Close: got %v; want nil", got)
	}
	if _, err := m.Push(context.Background(), msg{}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Push after Close: got %v; want ErrClosed", err)
	}
}

func TestPolicyString(t *testing.T) {
	for p, want := range map[Policy]string{Reject: "reject", DropOldest: "drop-oldest", Block: "block", 7: "Policy(7)"} {
		if got := p.String(); got != want {
			t.Errorf("Policy(%d).String(): got %q; want %q", uint8(p), got, want)
		}
	}
}
