package jetjobs_test

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-go/troupe/jobs"
)

// TestEndMarkers: a job's output ends with one end marker, after its
// items, naming the end that was written — the runner's or a cancel's.
func TestEndMarkers(t *testing.T) {
	s := startServer(t)
	p := newProbe()
	a := startNode(t, s.ClientURL(), "a", p, false)
	startNode(t, s.ClientURL(), "b", p, true)
	ctx := ctxTimeout(t, 20*time.Second)
	js, err := jetstream.New(a.nc)
	must(t, err)
	out, err := js.Stream(ctx, "jobs_out")
	must(t, err)

	lines, err := a.d.Submit(ctx, "web", "lines", linesReq{N: 3})
	must(t, err)
	if _, err := result(t, lines); err != nil {
		t.Fatal(err)
	}
	held, err := a.d.Submit(ctx, "web", "hold", "cancel me")
	must(t, err)
	entered(t, p)
	if !held.Cancel() {
		t.Fatal("Cancel: false")
	}
	for _, c := range []struct {
		j     *jobs.Job
		items int
		end   jobs.State
	}{{lines, 3, jobs.Done}, {held, 0, jobs.Cancelled}} {
		subj := "jobs.out." + tok(c.j.ID())
		var last *jetstream.RawStreamMsg
		waitFor(t, "the end marker of "+c.j.ID(), func() bool {
			last, err = out.GetLastMsgForSubject(ctx, subj)
			return err == nil && last.Header.Get("Jobs-End") != ""
		})
		if got := last.Header.Get("Jobs-End"); got != string(c.end) {
			t.Fatalf("%s: end marker %q; want %q", c.j.ID(), got, c.end)
		}
		info, err := out.Info(ctx, jetstream.WithSubjectFilter(subj))
		must(t, err)
		if got := info.State.Subjects[subj]; got != uint64(c.items+1) {
			t.Fatalf("%s: %d messages; want %d items and the marker", c.j.ID(), got, c.items)
		}
	}
}
