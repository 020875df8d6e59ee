package remote_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-go/troupe/remote"
)

// holdCreateKV is a names bucket whose first Create of key waits until
// resume is closed before it is sent (reached is closed then).
type holdCreateKV struct {
	jetstream.KeyValue
	key             string
	reached, resume chan struct{}
	once            sync.Once
}

func (h *holdCreateKV) wrap(kv jetstream.KeyValue) jetstream.KeyValue {
	h.KeyValue = kv
	return h
}

func (h *holdCreateKV) Create(ctx context.Context, key string, value []byte, opts ...jetstream.KVCreateOpt) (uint64, error) {
	if key == h.key {
		h.once.Do(func() {
			close(h.reached)
			<-h.resume
		})
	}
	return h.KeyValue.Create(ctx, key, value, opts...)
}

// TestLookupOrSpawnSameNodeConcurrent: of two LookupOrSpawns of one name
// on one node at once, the one that finds the other's Claim under way
// waits for it and returns its node (created false), rather than try
// again and again while that Claim's Create is on the way and fail with
// ErrNameTaken ("changes owner too fast"), which LookupOrSpawn never
// returns for a name that has an owner.
func TestLookupOrSpawnSameNodeConcurrent(t *testing.T) {
	s := startServer(t)
	h := &holdCreateKV{key: "s", reached: make(chan struct{}), resume: make(chan struct{})}
	n1 := startNode(t, s.ClientURL(), remote.WithName("n1"), remote.WithNamesKV(h.wrap))
	ctx := ctxTimeout(t, 20*time.Second)
	type result struct {
		owner   string
		created bool
		err     error
	}
	lookup := func() <-chan result {
		ch := make(chan result, 1)
		go func() {
			owner, created, err := remote.LookupOrSpawn(ctx, n1, "s", newAcct, remote.Serve(Deposit))
			ch <- result{owner, created, err}
		}()
		return ch
	}
	first := lookup()
	<-h.reached // first's Create is held, its placeholder in place
	second := lookup()
	var got result
	for waited := false; !waited; {
		select {
		case got = <-second:
			t.Fatalf("second LookupOrSpawn, while the first's Claim was under way = %q, %v, %v; want it to wait", got.owner, got.created, got.err)
		default:
		}
		waited = remote.ClaimAwaited(n1, "s")
		time.Sleep(time.Millisecond)
	}
	close(h.resume)
	if got = <-first; got.err != nil || got.owner != "n1" || !got.created {
		t.Fatalf("first LookupOrSpawn = %q, %v, %v; want n1, true, nil", got.owner, got.created, got.err)
	}
	if got = <-second; got.err != nil || got.owner != "n1" || got.created {
		t.Fatalf("second LookupOrSpawn = %q, %v, %v; want n1, false, nil", got.owner, got.created, got.err)
	}
	if n, err := remote.Bind(n1, "s", Deposit).Call(ctx, 4); err != nil || n != 4 {
		t.Fatalf("Call = %d, %v; want 4, nil", n, err)
	}
}
