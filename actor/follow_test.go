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

// Readers start where Since and Recent say: beyond the end they wait,
// before the journal's start they get ErrTruncated with the oldest kept.
func TestStreamPositions(t *testing.T) {
	small := actor.NewStream("small", func(f *Feed, _ *actor.Ctx, n int, out *actor.Out[int]) error {
		for i := range n {
			_ = out.Send(i)
		}
		f.outs["s"] = out
		return nil
	}, actor.WithJournal(4, 1<<20))
	tests := []struct {
		name    string
		opts    []actor.FollowOption
		want    []uint64 // seqs read: of the 6 the handler sent, 2..5 are kept; then 6, 7
		wantErr error
	}{
		{"default: oldest kept", nil, []uint64{2, 3, 4, 5, 6, 7}, nil},
		{"since inside", []actor.FollowOption{actor.Since(4)}, []uint64{4, 5, 6, 7}, nil},
		{"since the end", []actor.FollowOption{actor.Since(6)}, []uint64{6, 7}, nil},
		{"since beyond the end waits", []actor.FollowOption{actor.Since(7)}, []uint64{7}, nil},
		{"since truncated", []actor.FollowOption{actor.Since(1)}, nil, actor.ErrTruncated},
		{"recent 0", []actor.FollowOption{actor.Recent(0)}, []uint64{6, 7}, nil},
		{"recent 2", []actor.FollowOption{actor.Recent(2)}, []uint64{4, 5, 6, 7}, nil},
		{"recent more than kept", []actor.FollowOption{actor.Recent(100)}, []uint64{2, 3, 4, 5, 6, 7}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := newRuntime(t)
			ref, feed := spawnFeed(t, rt)
			ctx := context.Background()
			f, err := small.Open(ctx, ref, 6, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			now, err := f.Collected() // what the handler left, read before more comes
			var seqs []uint64
			for _, it := range now {
				seqs = append(seqs, it.Seq)
			}
			if err == nil {
				out := feed.outs["s"]
				_ = out.Send(6)
				_ = out.Send(7)
				_ = out.Close(nil)
				var rest []uint64
				_, rest, err = drain(f)
				seqs = append(seqs, rest...)
			}
			if !slices.Equal(seqs, tt.want) || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("got %v, %v; want %v, %v", seqs, err, tt.want, tt.wantErr)
			}
			var te *actor.TruncatedError
			if tt.wantErr != nil && (!errors.As(err, &te) || te.Oldest != 2) {
				t.Fatalf("got %v; want a *TruncatedError with Oldest 2", err)
			}
		})
	}
}

