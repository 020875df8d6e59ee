package jetjobs_test

import (
	"errors"
	"testing"

	"github.com/troupe-go/troupe/jobs"
)

// TestLeaseKept: a job running for several leases keeps its lease — its
// message is never redelivered, its record is rewritten a third of a
// lease apart — and stays running, run once, until it is cancelled.
func TestLeaseKept(t *testing.T) {
	_, j, p, js, kv, ctx := holding(t, "long")
	revision := func() uint64 {
		e, err := kv.Get(ctx, tok(j.ID()))
		if err != nil {
			t.Fatalf("record: %v", err)
		}
		return e.Revision()
	}
	// Rewrites begin a third of a lease apart: 6 take twice a lease, in
	// which a message not refreshed would have come back.
	first := revision()
	waitFor(t, "the record rewritten 6 times", func() bool { return revision() >= first+6 })
	queue, err := js.Stream(ctx, "jobs_queue")
	must(t, err)
	for names := queue.ConsumerNames(ctx); ; {
		name, ok := <-names.Name()
		if !ok {
			break
		}
		c, err := queue.Consumer(ctx, name)
		must(t, err)
		if info := c.CachedInfo(); info.NumRedelivered != 0 {
			t.Fatalf("consumer %s: %d redelivered; want 0 (the lease is refreshed)", name, info.NumRedelivered)
		}
	}
	if st := j.Status().State; st != jobs.Running {
		t.Fatalf("after 6 rewrites: got %s; want running", st)
	}
	if !j.Cancel() {
		t.Fatal("Cancel: false")
	}
	if _, err := result(t, j); !errors.Is(err, jobs.ErrCancelled) {
		t.Fatalf("Result: got %v; want ErrCancelled", err)
	}
	if got := p.calls.Load(); got != 1 {
		t.Fatalf("handler runs: got %d; want 1", got)
	}
}
