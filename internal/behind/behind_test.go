package behind_test

import (
	"context"
	"errors"
	"testing"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/behind"
	"github.com/troupe-go/troupe/internal/testkit"
)

type feed struct{ out *actor.Out[int] }

var small = actor.NewStream("small", func(f *feed, _ *actor.Ctx, _ int, out *actor.Out[int]) error {
	f.out = out
	return nil
}, actor.WithJournal(8, 1<<20))

// A reader that fell behind its journal gets its truncation back from
// Truncation while ctx is live, and nil once ctx has ended, as the doc
// says: the probe reader attached with an ended ctx ends with ctx's
// error, not the stream's end, which made Truncation return the
// truncation anyway (and serve resume a reader, and write its notice,
// for a request already gone).
func TestTruncationCtxEnded(t *testing.T) {
	testkit.Bubble(t, func(t *testing.T) {
		rt := testkit.NewRuntime(t)
		st := &feed{}
		ref, err := actor.Spawn(rt, st)
		if err != nil {
			t.Fatal(err)
		}
		f, err := small.Open(context.Background(), ref, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = f.Close() }()
		for i := range 20 {
			_ = st.out.Send(i)
		}
		_, end := f.Collected()
		var want *actor.TruncatedError
		if !errors.As(end, &want) {
			t.Fatalf("end: got %v; want a *TruncatedError", end)
		}
		if te := behind.Truncation(context.Background(), f, end); te != want {
			t.Errorf("Truncation with a live ctx = %v; want %v", te, want)
		}
		ended, cancel := context.WithCancel(context.Background())
		cancel()
		if te := behind.Truncation(ended, f, end); te != nil {
			t.Errorf("Truncation with an ended ctx = %v; want nil", te)
		}
	})
}
