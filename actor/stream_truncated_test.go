package actor_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/actor"
)

// A reader ended by truncation holds no position (SendWait does not wait
// for it) but counts as a reader until it is closed or its ctx ends: the
// documented resume (Since(Oldest), then Close) never leaves the producer
// without a reader, so its Context stays live; closing it without
// resuming, or the end of its ctx, cancels it with ErrNoReader.
func TestStreamTruncatedReaderCounts(t *testing.T) {
	small := actor.NewStream("small", func(f *Feed, _ *actor.Ctx, _ int, out *actor.Out[int]) error {
		f.outs["s"] = out
		return nil
	}, actor.WithJournal(8, 1<<20))
	reads := []struct {
		name string
		read func(*actor.Follow[int]) error // reads until truncated
	}{
		{"All", func(f *actor.Follow[int]) error { _, _, err := drain(f); return err }},
		{"Collected", func(f *actor.Follow[int]) error { _, err := f.Collected(); return err }},
	}
	leaves := []struct {
		name string
		// leave ends the truncated reader f (of ctx cancel) as the case
		// says, and checks the producer's context pctx.
		leave func(t *testing.T, f *actor.Follow[int], cancel context.CancelFunc, pctx context.Context, resume func() *actor.Follow[int])
	}{
		{"resumed, then closed", func(t *testing.T, f *actor.Follow[int], _ context.CancelFunc, pctx context.Context, resume func() *actor.Follow[int]) {
			g := resume()
			_ = f.Close()
			if err := pctx.Err(); err != nil {
				t.Fatalf("producer context after the resume and the truncated reader's Close: %v (cause %v); want live", err, context.Cause(pctx))
			}
			items, err := g.Collected()
			if len(items) != 8 || items[0].Seq != 32 || err != nil {
				t.Fatalf("resumed reader: got %v, %v; want 32..39, nil", items, err)
			}
			_ = g.Close()
		}},
		{"resumed, then its ctx ends", func(t *testing.T, f *actor.Follow[int], cancel context.CancelFunc, pctx context.Context, resume func() *actor.Follow[int]) {
			g := resume()
			cancel()
			synctest.Wait()
			if err := pctx.Err(); err != nil {
				t.Fatalf("producer context after the resume and the truncated reader's ctx end: %v (cause %v); want live", err, context.Cause(pctx))
			}
			_ = g.Close()
		}},
		{"closed", func(_ *testing.T, f *actor.Follow[int], _ context.CancelFunc, _ context.Context, _ func() *actor.Follow[int]) {
			_ = f.Close()
		}},
		{"its ctx ends", func(_ *testing.T, _ *actor.Follow[int], cancel context.CancelFunc, _ context.Context, _ func() *actor.Follow[int]) {
			cancel()
			synctest.Wait()
		}},
	}
	for _, rd := range reads {
		for _, lv := range leaves {
			t.Run(rd.name+"/"+lv.name, func(t *testing.T) {
				bubble(t, func(t *testing.T) {
					rt := newRuntime(t)
					ref, feed := spawnFeed(t, rt)
					ctx, cancel := context.WithCancel(context.Background())
					defer cancel()
					f, err := small.Open(ctx, ref, 0)
					if err != nil {
						t.Fatal(err)
					}
					out := feed.outs["s"]
					pctx := out.Context()
					for i := range 20 {
						_ = out.Send(i)
					}
					var te *actor.TruncatedError
					if err := rd.read(f); !errors.As(err, &te) || te.Oldest != 12 {
						t.Fatalf("got %v; want *TruncatedError{Oldest: 12}", err)
					}
					if err := pctx.Err(); err != nil {
						t.Fatalf("producer context once its only reader was truncated: %v (cause %v); want live until it is closed", err, context.Cause(pctx))
					}
					// It holds no position: a SendWait does not wait for it.
					wctx, wcancel := context.WithTimeout(context.Background(), time.Second)
					defer wcancel()
					for i := 20; i < 40; i++ {
						if err := out.SendWait(wctx, i); err != nil {
							t.Fatalf("SendWait %d with only a truncated reader: %v", i, err)
						}
					}
					resumed := false
					resume := func() *actor.Follow[int] {
						resumed = true
						g, err := small.Follow(context.Background(), ref, f.ID(), actor.Since(32))
						if err != nil {
							t.Fatalf("Follow: %v", err)
						}
						return g
					}
					lv.leave(t, f, cancel, pctx, resume)
					if context.Cause(pctx) != actor.ErrNoReader {
						t.Fatalf("producer context once the last reader left: cause %v; want ErrNoReader", context.Cause(pctx))
					}
					if _, _, err := drain(f); !errors.Is(err, actor.ErrTruncated) {
						t.Fatalf("truncated reader read again: got %v; want its truncation", err)
					}
					if resumed {
						return
					}
					// A truncated reader closed after the stream's end.
					g, err := small.Open(context.Background(), ref, 0)
					if err != nil {
						t.Fatal(err)
					}
					out = feed.outs["s"]
					pctx = out.Context()
					for i := range 20 {
						_ = out.Send(i)
					}
					if err := rd.read(g); !errors.Is(err, actor.ErrTruncated) {
						t.Fatalf("got %v; want ErrTruncated", err)
					}
					_ = out.Close(nil)
					_ = g.Close()
					if context.Cause(pctx) != actor.ErrStreamClosed {
						t.Fatalf("producer context after the stream's end: cause %v; want ErrStreamClosed", context.Cause(pctx))
					}
				})
			})
		}
	}
}

