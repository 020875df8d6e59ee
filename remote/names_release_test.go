package remote_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-go/troupe/remote"
)

// raceKV is a names bucket whose first Update of key (the keeper's first
// refresh of its claim) waits, once the server has applied it, until
// resume is closed; it reports the Deletes of key that returned and the
// Updates of tick that began after that refresh returned.
type raceKV struct {
	jetstream.KeyValue
	key, tick string
	applied   chan struct{} // closed once the held refresh is applied
	resume    chan struct{}
	deleted   chan struct{} // one per Delete of key
	ticked    chan struct{} // one per Update of tick after the refresh
	mu        sync.Mutex
	held      bool
	returned  bool
}

func (k *raceKV) wrap(kv jetstream.KeyValue) jetstream.KeyValue {
	k.KeyValue = kv
	return k
}

func (k *raceKV) Update(ctx context.Context, key string, value []byte, last uint64) (uint64, error) {
	k.mu.Lock()
	hold := key == k.key && !k.held
	k.held = k.held || hold
	after := key == k.tick && k.returned
	k.mu.Unlock()
	if after {
		select {
		case k.ticked <- struct{}{}:
		default:
		}
	}
	rev, err := k.KeyValue.Update(ctx, key, value, last)
	if hold {
		close(k.applied)
		<-k.resume
		k.mu.Lock()
		k.returned = true
		k.mu.Unlock()
	}
	return rev, err
}

func (k *raceKV) Delete(ctx context.Context, key string, opts ...jetstream.KVDeleteOpt) error {
	err := k.KeyValue.Delete(ctx, key, opts...)
	if key == k.key {
		k.deleted <- struct{}{}
	}
	return err
}

// TestClaimReleasedDuringRefresh: a claim released (its actor stopped)
// while the keeper's refresh of it is on the way frees the name, though
// the release's delete, at the revision before the refresh, missed: the
// refresh's write is not left to name the node, which serves the name no
// more, for a lease (Owner reporting it, Claims elsewhere refused).
func TestClaimReleasedDuringRefresh(t *testing.T) {
	s := startServer(t)
	rs := newRefusals()
	k := &raceKV{key: "k", tick: "z", applied: make(chan struct{}), resume: make(chan struct{}),
		deleted: make(chan struct{}, 8), ticked: make(chan struct{}, 1)}
	n1 := startNode(t, s.ClientURL(), remote.WithName("n1"), remote.WithLease(3*time.Second),
		remote.WithNamesKV(k.wrap), remote.WithRefusalHook(rs.hook))
	n2 := startNode(t, s.ClientURL(), remote.WithName("n2"))
	ctx := ctxTimeout(t, 20*time.Second)
	ref := spawn(t, n1)
	if err := remote.Claim(ctx, n1, "k", ref, remote.Serve(Deposit)); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"z", "w"} {
		if err := remote.Claim(ctx, n1, name, spawn(t, n1), remote.Serve(Deposit)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-k.applied: // the keeper's refresh of k is written, its answer held
	case <-ctx.Done():
		t.Fatal("no refresh of k")
	}
	// The watch sees changes in order: once it has lost w to the
	// intruder, it has seen the refresh of k (while k was claimed).
	if _, err := namesBucket(ctx, t, n1).Put(ctx, "w", []byte("intruder")); err != nil {
		t.Fatal(err)
	}
	if r := rs.wait(t); r.Reason != remote.ReasonNameLost || r.Name != "w" {
		t.Fatalf("refusal %+v; want name_lost for \"w\"", r)
	}
	ref.Kill() // released: its delete, at the claim's revision, misses the refresh
	select {
	case <-k.deleted:
	case <-ctx.Done():
		t.Fatal("k not released")
	}
	close(k.resume)
	// The refresh's write deleted (by its keeper, with the fix), or the
	// keeper on its next round: too late, it was left.
	select {
	case <-k.deleted:
	case <-k.ticked:
	case <-ctx.Done():
		t.Fatal("no keeper round after the refresh")
	}
	if owner, err := remote.Owner(ctx, n2, "k"); !errors.Is(err, remote.ErrNotFound) {
		t.Fatalf("Owner of a name whose actor stopped = %q, %v; want ErrNotFound", owner, err)
	}
}
