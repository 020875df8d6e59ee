package actor_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
)

// pwItem is an item of the pool streams: the worker that made it and a
// count.
type pwItem struct{ Worker, N int }

var (
	// pwCount streams n items during its turn.
	pwCount = actor.NewStream("pw.count", func(w *pw, _ *actor.Ctx, n int, out *actor.Out[pwItem]) error {
		for i := range n {
			if err := out.Send(pwItem{w.id, i}); err != nil {
				return err
			}
		}
		return out.Close(nil)
	})
	// pwLater streams off the turn: one item now, the rest once the
	// worker's gate opens, from a goroutine of its own.
	pwLater = actor.NewStream("pw.later", func(w *pw, _ *actor.Ctx, n int, out *actor.Out[pwItem]) error {
		if err := out.Send(pwItem{w.id, 0}); err != nil {
			return err
		}
		go func() {
			<-w.gate
			for i := 1; i < n; i++ {
				_ = out.Send(pwItem{w.id, i})
			}
			_ = out.Close(nil)
		}()
		return nil
	})
	pwHoldStream = actor.NewStream("pw.holdstream", func(w *pw, c *actor.Ctx, _ string, out *actor.Out[pwItem]) error {
		select {
		case <-w.gate:
		case <-c.Context().Done():
		}
		return out.Close(nil)
	})
	pwBoomStream = actor.NewStream("pw.boomstream", func(w *pw, _ *actor.Ctx, _ int, out *actor.Out[pwItem]) error {
		panic("stream boom")
	})
)

func collect(t *testing.T, f *actor.Follow[pwItem]) []pwItem {
	t.Helper()
	var items []pwItem
	for it, err := range f.All() {
		if err != nil {
			t.Fatalf("after %d items: %v", len(items), err)
		}
		items = append(items, it.V)
	}
	return items
}

// TestOpenPoolSpreads: streams opened through a round-robin pool run on
// its workers in turn; each reader gets its stream whole, in order.
func TestOpenPoolSpreads(t *testing.T) {
	rt := newRuntime(t)
	p := newPool(t, rt, 3, nil)
	ctx := context.Background()
	workers := map[int]int{}
	for range 6 {
		f, err := actor.OpenPool(ctx, pwCount, p, 50)
		if err != nil {
			t.Fatal(err)
		}
		items := collect(t, f)
		if len(items) != 50 {
			t.Fatalf("got %d items; want 50", len(items))
		}
		for i, it := range items {
			if it.N != i || it.Worker != items[0].Worker {
				t.Fatalf("item %d: got %+v", i, it)
			}
		}
		workers[items[0].Worker]++
	}
	if len(workers) != 3 {
		t.Fatalf("streams per worker: got %v; want 2 on each of 3", workers)
	}
	for w, n := range workers {
		if n != 2 {
			t.Fatalf("worker %d ran %d streams; want 2", w, n)
		}
	}
	waitFree(t, p) // a worker is released when its turn ends, after its stream's end reached the reader
}

