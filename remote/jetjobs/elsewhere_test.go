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
	s := startServer(t)
	p := newProbe()
	b := startNode(t, s.ClientURL(), "b", p, true) // registers web's procedures
	must(t, b.d.Close())                           // and goes: they stay known
	c := startNode(t, s.ClientURL(), "c", p, false)
	ref, err := actor.Spawn(c.rt, &agent{p: p})
	must(t, err)
	must(t, jobs.Register(c.d, jobs.Ref("web", ref), echo)) // web on c: echo only
	a := startNode(t, s.ClientURL(), "a", p, false)
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
		for info := range st.ListConsumers(ctx).Info() {
			if info.Delivered.Stream > 0 {
				return true
			}
		}
		return false
	})
	must(t, c.d.Close()) // c's delivery settled
	if r, err := a.b.Lookup(ctx, j.ID()); err != nil || r.State != jobs.Queued {
		t.Fatalf("the job after c had it: %v, %v; want queued", r.State, err)
	}
	startNode(t, s.ClientURL(), "d", p, true)
	if v, err := result(t, j); err != nil {
		t.Fatalf("Result: %v, %v; want it run on d", v, err)
	}
}
