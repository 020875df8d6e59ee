package jobs_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/jobs"
)

// truncEnd sends 3 items and ends with the error it is given the kind of:
// a truncation it met reading something else (another job's output, in
// process or through a Client), not one of its own journal.
var truncEnd = actor.NewStream("trunc_end", func(_ *agent, _ *actor.Ctx, remote bool, out *actor.Out[int]) error {
	for i := range 3 {
		_ = out.Send(i)
	}
	var err error = &actor.TruncatedError{Oldest: 1}
	if remote {
		err = jobs.Remote(err)
	}
	return out.Close(err)
})

func TestStreamEndsWithTruncation(t *testing.T) {
	for _, remote := range []bool{false, true} {
		e := newEnv(t, 1)
		if err := jobs.RegisterStream(e.d, jobs.Ref("a0", e.hosts[0]), truncEnd); err != nil {
			t.Fatal(err)
		}
		j := e.submit(t, "a0", "trunc_end", remote)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := j.Result(ctx, true)
		cancel()
		if !errors.Is(err, actor.ErrTruncated) || j.Status().State != jobs.Failed {
			t.Fatalf("remote %v: got %s, %v; want failed with the producer's truncation", remote, j.Status().State, err)
		}
		items, _ := j.Collected()
		got, _ := seqs(items)
		if !slices.Equal(got, []uint64{0, 1, 2}) {
			t.Fatalf("remote %v: output %v; want [0 1 2] once", remote, got)
		}
	}
}

// truncLate sends one item, then ignores its job's cancel until its gate
// opens, and ends with a truncation it met elsewhere.
var truncLate = actor.NewStream("trunc_late", func(_ *agent, _ *actor.Ctx, g *gate, out *actor.Out[int]) error {
	_ = out.Context()
	_ = out.Send(0)
	close(g.entered)
	go func() {
		defer close(g.returned)
		<-g.release
		_ = out.Close(&actor.TruncatedError{Oldest: 0})
	}()
	return nil
})

// TestStreamEndsWithTruncationAfterCancel: the wait for the end of a
// cancelled job's stream (which holds its slot) took the producer's
// truncation for its own and read again from its Oldest for ever: the
// slot was never freed, and the queue's next job never ran.
func TestStreamEndsWithTruncationAfterCancel(t *testing.T) {
	e := newEnv(t, 1)
	if err := jobs.RegisterStream(e.d, jobs.Ref("a0", e.hosts[0]), truncLate); err != nil {
		t.Fatal(err)
	}
	g := newGate()
	j := e.submit(t, "a0", "trunc_late", g, jobs.Queue("q", 1))
	<-g.entered
	if !j.Cancel() {
		t.Fatal("cancel: not running")
	}
	next := e.submit(t, "a0", "echo", "next", jobs.Queue("q", 1))
	close(g.release)
	<-g.returned
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := next.Result(ctx, true); err != nil {
		t.Fatalf("the queue's next job: got %v, state %s; want it run once the stream ended", err, next.Status().State)
	}
}