// A reader truncated by a stream that has ended since resumes with
// Follow.Follow, which reaches the ended stream through the reader: it
// gets the items kept and the end, where Stream.Follow by id finds no
// stream (ErrNoStream) and the end would be lost.
func TestFollowFollowAfterEnd(t *testing.T) {
	small := actor.NewStream("small", func(f *Feed, _ *actor.Ctx, _ int, out *actor.Out[int]) error {
		f.outs["s"] = out
		return nil
	}, actor.WithJournal(4, 1<<20))
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		ref, feed := spawnFeed(t, rt)
		f, err := small.Open(context.Background(), ref, 0)
		if err != nil {
			t.Fatal(err)
		}
		out := feed.outs["s"]
		for i := range 10 {
			_ = out.Send(i)
		}
		boom := errors.New("boom")
		_ = out.Close(boom)
		var te *actor.TruncatedError
		if _, _, err := drain(f); !errors.As(err, &te) || te.Oldest != 6 {
			t.Fatalf("got %v; want *TruncatedError{Oldest: 6}", err)
		}
		if _, err := small.Follow(context.Background(), ref, f.ID(), actor.Since(te.Oldest)); !errors.Is(err, actor.ErrNoStream) {
			t.Fatalf("Stream.Follow of the ended stream: got %v; want ErrNoStream", err)
		}
		g, err := f.Follow(context.Background(), actor.Since(te.Oldest))
		if err != nil {
			t.Fatalf("Follow.Follow: %v", err)
		}
		_ = f.Close()
		vals, _, err := drain(g)
		if len(vals) != 4 || vals[0] != 6 || !errors.Is(err, boom) {
			t.Fatalf("resumed reader: got %v, %v; want 6..9, boom", vals, err)
		}
		var nilF *actor.Follow[int]
		if _, err := nilF.Follow(context.Background()); !errors.Is(err, actor.ErrNilStream) {
			t.Fatalf("nil Follow: got %v; want ErrNilStream", err)
		}
		//nolint:staticcheck // a nil ctx on purpose
		if _, err := g.Follow(nil); !errors.Is(err, actor.ErrNilContext) {
			t.Fatalf("nil ctx: got %v; want ErrNilContext", err)
		}
		if _, err := g.Follow(context.Background(), actor.Recent(-1)); !errors.Is(err, actor.ErrInvalidOption) {
			t.Fatalf("Recent(-1): got %v; want ErrInvalidOption", err)
		}
	})
}
