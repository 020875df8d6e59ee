package jetjobs_test

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-go/troupe/jobs"
	"github.com/troupe-go/troupe/remote/jetjobs"
)

// TestRecordsBucketGone: while the jobs' record bucket is not there
// (deleted, until it is restored), Lookup says the store is away
// (jobs.ErrUnavailable), not that the job was never submitted, and a
// runner that gets a queued job's message puts it back for later rather
// than dead-letter it as a job whose record is gone: once the bucket is
// back, the job runs.
func TestRecordsBucketGone(t *testing.T) {
	s := startServer(t)
	p := newProbe()
	// A lease that lets a runner's first write fail (nats.go retries a
	// publish that finds no stream for about half a second) and read the
	// record within its store operation's bound.
	lease := jetjobs.WithLease(2 * time.Second)
	a := startNode(t, s.ClientURL(), "a", p, false, lease)
	b := startNode(t, s.ClientURL(), "b", p, true, lease) // registers web's procedures…
	_ = b.d.Close()                                       // …and serves web no more
	c := startNode(t, s.ClientURL(), "c", p, false, lease)
	ctx := ctxTimeout(t, 40*time.Second)
	j, err := a.d.Submit(ctx, "web", "echo", "back")
	must(t, err)

	js, err := jetstream.New(a.nc)
	must(t, err)
	kv, err := js.KeyValue(ctx, "jobs_jobs")
	must(t, err)
	e, err := kv.Get(ctx, tok(j.ID()))
	must(t, err)
	stream, err := js.Stream(ctx, "KV_jobs_jobs")
	must(t, err)
	info, err := stream.Info(ctx)
	must(t, err)
	must(t, js.DeleteKeyValue(ctx, "jobs_jobs"))

	if _, err := a.b.Lookup(ctx, j.ID()); !errors.Is(err, jobs.ErrUnavailable) || errors.Is(err, jobs.ErrNotFound) {
		t.Fatalf("Lookup with the bucket gone: got %v; want ErrUnavailable, not ErrNotFound", err)
	}

	c.host(t) // serves web: its queue's message comes to c
	dead, err := js.Stream(ctx, "jobs_dead")
	must(t, err)
	queue, err := js.Stream(ctx, "jobs_queue")
	must(t, err)
	deadLetters := func() uint64 {
		i, err := dead.Info(ctx)
		if err != nil {
			return 0
		}
		return i.State.Msgs
	}
	// Delivered three times: at least twice to c, the one node serving
	// web (the first delivery may go to a pull that b left on the server
	// as it stopped, and come back after the lease).
	waitFor(t, "the job's message delivered three times, or dead-lettered", func() bool {
		if deadLetters() > 0 {
			return true
		}
		for ci := range queue.ListConsumers(ctx).Info() {
			if ci.Delivered.Consumer >= 3 {
				return true
			}
		}
		return false
	})
	if n := deadLetters(); n != 0 {
		t.Fatalf("the job's message came up with its bucket gone: %d dead letters; want none (put back)", n)
	}

	// The bucket restored: the record as it was, its generation its
	// creation's revision (as a restore from a backup keeps it).
	_, err = js.CreateStream(ctx, info.Config)
	must(t, err)
	rec := strings.Replace(string(e.Value()), `{"v":1,`, `{"v":1,"gen":`+strconv.FormatUint(e.Revision(), 10)+`,`, 1)
	if _, err := js.Publish(ctx, "$KV.jobs_jobs."+tok(j.ID()), []byte(rec)); err != nil {
		t.Fatal(err)
	}
	if v, err := result(t, j); err != nil || string(v.(json.RawMessage)) != `"back!"` {
		t.Fatalf("the job once its bucket is back: got %v, %v; want \"back!\"", v, err)
	}
}
