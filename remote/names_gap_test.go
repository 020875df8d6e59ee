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

// gapKV is a names bucket whose next Create of a key runs gap after the
// server has answered it (once).
type gapKV struct {
	jetstream.KeyValue
	mu  sync.Mutex
	gap map[string]func(ctx context.Context, rev uint64, err error) (uint64, error)
}

func newGapKV() *gapKV {
	return &gapKV{gap: map[string]func(context.Context, uint64, error) (uint64, error){}}
}

func (g *gapKV) wrap(kv jetstream.KeyValue) jetstream.KeyValue {
	g.KeyValue = kv
	return g
}

// on makes the next Create of key run f with the server's answer; f's
// result is Create's.
func (g *gapKV) on(key string, f func(ctx context.Context, rev uint64, err error) (uint64, error)) {
	g.mu.Lock()
	g.gap[key] = f
	g.mu.Unlock()
}

func (g *gapKV) Create(ctx context.Context, key string, value []byte, opts ...jetstream.KVCreateOpt) (uint64, error) {
	g.mu.Lock()
	f := g.gap[key]
	delete(g.gap, key)
	g.mu.Unlock()
	if f == nil {
		return g.KeyValue.Create(ctx, key, value, opts...)
	}
	rev, err := g.KeyValue.Create(context.WithoutCancel(ctx), key, value, opts...)
	return f(ctx, rev, err)
}

// TestClaimAnswerLost: a Claim whose ctx ends after the server created
// the name's key but before its answer came back leaves no key behind:
// the name is free at once for Owner and for other nodes' Claim, not
// held by a node that does not serve it until its lease runs out.
func TestClaimAnswerLost(t *testing.T) {
	s := startServer(t)
	g := newGapKV()
	n1 := startNode(t, s.ClientURL(), remote.WithName("n1"), remote.WithLease(time.Minute), remote.WithNamesKV(g.wrap))
	n2 := startNode(t, s.ClientURL(), remote.WithName("n2"), remote.WithLease(time.Minute))
	ctx := ctxTimeout(t, 20*time.Second)
	claimCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	g.on("lost", func(_ context.Context, rev uint64, err error) (uint64, error) {
		if err != nil {
			t.Errorf("Create: %v", err)
		}
		cancel() // the ctx ends before the answer arrives
		return 0, context.Canceled
	})
	if err := remote.Claim(claimCtx, n1, "lost", spawn(t, n1), remote.Serve(Deposit)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Claim whose answer was lost: %v; want context.Canceled", err)
	}
	if owner, err := remote.Owner(ctx, n2, "lost"); !errors.Is(err, remote.ErrNotFound) {
		t.Fatalf("Owner after the failed Claim = %q, %v; want ErrNotFound", owner, err)
	}
	if err := remote.Claim(ctx, n2, "lost", spawn(t, n2), remote.Serve(Deposit)); err != nil {
		t.Fatalf("Claim on n2 after n1's failed Claim: %v; want the name free", err)
	}
}

// TestClaimNameFreedDuringClaim: a name released between a Claim's
// Create (refused: the key exists) and its look at the owner is free: the
// Claim takes it, rather than report it taken by no one.
func TestClaimNameFreedDuringClaim(t *testing.T) {
	s := startServer(t)
	g := newGapKV()
	n1 := startNode(t, s.ClientURL(), remote.WithName("n1"))
	n2 := startNode(t, s.ClientURL(), remote.WithName("n2"), remote.WithNamesKV(g.wrap))
	ctx := ctxTimeout(t, 20*time.Second)
	if err := remote.Claim(ctx, n1, "freed", spawn(t, n1), remote.Serve(Deposit)); err != nil {
		t.Fatalf("Claim on n1: %v", err)
	}
	if _, err := remote.Owner(ctx, n2, "freed"); err != nil { // n2's bucket ready
		t.Fatalf("Owner: %v", err)
	}
	g.on("freed", func(ctx context.Context, rev uint64, err error) (uint64, error) {
		if !errors.Is(err, jetstream.ErrKeyExists) {
			t.Errorf("Create of n1's name: %v; want ErrKeyExists", err)
		}
		if derr := g.KeyValue.Delete(ctx, "freed"); derr != nil { // n1 lets it go
			t.Errorf("Delete: %v", derr)
		}
		return rev, err
	})
	if err := remote.Claim(ctx, n2, "freed", spawn(t, n2), remote.Serve(Deposit)); err != nil {
		t.Fatalf("Claim of a name freed during the Claim: %v; want nil", err)
	}
	if owner, err := remote.Owner(ctx, n1, "freed"); err != nil || owner != "n2" {
		t.Fatalf("Owner = %q, %v; want n2, nil", owner, err)
	}
}

