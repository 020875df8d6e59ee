package actor_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

// SendWait waits for the slowest attached reader to make room, bounded by
// its ctx; Send never waits.
func TestStreamSendWait(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		ref, feed := spawnFeed(t, rt)
		small := actor.NewStream("small", func(f *Feed, _ *actor.Ctx, _ int, out *actor.Out[int]) error {
			f.outs["s"] = out
			return nil
		}, actor.WithJournal(4, 1<<20))
		ctx := context.Background()
		f, err := small.Open(ctx, ref, 0)
		if err != nil {
			t.Fatal(err)
		}
		out := feed.outs["s"]
		for i := range 4 {
			if err := out.SendWait(ctx, i); err != nil {
				t.Fatal(err)
			}
		}
		short, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if err := out.SendWait(short, 4); !errors.Is(err, actor.ErrTimeout) {
			t.Fatalf("SendWait with 4 unread of 4: got %v; want ErrTimeout", err)
		}
		sent := make(chan error, 1)
		go func() { sent <- out.SendWait(ctx, 4) }()
		synctest.Wait()
		select {
		case err := <-sent:
			t.Fatalf("SendWait returned %v before the reader made room", err)
		default:
		}
		got, _ := f.Collected() // reads 0..3
		if len(got) != 4 {
			t.Fatalf("Collected %d items; want 4", len(got))
		}
		if err := <-sent; err != nil {
			t.Fatalf("SendWait after the reader read: %v", err)
		}
		if err := out.Wait(ctx); err != nil {
			t.Fatalf("Wait with 1 unread of 4: %v", err)
		}
		_ = out.Close(nil)
		if err := out.Wait(ctx); !errors.Is(err, actor.ErrStreamClosed) {
			t.Fatalf("Wait after Close: got %v; want ErrStreamClosed", err)
		}
	})
}

// SendWait with no reader attached never waits: there is nobody to lose
// an item.
func TestStreamSendWaitNoReader(t *testing.T) {
	rt := newRuntime(t)
	ref, feed := spawnFeed(t, rt)
	small := actor.NewStream("small", func(f *Feed, _ *actor.Ctx, _ int, out *actor.Out[int]) error {
		f.outs["s"] = out
		return nil
	}, actor.WithJournal(2, 1<<20))
	f, err := small.Open(context.Background(), ref, 0)
	if err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 10 {
		if err := feed.outs["s"].SendWait(ctx, i); err != nil {
			t.Fatalf("SendWait %d: %v", i, err)
		}
	}
}

