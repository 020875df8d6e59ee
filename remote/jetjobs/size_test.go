package jetjobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/troupe-go/troupe/actor"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/troupe-go/troupe/jobs"
	"github.com/troupe-go/troupe/remote/jetjobs"
)

// TestSubmitOverMaxPayload: a job whose argument makes its record or its
// message larger than the server's max payload is refused with
// jobs.ErrTooLarge (not jobs.ErrUnavailable, which says "try again"),
// and leaves nothing behind; one accepted has room for its running mark
// and an end (here a cancel).
func TestSubmitOverMaxPayload(t *testing.T) {
	s := startServer(t)
	p := newProbe()
	a := startNode(t, s.ClientURL(), "a", p, true)
	ctx := ctxTimeout(t, 20*time.Second)
	maxp := int(a.nc.MaxPayload())
	for _, n := range []int{maxp - 400, maxp - 250, maxp - 200, maxp - 150, maxp - 100, maxp, maxp + 1} {
		id := "big-" + strconv.Itoa(n)
		j, err := a.d.Submit(ctx, "web", "hold", strings.Repeat("x", n), jobs.ID(id))
		switch {
		case err == nil: // its end must fit too
			if !j.Cancel() {
				t.Errorf("arg of %d bytes: accepted, but Cancel failed", n)
			}
			if r, lerr := a.b.Lookup(ctx, id); lerr != nil || r.State != jobs.Cancelled {
				t.Errorf("arg of %d bytes: accepted and cancelled, but Lookup got %v, %v", n, r.State, lerr)
			}
		case errors.Is(err, jobs.ErrTooLarge):
			if _, lerr := a.b.Lookup(ctx, id); !errors.Is(lerr, jobs.ErrNotFound) {
				t.Errorf("arg of %d bytes: refused, but Lookup got %v; want ErrNotFound", n, lerr)
			}
		default:
			t.Errorf("arg of %d bytes (max payload %d): got %v; want nil or ErrTooLarge", n, maxp, err)
		}
	}
}

// TestResultOverMaxPayload: a job whose end, with its result, would not
// fit the server's max payload fails at once with jobs.ErrTooLarge; its
// end is stored (not retried for a lease, then failed as lost).
func TestResultOverMaxPayload(t *testing.T) {
	s := startServer(t)
	p := newProbe()
	// Each store of this job's record moves about a megabyte, and a store
	// is bounded by the lease: holdLease (300 ms) is too short for that
	// under -race on a loaded machine (the end's store timed out, and so
	// did each node's attempt to fail the job as lost after it, for 20 s).
	// Before the fix the job came back as jobs.ErrWorkerLost a lease later.
	lease := jetjobs.WithLease(3 * time.Second)
	a := startNode(t, s.ClientURL(), "a", p, false, lease)
	startNode(t, s.ClientURL(), "b", p, true, lease)
	ctx := ctxTimeout(t, 20*time.Second)
	// The record holds the argument, its end the argument and the result.
	arg := strings.Repeat("x", int(a.nc.MaxPayload())*2/3)
	j, err := a.d.Submit(ctx, "web", "echo", arg)
	must(t, err)
	if _, err := result(t, j); !errors.Is(err, jobs.ErrTooLarge) {
		t.Fatalf("Result: got %.200v; want ErrTooLarge", err)
	}
	if r, err := a.b.Lookup(ctx, j.ID()); err != nil || r.State != jobs.Failed || r.Node != "b" {
		t.Fatalf("Lookup: got %v on %q, %v; want failed on b", r.State, r.Node, err)
	}
}

// bigItem sends an item of n bytes, then "after", then waits for its
// job's end.
var bigItem = actor.NewStream("big", func(a *agent, _ *actor.Ctx, n int, out *actor.Out[string]) error {
	go func() {
		ctx := out.Context()
		if out.SendWait(ctx, strings.Repeat("x", n)) != nil || out.SendWait(ctx, "after") != nil {
			return
		}
		<-ctx.Done()
		_ = out.Close(ctx.Err())
	}()
	return nil
})

// TestItemOverMaxPayload: an output item over the server's max payload
// travels as null (as one that does not encode) and does not hold the job
// or its followers: the next item comes at once, while the job runs.
func TestItemOverMaxPayload(t *testing.T) {
	s := startServer(t)
	p := newProbe()
	a := startNode(t, s.ClientURL(), "a", p, false)
	b := startNode(t, s.ClientURL(), "b", p, true)
	ref, err := actor.Spawn(b.rt, &agent{p: p})
	must(t, err)
	must(t, jobs.RegisterStream(b.d, jobs.Ref("bighost", ref), bigItem))
	ctx := ctxTimeout(t, 30*time.Second)
	j, err := a.d.Submit(ctx, "bighost", "big", int(a.nc.MaxPayload()))
	must(t, err)
	defer j.Cancel()
	fctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	f, err := j.Follow(fctx, actor.Since(0))
	must(t, err)
	var got []string
	for it, err := range f.All() {
		if err != nil {
			t.Fatalf("follow: got %v after %q", err, got)
		}
		v, _ := it.V.(json.RawMessage)
		got = append(got, string(v))
		if len(got) == 2 {
			break
		}
	}
	if want := []string{"null", `"after"`}; !slices.Equal(got, want) {
		t.Fatalf("followed %q; want %q", got, want)
	}
}
