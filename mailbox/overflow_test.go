package mailbox

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

func TestReject(t *testing.T) {
	m := newTest(t, Config[msg]{Capacity: 2, Policy: Reject})
	push(m, msg{0, 1}, msg{0, 2})
	if _, err := m.Push(context.Background(), msg{0, 3}); !errors.Is(err, ErrFull) {
		t.Fatalf("Push on full: got %v; want ErrFull", err)
	}
	if _, err := m.PushSystem(msg{0, 4}); err != nil {
		t.Fatalf("PushSystem on full: got %v; want nil", err)
	}
	m.Pop() // the system message frees no room
	if _, err := m.Push(context.Background(), msg{0, 5}); !errors.Is(err, ErrFull) {
		t.Fatalf("Push on full: got %v; want ErrFull", err)
	}
	m.Pop()
	mustPush(t, m, msg{0, 6})
	if got := popIDs(m); !slices.Equal(got, []int{2, 6}) {
		t.Fatalf("got %v; want [2 6]", got)
	}
}

func TestHeldCountTowardCapacity(t *testing.T) {
	m := newTest(t, Config[msg]{Capacity: 2, Policy: Reject})
	push(m, msg{1, 1}, msg{1, 2})
	m.Admit(2)
	popIDs(m) // both held now
	if got := m.Len(); got != 2 {
		t.Fatalf("Len: got %d; want 2", got)
	}
	if _, err := m.Push(context.Background(), msg{2, 3}); !errors.Is(err, ErrFull) {
		t.Fatalf("Push with 2 held: got %v; want ErrFull", err)
	}
}

func TestDropOldest(t *testing.T) {
	var dropped []int
	onDrop := func(v msg) { dropped = append(dropped, v.id) }
	t.Run("queued", func(t *testing.T) {
		dropped = nil
		m := newTest(t, Config[msg]{Capacity: 2, Policy: DropOldest, OnDrop: onDrop})
		push(m, msg{0, 1}, msg{0, 2}, msg{0, 3})
		if !slices.Equal(dropped, []int{1}) {
			t.Fatalf("dropped: got %v; want [1]", dropped)
		}
		push(m, msg{0, 4})
		if !slices.Equal(dropped, []int{1, 2}) {
			t.Fatalf("dropped: got %v; want [1 2]", dropped)
		}
		if got := popIDs(m); !slices.Equal(got, []int{3, 4}) {
			t.Fatalf("popped: got %v; want [3 4]", got)
		}
	})
	t.Run("held is oldest", func(t *testing.T) {
		dropped = nil
		m := newTest(t, Config[msg]{Capacity: 3, Policy: DropOldest, OnDrop: onDrop})
		push(m, msg{1, 1}, msg{2, 2}, msg{1, 3})
		m.Admit(3)
		popIDs(m) // all held: key 1 holds 1 and 3, key 2 holds 2
		push(m, msg{3, 4})
		if !slices.Equal(dropped, []int{1}) {
			t.Fatalf("dropped: got %v; want [1]", dropped)
		}
		push(m, msg{3, 5})
		if !slices.Equal(dropped, []int{1, 2}) {
			t.Fatalf("dropped: got %v; want [1 2]", dropped)
		}
		push(m, msg{3, 6})
		if !slices.Equal(dropped, []int{1, 2, 3}) {
			t.Fatalf("dropped: got %v; want [1 2 3]", dropped)
		}
		if got := m.Held(); len(got) != 0 {
			t.Fatalf("Held: got %v; want none", got)
		}
		push(m, msg{3, 7})
		if !slices.Equal(dropped, []int{1, 2, 3, 4}) {
			t.Fatalf("dropped: got %v; want [1 2 3 4]", dropped)
		}
		if got := popIDs(m); !slices.Equal(got, []int{5, 6, 7}) {
			t.Fatalf("popped: got %v; want [5 6 7]", got)
		}
	})
	t.Run("evicts an admitted held message", func(t *testing.T) {
		dropped = nil
		m := newTest(t, Config[msg]{Capacity: 2, Policy: DropOldest, OnDrop: onDrop})
		push(m, msg{1, 1}, msg{2, 2})
		m.Admit(2)
		popIDs(m)
		m.Admit(1) // 1 is held and admitted
		push(m, msg{2, 3}, msg{2, 4})
		if !slices.Equal(dropped, []int{1}) {
			t.Fatalf("dropped: got %v; want [1]", dropped)
		}
		if got := popIDs(m); len(got) != 0 {
			t.Fatalf("popped: got %v; want nothing", got)
		}
		if m.Idle() != true {
			t.Fatalf("Idle: got false; want true (nothing admitted)")
		}
	})
}

