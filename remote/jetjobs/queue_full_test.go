package jetjobs_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-go/troupe/jobs"
	"github.com/troupe-go/troupe/remote/jetjobs"
)

// TestQueueFullBytes: a Submit that the queue stream refuses because it
// holds its bytes (WithRetention's) fails with jobs.ErrQueueFull, not
// jobs.ErrUnavailable, and leaves no record: the job is not found, and
// the same id submitted again once there is room runs.
func TestQueueFullBytes(t *testing.T) {
	s := startServer(t)
	p := newProbe()
	a := startNode(t, s.ClientURL(), "a", p, true, jetjobs.WithRetention(time.Hour, 64<<10))
	ctx := ctxTimeout(t, 20*time.Second)
	js, err := jetstream.New(a.nc)
	must(t, err)
	// Fill the queue stream with the messages of a host nobody serves:
	// large ones, then small ones, until not even a small one fits.
	filler := "jobs.run." + base64.RawURLEncoding.EncodeToString([]byte("nobody")) + "._"
	for _, size := range []int{1024, 1} {
		for i := 0; ; i++ {
			if i == 10_000 {
				t.Fatalf("the queue stream took %d messages of %d bytes", i, size)
			}
			_, err := js.Publish(ctx, filler, make([]byte, size))
			if err == nil {
				continue
			}
			var apiErr *jetstream.APIError
			if !errors.As(err, &apiErr) || apiErr.Description != "maximum bytes exceeded" {
				t.Fatalf("filling the queue stream: %v", err)
			}
			break
		}
	}
	_, err = a.d.Submit(ctx, "web", "echo", "x", jobs.ID("full"))
	if !errors.Is(err, jobs.ErrQueueFull) || errors.Is(err, jobs.ErrUnavailable) {
		t.Fatalf("Submit to a queue stream over its bytes: got %v; want jobs.ErrQueueFull", err)
	}
	if _, err := a.d.Job("full"); !errors.Is(err, jobs.ErrNotFound) {
		t.Fatalf("the refused job: got %v; want not found", err)
	}
	q, err := js.Stream(ctx, "jobs_queue")
	must(t, err)
	must(t, q.Purge(ctx, jetstream.WithPurgeSubject(filler)))
	j, err := a.d.Submit(ctx, "web", "echo", "x", jobs.ID("full"))
	must(t, err)
	if v, err := result(t, j); err != nil || string(v.(json.RawMessage)) != `"x!"` {
		t.Fatalf("the job submitted again: got %v, %v", v, err)
	}
}

// TestQueueFullCount: a Submit beyond WithMaxQueued jobs of a host and
// queue (waiting or running) fails with jobs.ErrQueueFull and leaves no
// record; once a slot is free, the same id is taken and runs.
func TestQueueFullCount(t *testing.T) {
	s := startServer(t)
	p := newProbe()
	a := startNode(t, s.ClientURL(), "a", p, false, jetjobs.WithMaxQueued(2))
	startNode(t, s.ClientURL(), "b", p, true, jetjobs.WithMaxQueued(2))
	ctx := ctxTimeout(t, 20*time.Second)
	one := jobs.Queue("one", 1)
	running, err := a.d.Submit(ctx, "web", "hold", "r", one)
	must(t, err)
	entered(t, p)
	waiting, err := a.d.Submit(ctx, "web", "echo", "w", one)
	must(t, err)
	_, err = a.d.Submit(ctx, "web", "echo", "x", one, jobs.ID("over"))
	if !errors.Is(err, jobs.ErrQueueFull) || errors.Is(err, jobs.ErrUnavailable) {
		t.Fatalf("Submit beyond WithMaxQueued: got %v; want jobs.ErrQueueFull", err)
	}
	if _, err := a.d.Job("over"); !errors.Is(err, jobs.ErrNotFound) {
		t.Fatalf("the refused job: got %v; want not found", err)
	}
	// Another queue of the host is not full.
	other, err := a.d.Submit(ctx, "web", "echo", "o")
	must(t, err)
	if _, err := result(t, other); err != nil {
		t.Fatal(err)
	}
	if !running.Cancel() {
		t.Fatal("Cancel of the running job: false")
	}
	if _, err := result(t, waiting); err != nil {
		t.Fatal(err)
	}
	var j *jobs.Job
	waitFor(t, "a slot in the queue", func() bool {
		j, err = a.d.Submit(context.Background(), "web", "echo", "x", one, jobs.ID("over"))
		if err != nil && !errors.Is(err, jobs.ErrQueueFull) {
			t.Fatalf("Submit again: %v", err)
		}
		return err == nil
	})
	if v, err := result(t, j); err != nil || string(v.(json.RawMessage)) != `"x!"` {
		t.Fatalf("the job submitted again: got %v, %v", v, err)
	}
}
