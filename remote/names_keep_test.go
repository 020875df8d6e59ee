package remote_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-go/troupe/remote"
)

// slowKV is a names bucket whose Update (the keeper's refresh) takes
// delay more than the server's answer.
type slowKV struct {
	jetstream.KeyValue
	delay time.Duration
}

func (s *slowKV) wrap(kv jetstream.KeyValue) jetstream.KeyValue {
	s.KeyValue = kv
	return s
}

func (s *slowKV) Update(ctx context.Context, key string, value []byte, rev uint64) (uint64, error) {
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	return s.KeyValue.Update(ctx, key, value, rev)
}

// TestKeeperManyClaims: a node with many claims keeps them all, though
// refreshing them one after the other takes longer than a lease (here 40
// claims, a refresh round trip of 50 ms, a lease of 1.5 s): the keeper
// does not wait for one refresh before sending the next.
func TestKeeperManyClaims(t *testing.T) {
	s := startServer(t)
	rs := newRefusals()
	slow := &slowKV{delay: 50 * time.Millisecond}
	n1 := startNode(t, s.ClientURL(), remote.WithName("n1"), remote.WithLease(1500*time.Millisecond),
		remote.WithNamesKV(slow.wrap), remote.WithRefusalHook(rs.hook))
	ctx := ctxTimeout(t, 30*time.Second)
	const claims = 40
	for i := range claims {
		if err := remote.Claim(ctx, n1, fmt.Sprintf("many-%d", i), spawn(t, n1), remote.Serve(Deposit)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(5 * time.Second) // several leases
	rs.mu.Lock()
	got := rs.got
	rs.mu.Unlock()
	if len(got) > 0 {
		t.Fatalf("%d refusals, first %+v; want every claim kept", len(got), got[0])
	}
	for i := range claims {
		if owner, err := remote.Owner(ctx, n1, fmt.Sprintf("many-%d", i)); err != nil || owner != "n1" {
			t.Fatalf("many-%d: owner %q, %v; want n1", i, owner, err)
		}
	}
}
