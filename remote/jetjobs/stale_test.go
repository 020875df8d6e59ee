package jetjobs_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/troupe-go/troupe/jobs"
	"github.com/troupe-go/troupe/remote/jetjobs"
)

// TestStaleHandle: a *jobs.Job kept past its job's retention, its id now
// a new job's, acts on no job: Result, Collected and Cancel get
// jobs.ErrNotFound, and the new job runs on. They reached the backend by
// id alone: the stale handle awaited the new job's end, read its output
// and cancelled it.
func TestStaleHandle(t *testing.T) {
	s := startServer(t)
	p := newProbe()
	ret := jetjobs.WithRetention(time.Second, 1<<20)
	a := startNode(t, s.ClientURL(), "a", p, false, ret)
	startNode(t, s.ClientURL(), "b", p, true, ret)
	ctx := ctxTimeout(t, 30*time.Second)
	stale, err := a.d.Submit(ctx, "web", "echo", "old", jobs.ID("again")) // its record: queued
	must(t, err)
	for ended := false; ; time.Sleep(5 * time.Millisecond) { // ended, then gone
		r, err := a.b.Lookup(ctx, "again")
		if errors.Is(err, jobs.ErrNotFound) && ended {
			break
		}
		must(t, ctx.Err())
		ended = ended || (err == nil && r.State.Terminal())
	}
	j, err := a.d.Submit(ctx, "web", "hold", "new", jobs.ID("again"))
	must(t, err)
	if tag := entered(t, p); tag != "new" {
		t.Fatalf("hold ran with %q; want new", tag)
	}

	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	_, err = stale.Result(rctx, true)
	cancel()
	if !errors.Is(err, jobs.ErrNotFound) {
		t.Errorf("stale Result(wait): %v; want ErrNotFound", err)
	}
	if _, err := stale.Result(ctx, false); !errors.Is(err, jobs.ErrNotFound) {
		t.Errorf("stale Result(no wait): %v; want ErrNotFound", err)
	}
	if items, err := stale.Collected(); !errors.Is(err, jobs.ErrNotFound) {
		t.Errorf("stale Collected: %v, %v; want ErrNotFound", items, err)
	}
	if stale.Cancel() {
		t.Error("stale Cancel: true; want false")
	}
	if st := j.Status().State; st != jobs.Running {
		t.Fatalf("the new job: %s after the stale handle's calls; want running", st)
	}
	if !j.Cancel() {
		t.Fatal("Cancel of the new job: false")
	}
}
