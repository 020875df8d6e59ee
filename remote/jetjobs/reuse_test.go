package jetjobs_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/troupe-go/troupe/jobs"
	"github.com/troupe-go/troupe/remote/jetjobs"
)

// TestIDReusedAfterRetention: an id whose record is past its retention
// age is free again: a Submit with it runs a new job, whose Result is its
// own, not the old job's end (kept by the submitting node for an Await
// that never came).
func TestIDReusedAfterRetention(t *testing.T) {
	s := startServer(t)
	p := newProbe()
	ret := jetjobs.WithRetention(time.Second, 1<<20)
	a := startNode(t, s.ClientURL(), "a", p, false, ret)
	startNode(t, s.ClientURL(), "b", p, true, ret)
	ctx := ctxTimeout(t, 30*time.Second)
	_, err := a.d.Submit(ctx, "web", "echo", "old", jobs.ID("again"))
	must(t, err)
	for ended := false; ; time.Sleep(5 * time.Millisecond) { // ended, then gone; nobody awaits it
		r, err := a.b.Lookup(ctx, "again")
		if errors.Is(err, jobs.ErrNotFound) && ended {
			break
		}
		must(t, ctx.Err())
		ended = ended || (err == nil && r.State.Terminal())
	}
	j, err := a.d.Submit(ctx, "web", "echo", "new", jobs.ID("again"))
	must(t, err)
	v, err := result(t, j)
	if got, _ := v.(json.RawMessage); err != nil || string(got) != `"new!"` {
		t.Fatalf("Result of the new job: got %s, %v; want \"new!\"", got, err)
	}
	if p.calls.Load() != 2 {
		t.Fatalf("ran %d times; want 2", p.calls.Load())
	}
}
