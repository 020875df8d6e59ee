package remote_test

import (
	"errors"
	"testing"
	"time"

	"github.com/troupe-go/troupe/remote"
)

// TestClaimTwinNodesNotShared: of two nodes started with the same name
// (WithName), one's claim is not the other's: a Claim of the name on the
// second is refused (taken by the name the users gave, which Owner
// reports), rather than taking the first's key for a lost write of its
// own and serving the name beside it.
func TestClaimTwinNodesNotShared(t *testing.T) {
	s := startServer(t)
	a := startNode(t, s.ClientURL(), remote.WithName("twin"), remote.WithLease(time.Hour))
	b := startNode(t, s.ClientURL(), remote.WithName("twin"), remote.WithLease(time.Hour))
	ctx := ctxTimeout(t, 20*time.Second)
	refA := spawn(t, a)
	if err := remote.Claim(ctx, a, "x", refA, remote.Serve(Deposit)); err != nil {
		t.Fatalf("Claim on a: %v", err)
	}
	refB := spawn(t, b)
	err := remote.Claim(ctx, b, "x", refB, remote.Serve(Deposit))
	var taken *remote.NameTakenError
	if !errors.As(err, &taken) || taken.Owner != "twin" {
		t.Fatalf("Claim on b of a's name: %v; want *NameTakenError owned by twin", err)
	}
	for _, n := range []*remote.Node{a, b} {
		if owner, err := remote.Owner(ctx, n, "x"); err != nil || owner != "twin" {
			t.Fatalf("Owner = %q, %v; want twin, nil", owner, err)
		}
	}
	select {
	case <-refA.Done():
		t.Fatalf("a's actor stopped: its claim was taken by its twin")
	default:
	}
}

// TestClaimTwinWatchLeavesClaim: a node's watch of the names bucket does
// not take a claim of another node with the same name for a lost write of
// its own (and delete it): the claim stays, its actor lives.
func TestClaimTwinWatchLeavesClaim(t *testing.T) {
	s := startServer(t)
	rs := newRefusals()
	b := startNode(t, s.ClientURL(), remote.WithName("twin"), remote.WithLease(time.Hour), remote.WithRefusalHook(rs.hook))
	a := startNode(t, s.ClientURL(), remote.WithName("twin"), remote.WithLease(time.Hour))
	ctx := ctxTimeout(t, 20*time.Second)
	// b's watch runs (made with its first use of names), its claim w
	// made before a's watch: a's watch does not see it.
	if err := remote.Claim(ctx, b, "w", spawn(t, b), remote.Serve(Deposit)); err != nil {
		t.Fatalf("Claim on b: %v", err)
	}
	refA := spawn(t, a)
	if err := remote.Claim(ctx, a, "y", refA, remote.Serve(Deposit)); err != nil {
		t.Fatalf("Claim on a: %v", err)
	}
	// b's watch sees changes in order: once it has lost w to the
	// intruder, it has seen a's write of y.
	kv := namesBucket(ctx, t, a)
	if _, err := kv.Put(ctx, "w", []byte("intruder")); err != nil {
		t.Fatal(err)
	}
	if r := rs.wait(t); r.Reason != remote.ReasonNameLost || r.Name != "w" {
		t.Fatalf("refusal %+v; want name_lost for \"w\"", r)
	}
	if owner, err := remote.Owner(ctx, a, "y"); err != nil || owner != "twin" {
		t.Fatalf("Owner of a's name after b's watch saw it = %q, %v; want twin, nil", owner, err)
	}
	select {
	case <-refA.Done():
		t.Fatalf("a's actor stopped: its claim was deleted by its twin")
	default:
	}
}
