package jetjobs_test

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/jobs"
)

// TestProcedureElsewhere: a job of host "web" comes to a node that
// serves web but has not registered the job's procedure (another node
// has: a rolling upgrade adds a procedure, or nodes of one host register
// different ones). Before, that node failed the job with
// jobs.ErrUnknownProcedure, although a node that has the procedure could
// run it. It now puts the message back, untouched, for a node that has
// it: the job stays queued and runs there.
func TestProcedureElsewhere(t *testing.T) {
	a, c, url, p := elsewhereNodes(t)
	ctx := ctxTimeout(t, 30*time.Second)
	j, err := a.d.Submit(ctx, "web", "work", 1)
	must(t, err)
	js, err := jetstream.New(a.nc)
	must(t, err)
	waitFor(t, "the job's message to reach c", func() bool {
		st, err := js.Stream(ctx, "jobs_queue")
		if err != nil {
			return false
		}
		found := false
		for info := range st.ListConsumers(ctx).Info() { // all of them: a lister left behind leaks its goroutine
			if info.Delivered.Stream > 0 {
				found = true
			}
		}
		return found
	})
	must(t, c.d.Close()) // c's delivery settled
	if r, err := a.b.Lookup(ctx, j.ID()); err != nil || r.State != jobs.Queued {
		t.Fatalf("the job after c had it: %v, %v; want queued", r.State, err)
	}
	startNode(t, url, "d", p, true)
	if v, err := result(t, j); err != nil {
		t.Fatalf("Result: %v, %v; want it run on d", v, err)
	}
}

// TestProcedureOnlyOnDeadNode: the head job of a queue of concurrency 1
// has a procedure that only a node now gone registered. The nodes that
// serve its host put its message back, a second apart, and it holds the
// queue's one place (JetStream counts a message put back with a delay
// against the consumer's MaxAckPending): the jobs behind it wait, in
// order, as the package doc says. Cancelling it frees the place at its
// next delivery, and the jobs behind it run.
func TestProcedureOnlyOnDeadNode(t *testing.T) {
	a, _, _, _ := elsewhereNodes(t)
	ctx := ctxTimeout(t, 30*time.Second)
	one := jobs.Queue("one", 1)
	head, err := a.d.Submit(ctx, "web", "work", 1, one)
	must(t, err)
	next, err := a.d.Submit(ctx, "web", "echo", "y", one)
	must(t, err)
	js, err := jetstream.New(a.nc)
	must(t, err)
	var info *jetstream.ConsumerInfo
	waitFor(t, "the head job to be put back twice", func() bool {
		st, err := js.Stream(ctx, "jobs_queue")
		if err != nil {
			return false
		}
		found := false
		for i := range st.ListConsumers(ctx).Info() { // all of them: a lister left behind leaks its goroutine
			if i.Config.MaxAckPending == 1 && i.Delivered.Consumer >= 3 {
				info, found = i, true
			}
		}
		return found
	})
	if info.NumAckPending != 1 || info.NumPending != 1 {
		t.Fatalf("queue one: %d delivered and not acknowledged, %d not delivered; want 1 (the head), 1 (the next)", info.NumAckPending, info.NumPending)
	}
	if r, err := a.b.Lookup(ctx, next.ID()); err != nil || r.State != jobs.Queued {
		t.Fatalf("the job behind the head: %v, %v; want queued", r.State, err)
	}
	if !head.Cancel() {
		t.Fatal("Cancel: false; want true (the head job queued)")
	}
	if v, err := result(t, next); err != nil {
		t.Fatalf("the job behind the head: %v, %v; want it run on c once the head is cancelled", v, err)
	}
}

// elsewhereNodes starts the cluster of the tests above on a server of
// their own: b registered web's procedures and went (they stay known), c
// serves web with echo only, and a, where jobs are submitted, serves
// nothing; url is the server's, p the nodes' probe.
func elsewhereNodes(t *testing.T) (a, c *node, url string, p *probe) {
	t.Helper()
	s := startServer(t)
	url, p = s.ClientURL(), newProbe()
	b := startNode(t, url, "b", p, true)
	must(t, b.d.Close())
	c = startNode(t, url, "c", p, false)
	ref, err := actor.Spawn(c.rt, &agent{p: p})
	must(t, err)
	must(t, jobs.Register(c.d, jobs.Ref("web", ref), echo))
	return startNode(t, url, "a", p, false), c, url, p
}
