package jobs

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
)

type gapHost struct{ outs chan *actor.Out[int] }

var errGapEnd = errors.New("the stream failed")

// A stream that overruns its journal and fails in the instant between
// Open's return and the runner's next attach (the opened hook lands it
// there: 10 items into a journal of 4, then the end with an error) fails
// its job with the stream's error, whether or not its host has stopped
// since. Before the fix of "open" the stream was gone once the end
// watcher came (ErrNoStream), the copy's reader, left at item 0, was
// truncated, its resume found no stream either, and the job ended as
// done. Before the fix of "host stopped", the copy's resume by id found
// the host stopped, and the job failed as unreachable (ErrStopped).
func TestStreamJobEndInOpenGap(t *testing.T) {
	for _, tc := range []struct {
		name string
		then func(*actor.Ref[*gapHost]) // after the stream's end, in the gap
	}{
		{"open", func(*actor.Ref[*gapHost]) {}},
		{"host stopped", func(ref *actor.Ref[*gapHost]) { ref.Kill(); <-ref.Done() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rt := testkit.NewRuntime(t)
			d, err := New(rt)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = d.Close() })
			h := &gapHost{outs: make(chan *actor.Out[int], 1)}
			ref, err := actor.Spawn(rt, h)
			if err != nil {
				t.Fatal(err)
			}
			spill := actor.NewStream("spill", func(h *gapHost, _ *actor.Ctx, _ int, out *actor.Out[int]) error {
				h.outs <- out // the stream stays open past the turn
				return nil
			}, actor.WithJournal(4, 1<<20))
			if err := RegisterStream(d, Ref("gap", ref), spill); err != nil {
				t.Fatal(err)
			}
			d.cfg.opened = func() {
				out := <-h.outs
				for i := range 10 {
					_ = out.Send(i)
				}
				_ = out.Close(errGapEnd)
				tc.then(ref)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			j, err := d.Submit(ctx, "gap", "spill", 0)
			if err != nil {
				t.Fatal(err)
			}
			_, err = j.Result(ctx, true)
			if st := j.Status().State; st != Failed || !errors.Is(err, errGapEnd) {
				t.Fatalf("got %s, %v; want %s, %v", st, err, Failed, errGapEnd)
			}
		})
	}
}
