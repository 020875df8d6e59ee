package jetjobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/jobs"
)

// TestSubmitHereRunThere: a job submitted on a node without the host runs
// on the node that has it; its result, status and output are read on the
// first, and found again by id from a third.
func TestSubmitHereRunThere(t *testing.T) {
	s := startServer(t)
	p := newProbe()
	a := startNode(t, s.ClientURL(), "a", p, false)
	b := startNode(t, s.ClientURL(), "b", p, true)
	c := startNode(t, s.ClientURL(), "c", p, false)
	ctx := ctxTimeout(t, 20*time.Second)

	j, err := a.d.Submit(ctx, "web", "echo", json.RawMessage(`"hi"`), jobs.Info(map[string]string{"by": "test"}))
	if err != nil {
		t.Fatalf("Submit: %v", err)
	}
	v, err := result(t, j)
	if err != nil || string(v.(json.RawMessage)) != `"hi!"` {
		t.Fatalf("Result: got %v, %v; want \"hi!\"", v, err)
	}
	st := j.Status()
	if st.State != jobs.Done || st.Started.IsZero() || st.Ended.Before(st.Started) {
		t.Fatalf("Status: got %+v; want done with its times", st)
	}
	if p.calls.Load() != 1 {
		t.Fatalf("handler ran %d times; want 1", p.calls.Load())
	}
	again, err := c.d.Job(j.ID())
	if err != nil {
		t.Fatalf("Job on c: %v", err)
	}
	if v, err := again.Result(ctx, false); err != nil || string(v.(json.RawMessage)) != `"hi!"` {
		t.Fatalf("Result on c: got %v, %v", v, err)
	}
	if got := string(again.Info().(json.RawMessage)); got != `{"by":"test"}` {
		t.Fatalf("Info on c: got %s", got)
	}
	select {
	case <-again.Done():
	default:
		t.Fatal("Done of an ended job: not closed")
	}

	// A typed argument on the node that has the host; an error outcome.
	j, err = b.d.Submit(ctx, "web", "echo", "typed")
	if err != nil {
		t.Fatal(err)
	}
	if v, err := result(t, j); err != nil || string(v.(json.RawMessage)) != `"typed!"` {
		t.Fatalf("typed: got %v, %v", v, err)
	}
	j, err = a.d.Submit(ctx, "web", "fail", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = result(t, j)
	listed := c.d.List(jobs.Filter{Host: "web", States: []jobs.State{jobs.Done, jobs.Failed}})
	if len(listed) != 3 || listed[0].Procedure() != "echo" || listed[2].Procedure() != "fail" {
		t.Fatalf("List on c: got %d jobs; want 3, by submit time", len(listed))
	}
	var re *jobs.RemoteError
	if !errors.As(err, &re) || re.Type != "error" || re.Message != "failing: boom" || j.Status().State != jobs.Failed {
		t.Fatalf("fail: got %v (%#v), state %s; want the handler's error, failed", err, re, j.Status().State)
	}
}

// TestSubmitRefusals: bad input is refused with the sentinels, and
// nothing is stored.
func TestSubmitRefusals(t *testing.T) {
	s := startServer(t)
	p := newProbe()
	a := startNode(t, s.ClientURL(), "a", p, false)
	startNode(t, s.ClientURL(), "b", p, true)
	ctx := ctxTimeout(t, 20*time.Second)
	for _, tc := range []struct {
		host, proc string
		args       any
		want       error
	}{
		{"nohost", "echo", nil, jobs.ErrUnknownHost},
		{"web", "nothing", nil, jobs.ErrUnknownProcedure},
		{"web", "echo", json.RawMessage(`{not json`), jobs.ErrBadArgs},
		{"web", "echo", func() {}, jobs.ErrBadArgs},
	} {
		_, err := a.d.Submit(ctx, tc.host, tc.proc, tc.args)
		if !errors.Is(err, tc.want) {
			t.Errorf("Submit(%s, %s): got %v; want %v", tc.host, tc.proc, err, tc.want)
		}
	}
	if _, err := a.d.Job("never"); !errors.Is(err, jobs.ErrNotFound) {
		t.Fatalf("Job(never): got %v; want ErrNotFound", err)
	}
	// Idempotent ids across nodes; a conflict.
	j1, err := a.d.Submit(ctx, "web", "echo", "x", jobs.ID("job-1"))
	if err != nil {
		t.Fatal(err)
	}
	j2, err := a.d.Submit(ctx, "web", "echo", "x", jobs.ID("job-1"))
	if err != nil || j2.ID() != j1.ID() {
		t.Fatalf("resubmit: got %v, %v", j2, err)
	}
	if _, err := a.d.Submit(ctx, "web", "echo", "y", jobs.ID("job-1")); !errors.Is(err, jobs.ErrConflict) {
		t.Fatalf("conflict: got %v; want ErrConflict", err)
	}
	if _, err := result(t, j1); err != nil {
		t.Fatal(err)
	}
	if p.calls.Load() != 1 {
		t.Fatalf("ran %d times; want 1", p.calls.Load())
	}
}

// TestFollowAcrossNodes: a stream procedure's output, followed from
// another node, from the start and resumed from Since(n): every item
// once, in order, numbered as it was sent.
func TestFollowAcrossNodes(t *testing.T) {
	s := startServer(t)
	p := newProbe()
	a := startNode(t, s.ClientURL(), "a", p, false)
	startNode(t, s.ClientURL(), "b", p, true)
	ctx := ctxTimeout(t, 20*time.Second)
	j, err := a.d.Submit(ctx, "web", "lines", linesReq{N: 20, EveryMS: 2})
	if err != nil {
		t.Fatal(err)
	}
	f, err := j.Follow(ctx, actor.Since(0))
	if err != nil {
		t.Fatal(err)
	}
	n := uint64(0)
	for it, err := range f.All() {
		if err != nil {
			t.Fatalf("follow: %v", err)
		}
		if want := fmt.Sprintf(`"line %d"`, n); it.Seq != n || string(it.V.(json.RawMessage)) != want {
			t.Fatalf("item: got %d %s; want %d %s", it.Seq, it.V, n, want)
		}
		n++
	}
	if n != 20 {
		t.Fatalf("followed %d items; want 20", n)
	}
	if _, err := result(t, j); err != nil || j.Status().State != jobs.Done {
		t.Fatalf("result: %v, %s", err, j.Status().State)
	}
	// Later, by id, from item 15.
	again, err := a.d.Job(j.ID())
	if err != nil {
		t.Fatal(err)
	}
	g, err := again.Follow(ctx, actor.Since(15))
	if err != nil {
		t.Fatal(err)
	}
	var seqs []uint64
	for it, err := range g.All() {
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, it.Seq)
	}
	if fmt.Sprint(seqs) != "[15 16 17 18 19]" {
		t.Fatalf("since 15: got %v", seqs)
	}
	_ = context.Background
}
