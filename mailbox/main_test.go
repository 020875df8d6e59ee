package mailbox

import (
	"context"
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
