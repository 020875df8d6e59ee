package mailbox

import (
	"context"
	"runtime"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreCurrent())
}

// msg is the message type of the tests.
type msg struct {
	key Key
	id  int
}

func msgKey(m msg) Key { return m.key }

// newTest returns a mailbox of msg with cfg's Key set if it is nil.
func newTest(t testing.TB, cfg Config[msg]) *Mailbox[msg] {
	t.Helper()
	if cfg.Key == nil {
		cfg.Key = msgKey
	}
	m, err := New(&cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m
}

// mustPush pushes and fails the test on error.
func mustPush(t testing.TB, m *Mailbox[msg], v msg) bool {
	t.Helper()
	s, err := m.Push(context.Background(), v)
	if err != nil {
		t.Fatalf("Push(%v): %v", v, err)
	}
	return s
}

// popIDs pops until nothing is admitted and returns the ids.
func popIDs(m *Mailbox[msg]) []int {
	var ids []int
	for {
		v, _, ok := m.Pop()
		if !ok {
			return ids
		}
		ids = append(ids, v.id)
	}
}

// ids returns the ids of msgs.
func ids(msgs []msg) []int {
	var out []int
	for _, v := range msgs {
		out = append(out, v.id)
	}
	return out
}

// pushFrom starts producers goroutines, the p-th pushing each messages
// {key: p, id: 0…each-1} in order; the WaitGroup waits for them.
func pushFrom(t testing.TB, m *Mailbox[msg], producers, each int) *sync.WaitGroup {
	var wg sync.WaitGroup
	for p := range producers {
		wg.Go(func() {
			for i := range each {
				if _, err := m.Push(context.Background(), msg{key: Key(p), id: i}); err != nil {
					t.Errorf("Push: %v", err)
					return
				}
			}
		})
	}
	return &wg
}

// popInOrder pops the producers×each messages of pushFrom as they come,
// failing t if a producer's messages come out of order; once wg is done,
// it fails t if anything is left.
func popInOrder(t testing.TB, m *Mailbox[msg], wg *sync.WaitGroup, producers, each int) {
	t.Helper()
	last := make([]int, producers)
	for i := range last {
		last[i] = -1
	}
	for n := 0; n < producers*each; {
		v, _, ok := m.Pop()
		if !ok {
			runtime.Gosched()
			continue
		}
		if v.id != last[v.key]+1 {
			t.Fatalf("producer %d: got id %d after %d", v.key, v.id, last[v.key])
		}
		last[v.key] = v.id
		n++
	}
	wg.Wait()
	if _, _, ok := m.Pop(); ok {
		t.Fatalf("Pop after all: got ok; want nothing left")
	}
}