// waitFree waits (in real time, up to 10 s) until no worker of p is busy
// and nothing is queued: a worker is released at the end of its turn,
// which may come after its caller has the reply or its reader the end of
// its stream.
func waitFree(t *testing.T, p interface{ Stats() actor.PoolStats }) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for st := p.Stats(); st.Busy != 0 || st.Queued != 0; st = p.Stats() {
		if time.Now().After(deadline) {
			t.Fatalf("stats: got %+v; want nobody busy and nothing queued", st)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestOpenPoolFreesWorkerAtTurnEnd: a stream produced off the turn does
// not keep its worker: a pool of one still serves calls and other streams
// while it goes on; its reader gets every item once the producer resumes.
func TestOpenPoolFreesWorkerAtTurnEnd(t *testing.T) {
	rt := newRuntime(t)
	gate := make(chan struct{})
	p := newPool(t, rt, 1, gate, actor.WithMaxQueued(1))
	ctx := context.Background()
	f, err := actor.OpenPool(ctx, pwLater, p, 10)
	if err != nil {
		t.Fatal(err)
	}
	// With WithMaxQueued(1), a worker still held by the stream would
	// refuse what follows: wait for its turn to end (a worker kept for
	// the stream's life never gets free, and waitFree fails).
	waitFree(t, p)
	if _, err := actor.CallPool(ctx, pwID, p, 0); err != nil {
		t.Fatalf("a call while the stream goes on: %v", err)
	}
	waitFree(t, p) // the call's turn ends after its reply
	f2, err := actor.OpenPool(ctx, pwCount, p, 3)
	if err != nil {
		t.Fatalf("another stream while the first goes on: %v", err)
	}
	if got := collect(t, f2); len(got) != 3 {
		t.Fatalf("second stream: got %d items; want 3", len(got))
	}
	close(gate)
	if got := collect(t, f); len(got) != 10 {
		t.Fatalf("first stream: got %d items; want 10", len(got))
	}
}

// TestOpenPoolRefusals: a full pool, a stopped pool, a nil stream or pool,
// a Hash pool whose key does not match: each a documented sentinel.
func TestOpenPoolRefusals(t *testing.T) {
	rt := newRuntime(t)
	ctx := context.Background()
	gate := make(chan struct{})
	p := newPool(t, rt, 1, gate, actor.WithMaxQueued(1))
	held := make(chan error, 1)
	go func() {
		f, err := actor.OpenPool(ctx, pwHoldStream, p, "x")
		if err == nil {
			for _, e := range f.All() {
				err = e
			}
		}
		held <- err
	}()
	for p.Stats().Busy != 1 { // the held stream has the only worker
		time.Sleep(time.Millisecond)
	}
	if _, err := actor.OpenPool(ctx, pwCount, p, 1); !errors.Is(err, actor.ErrPoolFull) {
		t.Fatalf("full pool: got %v; want ErrPoolFull", err)
	}
	close(gate)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	if _, err := actor.OpenPool(ctx, (*actor.Stream[*pw, int, pwItem])(nil), p, 1); !errors.Is(err, actor.ErrNilHandler) {
		t.Fatalf("nil stream: got %v; want ErrNilHandler", err)
	}
	if _, err := actor.OpenPool(ctx, &actor.Stream[*pw, int, pwItem]{}, p, 1); !errors.Is(err, actor.ErrNilHandler) {
		t.Fatalf("zero stream (not made by NewStream): got %v; want ErrNilHandler", err)
	}
	if _, err := actor.OpenPool[*pw](ctx, pwCount, nil, 1); !errors.Is(err, actor.ErrNilPool) {
		t.Fatalf("nil pool: got %v; want ErrNilPool", err)
	}
	if _, err := actor.OpenPool(ctx, pwCount, p, 1, actor.Recent(-1)); !errors.Is(err, actor.ErrInvalidOption) {
		t.Fatalf("bad option: got %v; want ErrInvalidOption", err)
	}
	hp := newPool(t, rt, 2, nil, actor.Hash(func(s string) string { return s }))
	if _, err := actor.OpenPool(ctx, pwCount, hp, 1); !errors.Is(err, actor.ErrNoHashKey) {
		t.Fatalf("hash pool, int request: got %v; want ErrNoHashKey", err)
	}
	if err := p.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := actor.OpenPool(ctx, pwCount, p, 1); !errors.Is(err, actor.ErrPoolStopped) {
		t.Fatalf("stopped pool: got %v; want ErrPoolStopped", err)
	}
}

// TestOpenPoolHashKeepsWorker: with Hash, a key's streams all run on one
// worker.
func TestOpenPoolHashKeepsWorker(t *testing.T) {
	rt := newRuntime(t)
	p := newPool(t, rt, 4, nil, actor.Hash(func(s string) string { return s }))
	byKey := map[string]int{}
	for i := range 40 {
		key := "k" + strconv.Itoa(i%5)
		f, err := actor.OpenPool(context.Background(), pwIDStream, p, key)
		if err != nil {
			t.Fatal(err)
		}
		w := collect(t, f)[0].Worker
		if prev, ok := byKey[key]; ok && prev != w {
			t.Fatalf("key %s: worker %d, then %d", key, prev, w)
		}
		byKey[key] = w
	}
}

var pwIDStream = actor.NewStream("pw.idstream", func(w *pw, _ *actor.Ctx, _ string, out *actor.Out[pwItem]) error {
	_ = out.Send(pwItem{Worker: w.id})
	return out.Close(nil)
})

// TestOpenPoolPanic: a stream handler that panics before sending fails
// Open with a *PanicError; only its worker restarts, and the pool goes on
// serving streams (with Balancing too).
func TestOpenPoolPanic(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []actor.PoolOption
	}{{"round robin", nil}, {"balancing", []actor.PoolOption{actor.Balancing()}}} {
		t.Run(tc.name, func(t *testing.T) {
			rt := newRuntime(t)
			p := newPool(t, rt, 2, nil, tc.opts...)
			ctx := context.Background()
			_, err := actor.OpenPool(ctx, pwBoomStream, p, 0)
			var pe *actor.PanicError
			if !errors.As(err, &pe) || pe.Value != "stream boom" {
				t.Fatalf("got %v; want a *PanicError of the handler's", err)
			}
			for range 4 {
				f, err := actor.OpenPool(ctx, pwCount, p, 5)
				if err != nil {
					t.Fatal(err)
				}
				if got := collect(t, f); len(got) != 5 {
					t.Fatalf("got %d items; want 5", len(got))
				}
			}
		})
	}
}

// pwLaterID is a deferred method: each worker answers from a goroutine
// once its gate opens, or at once with an error if asked for bad.
var pwLaterID = actor.NewDeferred("pw.laterid", func(w *pw, _ *actor.Ctx, bad int, r *actor.Reply[int]) {
	if bad != 0 && w.id%bad == 0 {
		_ = r.Send(0, errPW)
		return
	}
	go func() {
		select {
		case <-w.gate:
			_ = r.Send(w.id, nil)
		case <-r.Context().Done(): // the gather settled: nobody wants it
			_ = r.Send(0, r.Context().Err())
		}
	}()
})

// TestFirstDeferred: First gathers deferred replies: the first success
// wins, the other workers' Reply contexts end, failures are joined when
// every worker fails, and a worker stopping with its Reply unsent counts
// as failed.
func TestFirstDeferred(t *testing.T) {
	rt := newRuntime(t)
	ctx := context.Background()
	gate := make(chan struct{})
	p := newPool(t, rt, 3, gate, actor.First(0))
	close(gate)
	id, err := actor.CallPool(ctx, pwLaterID, p, 0)
	if err != nil || id == 0 {
		t.Fatalf("got %d, %v; want a worker's id", id, err)
	}
	// Every worker fails: the errors joined.
	if _, err := actor.CallPool(ctx, pwLaterID, p, 1); !errors.Is(err, errPW) {
		t.Fatalf("all failing: got %v; want errPW", err)
	}
	// Workers that never answer: the deadline, then their contexts end.
	stuck := newPool(t, rt, 2, make(chan struct{}), actor.First(0))
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := actor.CallPool(short, pwLaterID, stuck, 0); !errors.Is(err, actor.ErrTimeout) {
		t.Fatalf("no answer: got %v; want ErrTimeout", err)
	}
	// A pool stopping with owed replies: the call fails with ErrStopped.
	stop := newPool(t, rt, 2, make(chan struct{}), actor.First(0))
	fut := actor.AskPool(ctx, pwLaterID, stop, 0)
	for stop.Stats().Busy != 0 || stop.Stats().Queued != 0 {
		time.Sleep(time.Millisecond)
	}
	_ = stop.Stop(ctx)
	if _, err := fut.Await(ctx); !errors.Is(err, actor.ErrStopped) {
		t.Fatalf("workers stopped with the replies owed: got %v; want ErrStopped", err)
	}
}