// A reader that falls behind the bounded journal gets a *TruncatedError
// with the oldest kept; the producer never waited for it; Since(Oldest)
// resumes it.
func TestStreamTruncatedResume(t *testing.T) {
	rt := newRuntime(t)
	ref, feed := spawnFeed(t, rt)
	small := actor.NewStream("small", func(f *Feed, _ *actor.Ctx, _ int, out *actor.Out[int]) error {
		f.outs["s"] = out
		return nil
	}, actor.WithJournal(8, 1<<20))
	ctx := context.Background()
	slow, err := small.Open(ctx, ref, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := feed.outs["s"]
	for i := range 20 {
		if err := out.Send(i); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	_, _, err = drain(slow)
	var te *actor.TruncatedError
	if !errors.As(err, &te) || te.Oldest != 12 || !errors.Is(err, actor.ErrTruncated) {
		t.Fatalf("got %v; want *TruncatedError{Oldest: 12}", err)
	}
	again, err := small.Follow(ctx, ref, slow.ID(), actor.Since(te.Oldest))
	if err != nil {
		t.Fatalf("Follow: %v", err)
	}
	_ = out.Close(nil)
	vals, _, err := drain(again)
	if err != nil || !slices.Equal(vals, []int{12, 13, 14, 15, 16, 17, 18, 19}) {
		t.Fatalf("resumed: got %v, %v; want 12..19, nil", vals, err)
	}
}

// With an item size function the byte bound trims too, keeping the
// newest item however large.
func TestStreamByteBound(t *testing.T) {
	rt := newRuntime(t)
	ref, _ := spawnFeed(t, rt)
	var kept *actor.Out[string]
	words := actor.NewStream("words", func(_ *Feed, _ *actor.Ctx, ws []string, out *actor.Out[string]) error {
		for _, w := range ws {
			_ = out.Send(w)
		}
		kept = out
		return nil
	}, actor.WithJournal(100, 10), actor.WithItemSize(func(s string) int { return len(s) }))
	f, err := words.Open(context.Background(), ref, []string{"aaaa", "bbbb", "cc", "dddd"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.Collected()
	if err != nil || len(got) != 3 || got[0].V != "bbbb" || got[0].Seq != 1 {
		t.Fatalf("got %v, %v; want bbbb, cc, dddd from seq 1 (10 bytes)", got, err)
	}
	_ = kept.Send("a very long word")
	_ = kept.Close(nil)
	got, err = f.Collected()
	if len(got) != 1 || got[0].V != "a very long word" || err.Error() != "EOF" {
		t.Fatalf("got %v, %v; want only the newest, oversized item, then EOF", got, err)
	}
}

// Collected returns what is there now, without waiting, and moves on;
// the end is io.EOF or the stream's error (harp's stream).
func TestStreamCollected(t *testing.T) {
	rt := newRuntime(t)
	ref, _ := spawnFeed(t, rt)
	ctx := context.Background()
	f, err := Tail.Open(ctx, ref, feedReq{Keep: "k", Send: []int{1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		emit    *emitReq
		want    []int
		wantErr string
	}{
		{nil, []int{1, 2}, ""},
		{nil, nil, ""},
		{&emitReq{Name: "k", Send: []int{3}}, []int{3}, ""},
		{&emitReq{Name: "k", Send: []int{4}, Close: true, Err: errBroken}, []int{4}, "broken"},
		{nil, nil, "broken"},
	}
	for i, s := range steps {
		if s.emit != nil {
			if _, err := emit.Call(ctx, ref, *s.emit); err != nil {
				t.Fatal(err)
			}
		}
		got, err := f.Collected()
		var vals []int
		for _, it := range got {
			vals = append(vals, it.V)
		}
		if !slices.Equal(vals, s.want) || fmt.Sprint(err) != fmt.Sprint(errOrNil(s.wantErr)) {
			t.Fatalf("step %d: got %v, %v; want %v, %q", i, vals, err, s.want, s.wantErr)
		}
	}
}

func errOrNil(s string) error {
	if s == "" {
		return nil
	}
	return errors.New(s)
}

// Many readers each get every item in order; a reader attached by ID
// reads the same stream.
func TestStreamManyReaders(t *testing.T) {
	rt := newRuntime(t)
	ref, feed := spawnFeed(t, rt)
	ctx := context.Background()
	first, err := Tail.Open(ctx, ref, feedReq{Keep: "k"})
	if err != nil {
		t.Fatal(err)
	}
	readers := []*actor.Follow[int]{first}
	for range 9 {
		f, err := Tail.Follow(ctx, ref, first.ID())
		if err != nil {
			t.Fatal(err)
		}
		readers = append(readers, f)
	}
	var wg sync.WaitGroup
	got := make([][]int, len(readers))
	for i, f := range readers {
		wg.Go(func() { got[i], _, _ = drain(f) })
	}
	out := feed.outs["k"]
	want := make([]int, 500)
	for i := range want {
		want[i] = i
		_ = out.Send(i)
	}
	_ = out.Close(nil)
	wg.Wait()
	for i, g := range got {
		if !slices.Equal(g, want) {
			t.Fatalf("reader %d got %d items; want all 500 in order", i, len(g))
		}
	}
}

// A read timeout ends a reader that waits longer than d for an item,
// with ErrTimeout; the gaps before were shorter and did not.
func TestStreamReadTimeout(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		ref, feed := spawnFeed(t, rt)
		start := time.Now()
		f, err := Tail.Open(context.Background(), ref, feedReq{Keep: "k"}, actor.ReadTimeout(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			time.Sleep(900 * time.Millisecond)
			_ = feed.outs["k"].Send(1)
			time.Sleep(900 * time.Millisecond)
			_ = feed.outs["k"].Send(2)
		}()
		vals, _, err := drain(f)
		if !slices.Equal(vals, []int{1, 2}) || !errors.Is(err, actor.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, %v; want [1 2], ErrTimeout", vals, err)
		}
		if d := time.Since(start); d != 2800*time.Millisecond {
			t.Fatalf("timed out after %v; want 2.8s (1s after the last item)", d)
		}
	})
}

// The reader's ctx bounds it: its end is the last pair, and a reader that
// is never ranged is detached by it all the same.
func TestStreamCtxEndsReader(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		ref, feed := spawnFeed(t, rt)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		f, err := Tail.Open(ctx, ref, feedReq{Keep: "k", Send: []int{1}})
		if err != nil {
			t.Fatal(err)
		}
		pctx := feed.outs["k"].Context()
		vals, _, err := drain(f)
		if !slices.Equal(vals, []int{1}) || !errors.Is(err, actor.ErrTimeout) {
			t.Fatalf("got %v, %v; want [1], ErrTimeout", vals, err)
		}
		<-pctx.Done() // the only reader left

		ctx2, cancel2 := context.WithCancel(context.Background())
		if _, err := Tail.Open(ctx2, ref, feedReq{Keep: "never ranged"}); err != nil {
			t.Fatal(err)
		}
		pctx2 := feed.outs["never ranged"].Context()
		cancel2()
		synctest.Wait()
		if context.Cause(pctx2) != actor.ErrNoReader {
			t.Fatalf("producer context of a never-ranged reader after its ctx ended: cause %v; want ErrNoReader", context.Cause(pctx2))
		}
	})
}

// Breaking out of All detaches the reader; when the last one goes, the
// producer's Context is cancelled with ErrNoReader, not before. Ranging
// again yields ErrStreamClosed; items sent after the break never reach a
// stopped loop.
func TestStreamBreakDetaches(t *testing.T) {
	rt := newRuntime(t)
	ref, feed := spawnFeed(t, rt)
	ctx := context.Background()
	a, err := Tail.Open(ctx, ref, feedReq{Keep: "k", Send: []int{1, 2, 3}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Tail.Follow(ctx, ref, a.ID())
	if err != nil {
		t.Fatal(err)
	}
	out := feed.outs["k"]
	pctx := out.Context()
	for range a.All() {
		break
	}
	if pctx.Err() != nil {
		t.Fatal("producer context cancelled while a reader remains")
	}
	stop := make(chan struct{})
	go func() { // keep sending while b breaks: no yield may follow the break
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
				// SendWait: a Send could outrun b past the journal, and a
				// truncated b would still count as a reader.
				_ = out.SendWait(ctx, i)
			}
		}
	}()
	n := 0
	for range b.All() {
		if n++; n == 100 {
			break
		}
	}
	close(stop)
	if context.Cause(pctx) != actor.ErrNoReader {
		t.Fatalf("producer context after the last reader left: cause %v; want ErrNoReader", context.Cause(pctx))
	}
	_, _, err = drain(a)
	if !errors.Is(err, actor.ErrStreamClosed) {
		t.Fatalf("ranging again: got %v; want ErrStreamClosed", err)
	}
	if _, err := a.Collected(); !errors.Is(err, actor.ErrStreamClosed) {
		t.Fatalf("Collected after the break: got %v; want ErrStreamClosed", err)
	}
}

// A panic in the loop's body detaches the reader too.
func TestStreamPanicInLoopDetaches(t *testing.T) {
	rt := newRuntime(t)
	ref, feed := spawnFeed(t, rt)
	f, err := Tail.Open(context.Background(), ref, feedReq{Keep: "k", Send: []int{1}})
	if err != nil {
		t.Fatal(err)
	}
	pctx := feed.outs["k"].Context()
	func() {
		defer func() { _ = recover() }()
		for range f.All() {
			panic("in the loop")
		}
	}()
	if context.Cause(pctx) != actor.ErrNoReader {
		t.Fatalf("cause %v; want ErrNoReader", context.Cause(pctx))
	}
}

// Close from another goroutine ends a waiting All with ErrStreamClosed.
func TestStreamCloseWakesReader(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		ref, _ := spawnFeed(t, rt)
		f, err := Tail.Open(context.Background(), ref, feedReq{Keep: "k"})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { _, _, err := drain(f); done <- err }()
		synctest.Wait()
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; !errors.Is(err, actor.ErrStreamClosed) {
			t.Fatalf("got %v; want ErrStreamClosed", err)
		}
		if err := f.Close(); err != nil {
			t.Fatalf("second Close: %v; want nil (idempotent)", err)
		}
	})
}

// Close from the loop's body (or another goroutine) stops All at once: no
// item after it, though the batch All took holds more. Before, All went
// on with the rest of its batch (items 2 to 5 here) before the end.
func TestStreamCloseStopsBatch(t *testing.T) {
	rt := newRuntime(t)
	ref, _ := spawnFeed(t, rt)
	f, err := Tail.Open(context.Background(), ref, feedReq{Keep: "k", Send: []int{1, 2, 3, 4, 5}})
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	var end error
	for it, err := range f.All() {
		if err != nil {
			end = err
			break
		}
		got = append(got, it.V)
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 1 || !errors.Is(end, actor.ErrStreamClosed) {
		t.Fatalf("read %v, then %v; want [1], then ErrStreamClosed", got, end)
	}
}

// A handler that reads another actor's stream with its own Context lends
// its worker while it waits: with a pool of one worker, the producer
// still gets turns, at once.
func TestStreamReadInHandlerLendsWorker(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t, troupe.WithPoolSize(1))
		src, _ := spawnFeed(t, rt)
		first, err := Tail.Open(context.Background(), src, feedReq{Keep: "k", Send: []int{1}})
		if err != nil {
			t.Fatal(err)
		}
		_ = first.Close()
		sum := actor.NewMethod("sum", func(_ *Feed, c *actor.Ctx, _ int) (int, error) {
			f, err := Tail.Follow(c.Context(), src, first.ID())
			if err != nil {
				return 0, err
			}
			total := 0
			for it, err := range f.All() {
				if err != nil {
					return total, err
				}
				total += it.V
			}
			return total, nil
		})
		reader, _ := spawnFeed(t, rt)
		got := make(chan error, 1)
		var total int
		go func() {
			var err error
			total, err = sum.Call(context.Background(), reader, 0)
			got <- err
		}()
		synctest.Wait()
		// The reader's handler waits in All; the source needs a worker,
		// and gets one at once (not from the scheduler's watchdog, 1 ms
		// later).
		start := time.Now()
		if _, err := emit.Call(context.Background(), src, emitReq{Name: "k", Send: []int{2, 3}, Close: true}); err != nil {
			t.Fatalf("emit while a handler reads: %v", err)
		}
		if err := <-got; err != nil || total != 6 {
			t.Fatalf("got %d, %v; want 6, nil", total, err)
		}
		if d := time.Since(start); d != 0 {
			t.Fatalf("the source waited %v for a worker; want 0 (lent by the reading handler)", d)
		}
	})
}

// ReadTimeout bounds the wait for the next item, not the loop's body: a
// body slower than the timeout, fed by a producer slower still, never
// times out while each item comes within the timeout of the read that
// waits for it.
func TestStreamReadTimeoutExcludesBody(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		ref, feed := spawnFeed(t, rt)
		f, err := Tail.Open(context.Background(), ref, feedReq{Keep: "k"}, actor.ReadTimeout(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for i := range 3 { // at 0, 3 and 6 s; the reader's body takes 2.5 s
				_ = feed.outs["k"].Send(i)
				time.Sleep(3 * time.Second)
			}
		}()
		start := time.Now()
		var vals []int
		var end error
		for it, err := range f.All() {
			if err != nil {
				end = err
				break
			}
			vals = append(vals, it.V)
			time.Sleep(2500 * time.Millisecond)
		}
		if !slices.Equal(vals, []int{0, 1, 2}) || !errors.Is(end, actor.ErrTimeout) {
			t.Fatalf("got %v, %v; want [0 1 2], then ErrTimeout", vals, end)
		}
		if d := time.Since(start); d != 9500*time.Millisecond {
			t.Fatalf("timed out after %v; want 9.5s (1s after the body of the last item)", d)
		}
	})
}
