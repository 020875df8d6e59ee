package jobs_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/jobs"
)

// documented are the sentinels a caller may test a jobs error with.
var documented = []error{
	jobs.ErrClosed, jobs.ErrNotFound, jobs.ErrUnknownHost, jobs.ErrUnknownProcedure,
	jobs.ErrBadArgs, jobs.ErrInvalidID, jobs.ErrInvalidOption, jobs.ErrConflict,
	jobs.ErrQueueFull, jobs.ErrNotFinished, jobs.ErrCancelled, jobs.ErrExpired,
	jobs.ErrMaxExec, jobs.ErrReadIdle, jobs.ErrUnreachable, jobs.ErrDuplicate,
	jobs.ErrUnauthorized, jobs.ErrMethodNotAllowed, jobs.ErrTooLarge, jobs.ErrBadRequest,
	jobs.ErrWorkerLost, jobs.ErrUnavailable, actor.ErrTruncated,
}

// sameSentinels fails the test unless remote matches, with errors.Is,
// exactly the documented sentinels that local matches.
func sameSentinels(t *testing.T, what string, local, remote error) {
	t.Helper()
	for _, s := range documented {
		if l, r := errors.Is(local, s), errors.Is(remote, s); l != r {
			t.Errorf("%s: errors.Is(%v): %v in process, %v over HTTP (%v)", what, s, l, r, remote)
		}
	}
}

// TestClientClosedCancelIsErrClosed: a job cancelled because its
// dispatcher closed is, in process, both ErrCancelled and ErrClosed; over
// HTTP it was type "cancelled" only, so a Client's caller could not tell
// it from a plain cancel (errors.Is(err, ErrClosed) false).
func TestClientClosedCancelIsErrClosed(t *testing.T) {
	e := newEnv(t, 1)
	cl := e.client(t, nil)
	ctx := bg(t)
	g := newGate()
	running := e.submit(t, "a0", "hold", g, jobs.Queue("q", 1))
	<-g.entered
	queued := e.submit(t, "a0", "echo", "never", jobs.Queue("q", 1))
	if err := e.d.Close(); err != nil {
		t.Fatal(err)
	}
	<-g.returned
	for _, j := range []*jobs.Job{running, queued} {
		_, local := j.Result(ctx, false)
		if !errors.Is(local, jobs.ErrCancelled) || !errors.Is(local, jobs.ErrClosed) {
			t.Fatalf("job %s in process: got %v; want ErrCancelled and ErrClosed", j.ID(), local)
		}
		_, remote := cl.Job(j.ID()).Result(ctx, false)
		sameSentinels(t, "job "+j.ID(), local, remote)
		var re *jobs.RemoteError
		if !errors.As(remote, &re) || re.Type != "cancelled" {
			t.Fatalf("job %s over HTTP: got %#v; want a *RemoteError of type cancelled (what older clients know)", j.ID(), remote)
		}
	}
}

// TestClientFollowTruncatedAs: a Client's follower that fell behind the
// output got a *RemoteError of type "truncated" whose oldest item kept
// was only in its Data JSON; in process it is an *actor.TruncatedError
// (errors.As gives Oldest). Now the Client's error is both.
func TestClientFollowTruncatedAs(t *testing.T) {
	e := newEnv(t, 1, jobs.WithOutputLimit(4, 1<<20))
	cl := e.client(t, nil)
	ctx := bg(t)
	j, err := cl.Host("a0").Call(ctx, "lines", 10)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.Result(ctx, true); err != nil {
		t.Fatal(err)
	}
	check := func(what string, err error) uint64 {
		t.Helper()
		var te *actor.TruncatedError
		if !errors.As(err, &te) || te.Oldest != 6 {
			t.Fatalf("%s: got %v; want an error that errors.As makes a *actor.TruncatedError with Oldest 6", what, err)
		}
		var re *jobs.RemoteError
		if !errors.As(err, &re) || re.Type != "truncated" || !errors.Is(err, actor.ErrTruncated) {
			t.Fatalf("%s: got %#v; want still a *RemoteError of type truncated, matching actor.ErrTruncated", what, err)
		}
		return te.Oldest
	}
	follow := func(opts ...actor.FollowOption) ([]uint64, error) {
		var seqs []uint64
		for it, err := range j.Follow(ctx, opts...) {
			if err != nil {
				return seqs, err
			}
			seqs = append(seqs, it.Seq)
		}
		return seqs, nil
	}
	_, err = follow(actor.Since(0))
	oldest := check("Follow", err)
	_, err = j.Collected(ctx, actor.Since(0))
	check("Collected", err)
	got, err := follow(actor.Since(oldest))
	if err != nil || !slices.Equal(got, []uint64{6, 7, 8, 9}) {
		t.Fatalf("resumed with Since(Oldest): got %v, %v; want [6 7 8 9]", got, err)
	}
	// The local follower, for comparison: the same answers.
	lj, err := e.d.Job(j.ID())
	if err != nil {
		t.Fatal(err)
	}
	f, err := lj.Follow(context.Background(), actor.Since(0))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, local := f.Collected()
	_, remote := j.Collected(ctx, actor.Since(0))
	sameSentinels(t, "truncated", local, remote)
}
