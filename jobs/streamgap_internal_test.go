package jobs

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
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

// A stream job cancelled just as its copy's reader was truncated (the
// copied hook cancels it there) cancels its producer's Out.Context: the
// producer, which watches it, stops, and the job's slot is freed. Before
// the fix the truncated reader, which counts as a reader until it is
// closed, was left to its ctx's watch, on a goroutine of its own: if the
// runner closed its end watcher and attached awaitEnd's reader before
// that watch ran, the stream never had a moment without a reader, the
// producer's context stayed live, and the job overran until the
// dispatcher's forced stop.
func TestStreamJobCancelledAsCopyTruncated(t *testing.T) {
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
	stopped := make(chan error, 1) // the producer's ctx's cause once it has stopped
	spill := actor.NewStream("spill", func(h *gapHost, _ *actor.Ctx, _ int, out *actor.Out[int]) error {
		ctx := out.Context()
		go func() {
			<-ctx.Done()
			stopped <- context.Cause(ctx)
			_ = out.Close(nil)
		}()
		h.outs <- out
		return nil
	}, actor.WithJournal(4, 1<<20))
	if err := RegisterStream(d, Ref("gap", ref), spill); err != nil {
		t.Fatal(err)
	}
	jobs := make(chan *Job, 1)
	d.cfg.opened = func() {
		out := <-h.outs
		for i := range 10 {
			_ = out.Send(i)
		}
	}
	d.cfg.copied = func(end error) {
		if errors.Is(end, actor.ErrTruncated) {
			(<-jobs).Cancel()
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	j, err := d.Submit(ctx, "gap", "spill", 0)
	if err != nil {
		t.Fatal(err)
	}
	jobs <- j
	select {
	case cause := <-stopped:
		if !errors.Is(cause, actor.ErrNoReader) {
			t.Fatalf("producer's context: got cause %v; want ErrNoReader", cause)
		}
	case <-ctx.Done():
		t.Fatalf("producer's context still live 10 s after its job was cancelled (status %+v)", j.Status())
	}
	if _, err := j.Result(ctx, false); !errors.Is(err, ErrCancelled) {
		t.Fatalf("got %v; want ErrCancelled", err)
	}
}

// A cancelled stream job whose producer ignores the cancel keeps its slot
// until the stream ends, even if the producer then sends faster than the
// runner's end watch (awaitEnd) reads: a burst of 10 items into a
// journal of 4 truncates that reader. Before the fix awaitEnd took the
// truncation for the end: the job stopped overrunning and freed its slot
// while its producer still ran.
func TestStreamJobOverrunOutrunsAwaitEnd(t *testing.T) {
	testkit.Bubble(t, func(t *testing.T) {
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
			h.outs <- out // the producer (the test) ignores its context
			return nil
		}, actor.WithJournal(4, 1<<20))
		if err := RegisterStream(d, Ref("gap", ref), spill); err != nil {
			t.Fatal(err)
		}
		j, err := d.Submit(context.Background(), "gap", "spill", 0)
		if err != nil {
			t.Fatal(err)
		}
		out := <-h.outs
		synctest.Wait()
		j.Cancel()
		synctest.Wait() // the runner waits for the stream's end in awaitEnd
		if st := j.Status(); st.State != Cancelled || !st.Overrunning {
			t.Fatalf("after the cancel: got %+v; want cancelled, overrunning", st)
		}
		for i := range 10 {
			_ = out.Send(i)
		}
		synctest.Wait()
		if st := j.Status(); !st.Overrunning {
			t.Fatalf("after the producer's burst: got %+v; want overrunning until the stream ends", st)
		}
		_ = out.Close(nil)
		synctest.Wait()
		if st := j.Status(); st.State != Cancelled || st.Overrunning {
			t.Fatalf("after the stream's end: got %+v; want cancelled, not overrunning", st)
		}
	})
}
