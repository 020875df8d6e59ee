package jobs_test

import (
	"errors"
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