// lateKV is a names bucket whose next Create of a key is answered with
// its ctx's end at once, while the request is still on its way: the
// server applies it only after the next Get of the key has been answered
// (the Claim's look for a key to clean up), as a request delayed in the
// server or the cluster would be.
type lateKV struct {
	jetstream.KeyValue
	mu     sync.Mutex
	key    string
	armed  bool
	got    chan struct{} // closed once the Get has returned
	landed chan error    // the late Create's outcome
}

func (l *lateKV) wrap(kv jetstream.KeyValue) jetstream.KeyValue {
	l.KeyValue = kv
	return l
}

func (l *lateKV) Create(ctx context.Context, key string, value []byte, opts ...jetstream.KVCreateOpt) (uint64, error) {
	l.mu.Lock()
	late := l.armed && key == l.key
	l.armed = l.armed && !late
	got := l.got
	l.mu.Unlock()
	if !late {
		return l.KeyValue.Create(ctx, key, value, opts...)
	}
	go func() {
		<-got
		_, err := l.KeyValue.Create(context.Background(), key, value, opts...)
		l.landed <- err
	}()
	return 0, context.DeadlineExceeded
}

func (l *lateKV) Get(ctx context.Context, key string) (jetstream.KeyValueEntry, error) {
	e, err := l.KeyValue.Get(ctx, key)
	l.mu.Lock()
	if key == l.key && l.got != nil && !l.armed {
		close(l.got)
		l.got = nil
	}
	l.mu.Unlock()
	return e, err
}

// TestClaimAnswerLostLate: a Claim whose Create fails while the request
// is still on its way (the server applies it after the Claim has looked
// for a key of its own to delete) leaves no key behind either: the name is
// free again at once, not held until its lease runs out by a node that
// does not serve it.
func TestClaimAnswerLostLate(t *testing.T) {
	s := startServer(t)
	l := &lateKV{key: "late", armed: true, got: make(chan struct{}), landed: make(chan error, 1)}
	n1 := startNode(t, s.ClientURL(), remote.WithName("n1"), remote.WithLease(time.Minute), remote.WithNamesKV(l.wrap))
	n2 := startNode(t, s.ClientURL(), remote.WithName("n2"), remote.WithLease(time.Minute))
	ctx := ctxTimeout(t, 20*time.Second)
	if err := remote.Claim(ctx, n1, "late", spawn(t, n1), remote.Serve(Deposit)); !errors.Is(err, remote.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Claim whose Create was lost: %v; want a timeout", err)
	}
	if err := <-l.landed; err != nil {
		t.Fatalf("late Create: %v", err)
	}
	// The late write is seen by n1's watch of the bucket, which runs on
	// its own: wait for the name to be free (well within the lease).
	wait := ctxTimeout(t, 10*time.Second)
	for {
		owner, err := remote.Owner(ctx, n2, "late")
		if errors.Is(err, remote.ErrNotFound) {
			break
		}
		if wait.Err() != nil {
			t.Fatalf("Owner after the failed Claim = %q, %v; want ErrNotFound before the lease ends", owner, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := remote.Claim(ctx, n2, "late", spawn(t, n2), remote.Serve(Deposit)); err != nil {
		t.Fatalf("Claim on n2 after n1's failed Claim: %v; want the name free", err)
	}
}
