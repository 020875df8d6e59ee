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

// staleKV is a names bucket whose first Update of key (the keeper's first
// refresh of its claim) waits, before it is sent, until resume is closed;
// late records whether that refresh's ctx had ended by then. It reports
// the Deletes of key that returned, and each Update of key that returned
// after the held one.
type staleKV struct {
	jetstream.KeyValue
	key      string
	held     chan struct{} // closed once the refresh is held
	resume   chan struct{}
	deleted  chan struct{} // one per Delete of key
	updated  chan struct{} // one per Update of key returned after the held one
	mu       sync.Mutex
	holding  bool
	returned bool
	late     bool
}

func (k *staleKV) wrap(kv jetstream.KeyValue) jetstream.KeyValue {
	k.KeyValue = kv
	return k
}

func (k *staleKV) Update(ctx context.Context, key string, value []byte, last uint64) (uint64, error) {
	k.mu.Lock()
	hold := key == k.key && !k.holding
	k.holding = k.holding || hold
	after := key == k.key && k.returned
	k.mu.Unlock()
	if hold {
		close(k.held)
		<-k.resume
		k.mu.Lock()
		k.late = ctx.Err() != nil
		k.mu.Unlock()
	}
	rev, err := k.KeyValue.Update(ctx, key, value, last)
	if hold {
		k.mu.Lock()
		k.returned = true
		k.mu.Unlock()
	}
	if after {
		select {
		case k.updated <- struct{}{}:
		default:
		}
	}
	return rev, err
}

func (k *staleKV) Delete(ctx context.Context, key string, opts ...jetstream.KVDeleteOpt) error {
	err := k.KeyValue.Delete(ctx, key, opts...)
	if key == k.key {
		select {
		case k.deleted <- struct{}{}:
		default:
		}
	}
	return err
}

// TestClaimRefreshOutlivesItsClaim: a keeper's refresh of a claim that
// reaches the server after the claim was released and the name claimed
// again on the same node (the key now the new claim's, with the same
// mark) leaves the new claim's key alone: it neither takes it over nor
// deletes it as a stray, which freed the name under its new actor (Owner
// said nobody) and had the keeper lose the new claim, killing its actor.
func TestClaimRefreshOutlivesItsClaim(t *testing.T) {
	s := startServer(t)
	k := &staleKV{key: "k", held: make(chan struct{}), resume: make(chan struct{}),
		deleted: make(chan struct{}, 8), updated: make(chan struct{}, 1)}
	n1 := startNode(t, s.ClientURL(), remote.WithName("n1"), remote.WithLease(3*time.Second),
		remote.WithNamesKV(k.wrap))
	n2 := startNode(t, s.ClientURL(), remote.WithName("n2"))
	ctx := ctxTimeout(t, 20*time.Second)
	ref := spawn(t, n1)
	if err := remote.Claim(ctx, n1, "k", ref, remote.Serve(Deposit)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-k.held: // the keeper's refresh of k is on its way, not sent yet
	case <-ctx.Done():
		t.Fatal("no refresh of k")
	}
	ref.Kill() // released: its delete, at the claim's revision, takes
	select {
	case <-k.deleted:
	case <-ctx.Done():
		t.Fatal("k not released")
	}
	again := spawn(t, n1)
	if err := remote.Claim(ctx, n1, "k", again, remote.Serve(Deposit)); err != nil {
		t.Fatal(err)
	}
	close(k.resume)
	// The next keeper round, after the one of the held refresh, refreshes
	// the new claim.
	select {
	case <-k.updated:
	case <-ctx.Done():
		t.Fatal("no keeper round after the refresh")
	}
	k.mu.Lock()
	late := k.late
	k.mu.Unlock()
	if late {
		t.Skip("the held refresh's ctx ended before it was sent: the machine was too slow for the test's premise")
	}
	if owner, err := remote.Owner(ctx, n2, "k"); err != nil || owner != "n1" {
		t.Fatalf("Owner of a name claimed again = %q, %v; want n1", owner, err)
	}
	if again.Stopped() {
		t.Fatal("the actor of the name claimed again was stopped")
	}
}