// A stream error that no reader is attached to receive goes to the dead
// letters, once; one a reader receives does not.
func TestStreamErrorDeadLetter(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rec := &recorder{}
		rt := newRuntime(t, troupe.WithDeadLetterHook(rec.Hook))
		ref, _ := spawnFeed(t, rt)
		ctx := context.Background()
		f, err := Tail.Open(ctx, ref, feedReq{Keep: "read", Send: []int{1}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := emit.Call(ctx, ref, emitReq{Name: "read", Close: true, Err: errBroken}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := drain(f); !errors.Is(err, errBroken) {
			t.Fatalf("got %v; want errBroken", err)
		}
		if _, err := Tail.Open(ctx, ref, feedReq{Err: errBroken}); !errors.Is(err, errBroken) {
			t.Fatalf("Open: got %v; want errBroken", err)
		}
		if n := rec.Count(troupe.ReasonFailed, "tail"); n != 0 {
			t.Fatalf("dead letters for errors readers got: %d (%v); want 0", n, rec.All())
		}
		g, err := Tail.Open(ctx, ref, feedReq{Keep: "dropped", Send: []int{1}})
		if err != nil {
			t.Fatal(err)
		}
		_ = g.Close()
		if _, err := emit.Call(ctx, ref, emitReq{Name: "dropped", Close: true, Err: errBroken}); err != nil {
			t.Fatal(err)
		}
		h, err := Tail.Open(ctx, ref, feedReq{Keep: "left", Send: []int{1}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := emit.Call(ctx, ref, emitReq{Name: "left", Close: true, Err: errBroken}); err != nil {
			t.Fatal(err)
		}
		_ = h.Close() // leaves without reading the error
		k, err := Tail.Open(ctx, ref, feedReq{Send: []int{1, 2}, Err: errBroken})
		if err != nil {
			t.Fatal(err)
		}
		for range k.All() {
			break // before the error
		}
		late := actor.NewStream("late", func(_ *Feed, _ *actor.Ctx, _ int, out *actor.Out[int]) error {
			_ = out.Close(nil)
			return errBroken // after the stream ended
		})
		if _, err := late.Open(ctx, ref, 0); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if n := rec.Count(troupe.ReasonFailed, "tail"); n != 3 {
			t.Fatalf("dead letters for errors nobody got: %d (%v); want 3", n, rec.All())
		}
		if n := rec.Count(troupe.ReasonFailed, "late"); n != 1 {
			t.Fatalf("dead letters for an error after the end: %d (%v); want 1", n, rec.All())
		}
	})
}

// A stream method is an Admitter: a whitelist can admit its Opens while
// it holds other calls.
func TestStreamWhitelist(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		ref, _ := spawnFeed(t, rt)
		ctx := context.Background()
		only := actor.NewMethod("only", func(_ *Feed, c *actor.Ctx, _ int) (int, error) { return 0, c.Only(Tail) })
		if _, err := only.Call(ctx, ref, 0); err != nil {
			t.Fatal(err)
		}
		go Sleep2.Call(ctx, ref, 0) // held until the actor stops
		synctest.Wait()
		if h := ref.Held(); h["sleep"] != 1 {
			t.Fatalf("held = %v; want sleep held", h)
		}
		f, err := Tail.Open(ctx, ref, feedReq{Send: []int{1}, Close: true})
		if err != nil {
			t.Fatalf("Open of an admitted stream: %v", err)
		}
		if vals, _, err := drain(f); err != nil || !slices.Equal(vals, []int{1}) {
			t.Fatalf("got %v, %v; want [1], nil", vals, err)
		}
	})
}

// Many producers with back-pressure and several readers, one of them
// slow: no item is lost or doubled, each reader sees every sequence
// number in order, and each producer's items in its order.
func TestStreamStress(t *testing.T) {
	const producers, each, readers = 4, 3000, 3
	rt := newRuntime(t)
	ref, feed := spawnFeed(t, rt)
	small := actor.NewStream("small", func(f *Feed, _ *actor.Ctx, _ int, out *actor.Out[int]) error {
		f.outs["s"] = out
		return nil
	}, actor.WithJournal(64, 1<<20))
	ctx := context.Background()
	first, err := small.Open(ctx, ref, 0)
	if err != nil {
		t.Fatal(err)
	}
	fs := []*actor.Follow[int]{first}
	for range readers - 1 {
		f, err := small.Follow(ctx, ref, first.ID(), actor.Since(0))
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, f)
	}
	out := feed.outs["s"]
	var wg sync.WaitGroup
	errs := make([]error, readers)
	for i, f := range fs {
		wg.Go(func() {
			next := uint64(0)
			last := make([]int, producers)
			for it, err := range f.All() {
				if err != nil {
					errs[i] = err
					return
				}
				p, v := it.V/each, it.V%each
				if it.Seq != next || v != last[p] {
					errs[i] = fmt.Errorf("reader %d: item %d = producer %d's %d; want seq %d, its %d", i, it.Seq, p, v, next, last[p])
					return
				}
				next++
				last[p]++
				if i == 0 && next%100 == 0 {
					time.Sleep(time.Millisecond) // the slow one
				}
			}
			if next != producers*each {
				errs[i] = fmt.Errorf("reader %d read %d items; want %d", i, next, producers*each)
			}
		})
	}
	var churn sync.WaitGroup
	for range 2 { // readers that come and go while the producers wait
		churn.Go(func() {
			for range 50 {
				f, err := small.Follow(ctx, ref, first.ID(), actor.Recent(3))
				if err != nil {
					return // the stream has ended
				}
				n := 0
				for _, err := range f.All() {
					if n++; err != nil || n == 5 {
						break
					}
				}
			}
		})
	}
	var pw sync.WaitGroup
	for p := range producers {
		pw.Go(func() {
			for v := range each {
				if err := out.SendWait(ctx, p*each+v); err != nil {
					t.Errorf("SendWait: %v", err)
					return
				}
			}
		})
	}
	pw.Wait()
	_ = out.Close(nil)
	wg.Wait()
	churn.Wait()
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}
