package jetjobs_test

import (
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-go/troupe/jobs"
	"github.com/troupe-go/troupe/remote/jetjobs"
)

// TestRefusedSubmitKeepsQueueLimit: a Submit that is refused, or that
// returns the job its id already has, leaves its queue's concurrency as
// it was, as in memory (jobs.Queue: "a Submit that is refused leaves the
// limit as it was"; jobs.ID: "opts are not applied again"). Before, the
// backend set the queue's consumer's MaxAckPending before it created the
// record or published the message: an idempotent Submit, an ErrConflict,
// an ErrQueueFull or an ErrTooLarge each raised the limit, cluster-wide.
func TestRefusedSubmitKeepsQueueLimit(t *testing.T) {
	s := startServer(t)
	p := newProbe()
	a := startNode(t, s.ClientURL(), "a", p, false, jetjobs.WithMaxQueued(2))
	startNode(t, s.ClientURL(), "b", p, true, jetjobs.WithMaxQueued(2))
	ctx := ctxTimeout(t, 30*time.Second)
	running, err := a.d.Submit(ctx, "web", "hold", "r", jobs.Queue("one", 1), jobs.ID("r"))
	must(t, err)
	entered(t, p)
	waiting, err := a.d.Submit(ctx, "web", "echo", "w", jobs.Queue("one", 1))
	must(t, err)
	js, err := jetstream.New(a.nc)
	must(t, err)
	limit := func() int {
		t.Helper()
		st, err := js.Stream(ctx, "jobs_queue")
		must(t, err)
		l := st.ListConsumers(ctx)
		n := -2
		for ci := range l.Info() {
			if ci.Config.FilterSubject == "jobs.run."+tok("web")+"."+tok("one") {
				n = ci.Config.MaxAckPending
			}
		}
		must(t, l.Err())
		return n
	}
	if n := limit(); n != 1 {
		t.Fatalf("the queue's limit: %d; want 1", n)
	}
	// The same job again (idempotent): its options are not applied again.
	again, err := a.d.Submit(ctx, "web", "hold", "r", jobs.Queue("one", 2), jobs.ID("r"))
	if err != nil || again.ID() != running.ID() {
		t.Fatalf("Submit of the same job again: %v", err)
	}
	if n := limit(); n != 1 {
		t.Fatalf("after an idempotent Submit with concurrency 2: the queue's limit is %d; want 1", n)
	}
	if _, err := a.d.Submit(ctx, "web", "hold", "other", jobs.Queue("one", 3), jobs.ID("r")); !errors.Is(err, jobs.ErrConflict) {
		t.Fatalf("Submit of another job with its id: %v; want ErrConflict", err)
	}
	if n := limit(); n != 1 {
		t.Fatalf("after an ErrConflict with concurrency 3: the queue's limit is %d; want 1", n)
	}
	if _, err := a.d.Submit(ctx, "web", "echo", "x", jobs.Queue("one", 4)); !errors.Is(err, jobs.ErrQueueFull) {
		t.Fatalf("Submit beyond WithMaxQueued: %v; want ErrQueueFull", err)
	}
	if n := limit(); n != 1 {
		t.Fatalf("after an ErrQueueFull with concurrency 4: the queue's limit is %d; want 1", n)
	}
	big := make([]byte, 2<<20)
	for i := range big {
		big[i] = 'x'
	}
	if _, err := a.d.Submit(ctx, "web", "echo", string(big), jobs.Queue("one", 5)); !errors.Is(err, jobs.ErrTooLarge) {
		t.Fatalf("Submit over the max payload: %v; want ErrTooLarge", err)
	}
	if n := limit(); n != 1 {
		t.Fatalf("after an ErrTooLarge with concurrency 5: the queue's limit is %d; want 1", n)
	}
	if st := waiting.Status().State; st != jobs.Queued {
		t.Fatalf("the waiting job: %s; want queued behind the running one", st)
	}
	if !running.Cancel() {
		t.Fatal("Cancel: false")
	}
	if _, err := result(t, waiting); err != nil {
		t.Fatal(err)
	}
}
