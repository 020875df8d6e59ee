package mailbox

import (
	"context"
	"maps"
	"slices"
	"testing"
)

func TestAdmit(t *testing.T) {
	const a, b, c = 1, 2, 3
	tests := []struct {
		name  string
		run   func(m *Mailbox[msg]) []int
		want  []int
		after []int // popped after AdmitAll
	}{
		{
			name: "holds and releases in arrival order",
			run: func(m *Mailbox[msg]) []int {
				push(m, msg{b, 1}, msg{a, 2}, msg{b, 3}, msg{c, 4}, msg{a, 5})
				m.Admit(a)
				return popIDs(m)
			},
			want:  []int{2, 5},
			after: []int{1, 3, 4},
		},
		{
			name: "held message of an admitted key before newer queued ones",
			run: func(m *Mailbox[msg]) []int {
				push(m, msg{b, 1}, msg{a, 2}, msg{c, 3})
				m.Admit(a)
				got := popIDs(m) // 2; holds 1 and 3
				push(m, msg{a, 4}, msg{b, 5})
				m.Admit(a, b)
				return append(got, popIDs(m)...)
			},
			want:  []int{2, 1, 4, 5},
			after: []int{3},
		},
		{
			name: "two admitted held keys interleave by arrival",
			run: func(m *Mailbox[msg]) []int {
				push(m, msg{b, 1}, msg{c, 2}, msg{b, 3}, msg{c, 4}, msg{a, 5}, msg{c, 6}, msg{b, 7})
				m.Admit(a)
				got := popIDs(m)
				m.Admit(b, c)
				push(m, msg{b, 8})
				return append(got, popIDs(m)...)
			},
			want: []int{5, 1, 2, 3, 4, 6, 7, 8},
		},
		{
			name: "key held again after being admitted",
			run: func(m *Mailbox[msg]) []int {
				push(m, msg{b, 1}, msg{b, 2})
				m.Admit(a)
				got := popIDs(m)
				m.Admit(b)
				v, _, _ := m.Pop()
				got = append(got, v.id) // 1; 2 still held
				push(m, msg{b, 3}, msg{a, 4})
				m.Admit(a)
				return append(got, popIDs(m)...)
			},
			want:  []int{1, 4},
			after: []int{2, 3},
		},
		{
			name: "empty admit set holds everything",
			run: func(m *Mailbox[msg]) []int {
				push(m, msg{a, 1}, msg{b, 2})
				m.Admit()
				return popIDs(m)
			},
			after: []int{1, 2},
		},
		{
			name: "many keys",
			run: func(m *Mailbox[msg]) []int {
				for i := range 40 {
					push(m, msg{Key(i), i})
				}
				m.Admit(39, 0, 7, 12, 7, 30, 31, 32, 33, 34, 35, 36)
				return popIDs(m)
			},
			want:  []int{0, 7, 12, 30, 31, 32, 33, 34, 35, 36, 39},
			after: []int{1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 37, 38},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTest(t, Config[msg]{})
			if got := tt.run(m); !slices.Equal(got, tt.want) {
				t.Fatalf("popped: got %v; want %v", got, tt.want)
			}
			m.AdmitAll()
			if got := popIDs(m); !slices.Equal(got, tt.after) {
				t.Fatalf("after AdmitAll: got %v; want %v", got, tt.after)
			}
			if got := m.Len(); got != 0 {
				t.Fatalf("Len: got %d; want 0", got)
			}
		})
	}
}

func push(m *Mailbox[msg], msgs ...msg) {
	for _, v := range msgs {
		if _, err := m.Push(context.Background(), v); err != nil {
			panic(err)
		}
	}
}

func TestAdmitted(t *testing.T) {
	m := newTest(t, Config[msg]{})
	if !m.Admitted(5) {
		t.Fatalf("fresh mailbox: Admitted(5) = false; want true")
	}
	m.Admit(1, 2)
	for k, want := range map[Key]bool{1: true, 2: true, 3: false} {
		if got := m.Admitted(k); got != want {
			t.Errorf("Admitted(%d): got %v; want %v", k, got, want)
		}
	}
	m.AdmitAll()
	if !m.Admitted(3) {
		t.Fatalf("after AdmitAll: Admitted(3) = false; want true")
	}
}

func TestHeld(t *testing.T) {
	dead := map[int]bool{}
	m := newTest(t, Config[msg]{Live: func(v msg) bool { return !dead[v.id] }})
	if got := m.Held(); len(got) != 0 {
		t.Fatalf("fresh: got %v; want empty", got)
	}
	push(m, msg{1, 1}, msg{2, 2}, msg{2, 3}, msg{3, 4}, msg{3, 5}, msg{4, 6})
	m.Admit(4)
	popIDs(m)
	dead[4], dead[5] = true, true
	want := map[Key]int{1: 1, 2: 2}
	if got := m.Held(); !maps.Equal(got, want) {
		t.Fatalf("Held: got %v; want %v", got, want)
	}
	if got := m.Len(); got != 5 {
		t.Fatalf("Len counts dead held messages: got %d; want 5", got)
	}
}

// TestHeldNotRescanned checks that each message's key is read once: held
// messages are not looked at again while the filter holds them back.
func TestHeldNotRescanned(t *testing.T) {
	const n = 100_000
	calls := 0
	m := newTest(t, Config[msg]{Key: func(v msg) Key { calls++; return v.key }})
	m.Admit(1)
	for i := range 2 * n {
		push(m, msg{Key(i % 2), i})
		if i%2 == 1 {
			if v, _, ok := m.Pop(); !ok || v.id != i {
				t.Fatalf("Pop: got %v %v; want id %d", v, ok, i)
			}
		}
	}
	if calls != 2*n {
		t.Fatalf("Key calls: got %d; want %d", calls, 2*n)
	}
	if got := m.Held()[0]; got != n {
		t.Fatalf("Held()[0]: got %d; want %d", got, n)
	}
	m.AdmitAll()
	if got := len(popIDs(m)); got != n {
		t.Fatalf("released: got %d; want %d", got, n)
	}
	if calls != 2*n {
		t.Fatalf("Key calls after release: got %d; want %d", calls, 2*n)
	}
}