func TestLivePurge(t *testing.T) {
	dead := map[int]bool{}
	live := func(v msg) bool { return !dead[v.id] }
	for _, p := range []Policy{Reject, DropOldest, Block} {
		t.Run(p.String(), func(t *testing.T) {
			clear(dead)
			var dropped []int
			m := newTest(t, Config[msg]{Capacity: 4, Policy: p, Live: live, OnDrop: func(v msg) {
				dropped = append(dropped, v.id)
			}})
			push(m, msg{1, 1}, msg{2, 2}, msg{1, 3}, msg{2, 4})
			m.Admit(2)
			if v, _, _ := m.Pop(); v.id != 2 { // holds 1
				t.Fatalf("Pop: got %v; want id 2", v)
			}
			push(m, msg{1, 5})
			dead[1], dead[4] = true, true
			push(m, msg{2, 6}, msg{2, 7}) // room made by discarding 1 and 4
			if got := m.Len(); got != 4 {
				t.Fatalf("Len: got %d; want 4", got)
			}
			if len(dropped) != 0 {
				t.Fatalf("dropped: got %v; want none (dead ones make room)", dropped)
			}
			want := []int{3, 5, 6, 7}
			_, err := m.Push(nil, msg{2, 8}) // nothing dead: the policy applies
			if p == DropOldest {
				if err != nil || !slices.Equal(dropped, []int{3}) {
					t.Fatalf("Push with nothing dead: got %v, dropped %v; want nil, [3]", err, dropped)
				}
				want = []int{5, 6, 7, 8}
			} else if !errors.Is(err, ErrFull) {
				t.Fatalf("Push with nothing dead: got %v; want ErrFull", err)
			}
			m.AdmitAll()
			if got := popIDs(m); !slices.Equal(got, want) {
				t.Fatalf("popped: got %v; want %v", got, want)
			}
		})
	}
}

func TestBlock(t *testing.T) {
	t.Run("nil ctx", func(t *testing.T) {
		m := newTest(t, Config[msg]{Capacity: 1, Policy: Block})
		push(m, msg{0, 1})
		if _, err := m.Push(nil, msg{0, 2}); !errors.Is(err, ErrFull) {
			t.Fatalf("Push(nil ctx): got %v; want ErrFull", err)
		}
	})
	t.Run("released by Pop", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m := newTest(t, Config[msg]{Capacity: 1, Policy: Block})
			push(m, msg{0, 1})
			done := make(chan error, 2)
			for id := range 2 {
				go func() {
					_, err := m.Push(context.Background(), msg{0, 10 + id})
					done <- err
				}()
			}
			synctest.Wait()
			if len(done) != 0 {
				t.Fatalf("Push on full returned %v; want it blocked", <-done)
			}
			if v, _, _ := m.Pop(); v.id != 1 {
				t.Fatalf("Pop: got %v; want id 1", v)
			}
			synctest.Wait()
			if len(done) != 1 {
				t.Fatalf("after one Pop: %d pushes returned; want 1", len(done))
			}
			if err := <-done; err != nil {
				t.Fatalf("released Push: got %v; want nil", err)
			}
			m.Pop()
			if err := <-done; err != nil {
				t.Fatalf("released Push: got %v; want nil", err)
			}
			if got := m.Len(); got != 1 {
				t.Fatalf("Len: got %d; want 1", got)
			}
		})
	})
	t.Run("ctx timeout", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m := newTest(t, Config[msg]{Capacity: 1, Policy: Block})
			push(m, msg{0, 1})
			watchdog := time.AfterFunc(time.Minute, func() { t.Error("Push still blocked after a minute") })
			defer watchdog.Stop()
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			start := time.Now()
			_, err := m.Push(ctx, msg{0, 2})
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Push: got %v; want context.DeadlineExceeded", err)
			}
			if d := time.Since(start); d != time.Second {
				t.Fatalf("Push returned after %v; want 1s", d)
			}
			if got := popIDs(m); !slices.Equal(got, []int{1}) {
				t.Fatalf("popped: got %v; want [1]", got)
			}
		})
	})
	t.Run("woken by Close", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			m := newTest(t, Config[msg]{Capacity: 1, Policy: Block})
			push(m, msg{0, 1})
			done := make(chan error, 3)
			for id := range 3 {
				go func() {
					_, err := m.Push(context.Background(), msg{0, 10 + id})
					done <- err
				}()
			}
			synctest.Wait()
			if got := m.Close(); !slices.Equal(ids(got), []int{1}) {
				t.Fatalf("Close: got %v; want [1]", ids(got))
			}
			for range 3 {
				if err := <-done; !errors.Is(err, ErrClosed) {
					t.Fatalf("blocked Push after Close: got %v; want ErrClosed", err)
				}
			}
		})
	})
	t.Run("released by purge", func(t *testing.T) {
		dead := map[int]bool{}
		m := newTest(t, Config[msg]{Capacity: 2, Policy: Block, Live: func(v msg) bool { return !dead[v.id] }})
		push(m, msg{0, 1}, msg{0, 2})
		dead[1] = true
		mustPush(t, m, msg{0, 3})
		if got := popIDs(m); !slices.Equal(got, []int{2, 3}) {
			t.Fatalf("popped: got %v; want [2 3]", got)
		}
	})
}

// TestBacklogAfterLivePurge: a full mailbox that discards its dead
// messages to make room has a short main queue afterwards, and Backlog
// must say so (within its documented lag of backlogEvery-1): a stale,
// large Backlog makes actor senders wait (the flood rule) for a consumer
// that has almost nothing queued.
func TestBacklogAfterLivePurge(t *testing.T) {
	const capacity = 4 * backlogEvery
	dead := map[int]bool{}
	m := newTest(t, Config[msg]{Capacity: capacity, Policy: Reject, Live: func(v msg) bool { return !dead[v.id] }})
	for i := range capacity {
		mustPush(t, m, msg{0, i})
		if i >= 5 {
			dead[i] = true
		}
	}
	if got := m.Backlog(); got != capacity {
		t.Fatalf("Backlog of a full mailbox = %d; want %d", got, capacity)
	}
	mustPush(t, m, msg{0, capacity}) // discards the dead ones
	if got := m.Len(); got != 6 {
		t.Fatalf("Len after the purge = %d; want 6", got)
	}
	if got := m.Backlog(); got > 6 {
		t.Fatalf("Backlog after the purge = %d; want at most the 6 queued", got)
	}
}
