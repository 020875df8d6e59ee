package jetjobs_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-go/troupe/jobs"
	"github.com/troupe-go/troupe/remote/jetjobs"
)

// TestCancelRequestLost: a job whose record was cancelled while the
// cancel request never reached its node (the request raced the job's
// start, or timed out) is still cancelled on its node, by its next lease
// refresh: its handler does not run on, holding its queue's slot.
func TestCancelRequestLost(t *testing.T) {
	a, j, p, _, kv, ctx := holding(t, "lost-cancel", jobs.Queue("one", 1))
	// What Cancel writes, without its request to the node.
	for {
		e, err := kv.Get(ctx, tok(j.ID()))
		must(t, err)
		var env map[string]json.RawMessage
		must(t, json.Unmarshal(e.Value(), &env))
		var rec jobs.Record
		must(t, json.Unmarshal(env["job"], &rec))
		rec.State, rec.Ended, rec.Error = jobs.Cancelled, time.Now(), jobs.Remote(jobs.ErrCancelled)
		env["job"], err = json.Marshal(rec)
		must(t, err)
		data, err := json.Marshal(env)
		must(t, err)
		if _, err = kv.Update(ctx, tok(j.ID()), data, e.Revision()); err == nil {
			break
		}
		if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			t.Fatal(err)
		}
	}
	waitFor(t, "the handler to see its cancel", func() bool { return p.running.Load() == 0 })
	next, err := a.d.Submit(ctx, "web", "echo", "next", jobs.Queue("one", 1))
	must(t, err)
	if _, err := result(t, next); err != nil {
		t.Fatalf("the next job of the queue: %v", err)
	}
}

// TestAwaitAfterClose: waiting for a job's result through a dispatcher
// that has closed (the job runs on another node) fails with an error
// matching jobs.ErrClosed, the dispatcher's sentinel (503 on its HTTP
// face), not with one of the backend's own that nothing maps.
func TestAwaitAfterClose(t *testing.T) {
	s := startServer(t)
	p := newProbe()
	a := startNode(t, s.ClientURL(), "a", p, false)
	startNode(t, s.ClientURL(), "b", p, true)
	ctx := ctxTimeout(t, 20*time.Second)
	j, err := a.d.Submit(ctx, "web", "hold", "outlives a")
	must(t, err)
	entered(t, p)
	must(t, a.d.Close())
	if _, err := j.Result(ctx, true); !errors.Is(err, jobs.ErrClosed) || !errors.Is(err, jetjobs.ErrClosed) {
		t.Fatalf("Result after Close: got %v; want an error matching jobs.ErrClosed and jetjobs.ErrClosed", err)
	}
}
