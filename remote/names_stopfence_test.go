package remote_test

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/remote"
)

// heldSess holds its turn in hold until held is closed; touch counts
// its runs.
type heldSess struct {
	entered, held chan struct{}
	touched       atomic.Int64
}

var (
	heldHold = actor.NewMethod("hold", func(s *heldSess, c *actor.Ctx, _ int) (int, error) {
		close(s.entered)
		select {
		case <-s.held:
		case <-c.Context().Done(): // the test failed: its cleanup closes n1
		}
		return 0, nil
	})
	heldTouch = actor.NewMethod("touch", func(s *heldSess, c *actor.Ctx, _ int) (int, error) {
		return int(s.touched.Add(1)), nil
	})
)

// TestShutdownFencesQueuedClaimedCall: a node's stop releases its
// claimed names first, and another node may claim one at once; a call
// queued at the old owner's actor (behind a running handler) whose turn
// comes after the release must not run there — the name has a new owner
// serving calls by then: it is refused as past a lease (ErrNotFound, the
// caller looks again), as lose does for a claim lost. The running
// handler finishes (its call began while the name was the node's).
func TestShutdownFencesQueuedClaimedCall(t *testing.T) {
	s := startServer(t)
	n1 := startNode(t, s.ClientURL(), remote.WithName("n1"))
	n2 := startNode(t, s.ClientURL(), remote.WithName("n2"))
	ctx := ctxTimeout(t, 20*time.Second)
	a := &heldSess{entered: make(chan struct{}), held: make(chan struct{})}
	ref, err := actor.Spawn(n1.Runtime(), a)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Claim(ctx, n1, "x", ref, remote.Serve(heldHold), remote.Serve(heldTouch)); err != nil {
		t.Fatal(err)
	}
	held := make(chan error, 1)
	go func() { _, err := remote.Bind(n2, "x", heldHold).Call(ctx, 0); held <- err }()
	<-a.entered
	queued := make(chan error, 1)
	go func() { _, err := remote.Bind(n2, "x", heldTouch).Call(ctx, 0); queued <- err }()
	for ref.Queued() == 0 {
		time.Sleep(time.Millisecond)
	}
	shut := make(chan error, 1)
	go func() { shut <- n1.Shutdown(ctx) }()
	for { // the stop has released the name
		if _, err := remote.Owner(ctx, n2, "x"); errors.Is(err, remote.ErrNotFound) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
	b := &heldSess{}
	refB, err := actor.Spawn(n2.Runtime(), b)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Claim(ctx, n2, "x", refB, remote.Serve(heldHold), remote.Serve(heldTouch)); err != nil {
		t.Fatalf("Claim on n2 once n1 released the name: %v", err)
	}
	// n1 left the name's queue group before it released the name: the
	// call reaches the new owner.
	if got, err := remote.Bind(n2, "x", heldTouch).Call(ctx, 0); err != nil || got != 1 {
		t.Fatalf("Call of the new owner = %d, %v; want 1, nil", got, err)
	}
	close(a.held)
	if err := <-held; err != nil {
		t.Errorf("the running handler's call: %v; want its reply", err)
	}
	if err := <-queued; !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("the queued call, whose turn came after the release: %v; want ErrNotFound", err)
	}
	if err := <-shut; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if n := a.touched.Load(); n != 0 {
		t.Errorf("the old owner ran %d calls after its node released the name (the new owner served meanwhile)", n)
	}
}
