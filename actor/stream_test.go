package actor_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

// Feed produces streams of ints; it keeps some of them open in its state
// for later turns (emit).
type Feed struct {
	outs map[string]*actor.Out[int]
}

func newFeed() *Feed { return &Feed{outs: make(map[string]*actor.Out[int])} }

// feedReq drives the Tail handler.
type feedReq struct {
	Keep  string // keep out under this name, for emit
	Send  []int  // sent during the turn
	Close bool   // close cleanly after sending
	Err   error  // returned by the handler
	Panic any    // panicked with, if not nil
}

// emitReq sends on a stream kept by Tail, on a later turn.
type emitReq struct {
	Name  string
	Send  []int
	Close bool
	Err   error
}

var (
	Tail = actor.NewStream("tail", func(f *Feed, _ *actor.Ctx, r feedReq, out *actor.Out[int]) error {
		for _, v := range r.Send {
			if err := out.Send(v); err != nil {
				return err
			}
		}
		if r.Keep != "" {
			f.outs[r.Keep] = out
		}
		if r.Panic != nil {
			panic(r.Panic)
		}
		if r.Close {
			return out.Close(nil)
		}
		return r.Err
	})
	emit = actor.NewMethod("emit", func(f *Feed, _ *actor.Ctx, r emitReq) (struct{}, error) {
		out := f.outs[r.Name]
		for _, v := range r.Send {
			if err := out.Send(v); err != nil {
				return struct{}{}, err
			}
		}
		if r.Close {
			return struct{}{}, out.Close(r.Err)
		}
		return struct{}{}, nil
	})
	errBroken = errors.New("broken")
)

func spawnFeed(t testing.TB, rt actor.Spawner, opts ...actor.Option) (*actor.Ref[*Feed], *Feed) {
	t.Helper()
	f := newFeed()
	ref, err := actor.Spawn(rt, f, opts...)
	if err != nil {
		t.Fatalf("Spawn: %v", err)
	}
	return ref, f
}

// drain ranges over f.All and returns the items' values, their sequence
// numbers and the last error.
func drain[E any](f *actor.Follow[E]) (vals []E, seqs []uint64, err error) {
	for it, e := range f.All() {
		if e != nil {
			return vals, seqs, e
		}
		vals = append(vals, it.V)
		seqs = append(seqs, it.Seq)
	}
	return vals, seqs, nil
}

func seqsFrom(from, n uint64) []uint64 {
	var s []uint64
	for i := range n {
		s = append(s, from+i)
	}
	return s
}

// A handler's items, sent during its turn, on later turns or from another
// goroutine, reach the reader numbered from 0, and the stream's end is the
// reader's: clean, the handler's error, or its panic as the last pair.
func TestStreamEmits(t *testing.T) {
	tests := []struct {
		name    string
		req     feedReq
		later   []emitReq
		want    []int
		wantErr error
	}{
		{"during the turn", feedReq{Send: []int{1, 2, 3}, Close: true}, nil, []int{1, 2, 3}, nil},
		{"later turns", feedReq{Keep: "k", Send: []int{1}},
			[]emitReq{{Name: "k", Send: []int{2, 3}}, {Name: "k", Send: []int{4}, Close: true}}, []int{1, 2, 3, 4}, nil},
		{"error after items", feedReq{Send: []int{1, 2}, Err: errBroken}, nil, []int{1, 2}, errBroken},
		{"closed with an error later", feedReq{Keep: "k"}, []emitReq{{Name: "k", Send: []int{7}, Close: true, Err: errBroken}}, []int{7}, errBroken},
		{"empty", feedReq{Close: true}, nil, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := newRuntime(t)
			ref, _ := spawnFeed(t, rt)
			ctx := context.Background()
			f, err := Tail.Open(ctx, ref, tt.req)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			for _, e := range tt.later {
				if _, err := emit.Call(ctx, ref, e); err != nil {
					t.Fatalf("emit: %v", err)
				}
			}
			vals, seqs, err := drain(f)
			if !slices.Equal(vals, tt.want) || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("got %v, %v; want %v, %v", vals, err, tt.want, tt.wantErr)
			}
			if want := seqsFrom(0, uint64(len(tt.want))); !slices.Equal(seqs, want) {
				t.Fatalf("got seqs %v; want %v", seqs, want)
			}
		})
	}
}

// The producer may hand out to another goroutine; Send is safe there, and
// the reader waits for items as they come (harp's follow).
func TestStreamOffTurn(t *testing.T) {
	rt := newRuntime(t)
	var wg sync.WaitGroup
	gen := actor.NewStream("gen", func(_ *Feed, _ *actor.Ctx, n int, out *actor.Out[int]) error {
		wg.Go(func() {
			for i := range n {
				_ = out.Send(i)
			}
			_ = out.Close(nil)
		})
		return nil
	})
	defer wg.Wait()
	ref, _ := spawnFeed(t, rt)
	f, err := gen.Open(context.Background(), ref, 1000)
	if err != nil {
		t.Fatal(err)
	}
	vals, _, err := drain(f)
	if err != nil || len(vals) != 1000 {
		t.Fatalf("got %d items, %v; want 1000, nil", len(vals), err)
	}
	for i, v := range vals {
		if v != i {
			t.Fatalf("item %d = %d; want %d (in order)", i, v, i)
		}
	}
}

// A handler that fails before its stream holds an item fails Open with
// its error or *PanicError; a panic after items is the reader's last pair.
func TestStreamHandlerFails(t *testing.T) {
	rt := newRuntime(t)
	ref, _ := spawnFeed(t, rt)
	ctx := context.Background()
	if _, err := Tail.Open(ctx, ref, feedReq{Err: errBroken}); !errors.Is(err, errBroken) {
		t.Errorf("Open of a failing handler: got %v; want errBroken", err)
	}
	var pe *actor.PanicError
	if _, err := Tail.Open(ctx, ref, feedReq{Panic: "boom"}); !errors.As(err, &pe) || pe.Value != "boom" || pe.Method != "tail" {
		t.Errorf("Open of a panicking handler: got %v; want a *PanicError of tail with boom", err)
	}
	f, err := Tail.Open(ctx, ref, feedReq{Send: []int{1}, Panic: "late"})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	vals, _, err := drain(f)
	if !slices.Equal(vals, []int{1}) || !errors.As(err, &pe) || pe.Value != "late" {
		t.Fatalf("got %v, %v; want [1], a *PanicError with late", vals, err)
	}
}

// Open refuses like Call: a stopped actor, a full mailbox, a cycle, a
// cancelled ctx; nothing runs.
func TestStreamOpenRefused(t *testing.T) {
	rt := newRuntime(t)
	ctx := context.Background()
	stopped, _ := spawnFeed(t, rt)
	if err := stopped.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	self := actor.NewStream("self", func(_ *Feed, c *actor.Ctx, _ int, out *actor.Out[int]) error {
		_, err := Tail.Open(c.Context(), actor.Self[*Feed](c), feedReq{Close: true})
		return err
	})
	live, _ := spawnFeed(t, rt)
	tests := []struct {
		name string
		open func() error
		want error
	}{
		{"stopped", func() error { _, err := Tail.Open(ctx, stopped, feedReq{}); return err }, actor.ErrStopped},
		{"cancelled ctx", func() error { _, err := Tail.Open(cancelled, live, feedReq{}); return err }, context.Canceled},
		{"cycle", func() error { _, err := self.Open(ctx, live, 0); return err }, actor.ErrCallCycle},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.open(); !errors.Is(err, tt.want) {
				t.Fatalf("got %v; want %v", err, tt.want)
			}
		})
	}
}

// Open on a full mailbox gets ErrMailboxFull at once.
func TestStreamOpenMailboxFull(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		ref, _ := spawnFeed(t, rt, actor.WithMailbox(1, actor.Reject))
		block := actor.NewMethod("block", func(_ *Feed, c *actor.Ctx, d time.Duration) (int, error) {
			time.Sleep(d)
			return 0, nil
		})
		go block.Call(context.Background(), ref, time.Second) // runs
		synctest.Wait()
		go block.Call(context.Background(), ref, 0) // fills the mailbox
		synctest.Wait()
		if _, err := Tail.Open(context.Background(), ref, feedReq{}); !errors.Is(err, actor.ErrMailboxFull) {
			t.Fatalf("got %v; want ErrMailboxFull", err)
		}
	})
}

// An Open whose deadline passes before its handler starts fails with
// ErrTimeout, and the handler never runs (a dead letter says so); without
// a ctx deadline, the runtime's call timeout bounds the wait.
func TestStreamOpenExpires(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rec := &recorder{}
		rt := newRuntime(t, troupe.WithDeadLetterHook(rec.Hook), troupe.WithCallTimeout(2*time.Second))
		ref, feed := spawnFeed(t, rt)
		go Sleep2.Call(context.Background(), ref, 5*time.Second)
		synctest.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if _, err := Tail.Open(ctx, ref, feedReq{Keep: "a"}); !errors.Is(err, actor.ErrTimeout) {
			t.Fatalf("Open with a deadline: got %v; want ErrTimeout", err)
		}
		start := time.Now()
		if _, err := Tail.Open(context.Background(), ref, feedReq{Keep: "b"}); !errors.Is(err, actor.ErrTimeout) {
			t.Fatalf("Open without a deadline: got %v; want ErrTimeout", err)
		}
		if d := time.Since(start); d != 2*time.Second {
			t.Fatalf("Open without a deadline waited %v; want the call timeout, 2s", d)
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if len(feed.outs) != 0 {
			t.Fatalf("handlers ran for %v; want none (their callers gave up first)", feed.outs)
		}
		if n := rec.Count(troupe.ReasonExpired, "tail"); n != 2 {
			t.Fatalf("expired dead letters = %d; want 2 (%v)", n, rec.All())
		}
	})
}

// Sleep2 occupies a Feed.
var Sleep2 = actor.NewMethod("sleep", func(_ *Feed, _ *actor.Ctx, d time.Duration) (int, error) {
	time.Sleep(d)
	return 0, nil
})

// When the producing actor stops, its open streams end with ErrStopped
// for their readers, and Send fails with ErrStreamClosed.
func TestStreamEndsWhenActorStops(t *testing.T) {
	tests := []struct {
		name string
		stop func(*actor.Ref[*Feed]) error
	}{
		{"stop", func(r *actor.Ref[*Feed]) error { return r.Stop(context.Background()) }},
		{"kill", func(r *actor.Ref[*Feed]) error { r.Kill(); <-r.Done(); return nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rt := newRuntime(t)
			ref, feed := spawnFeed(t, rt)
			ctx := context.Background()
			f1, err := Tail.Open(ctx, ref, feedReq{Keep: "a", Send: []int{1}})
			if err != nil {
				t.Fatal(err)
			}
			f2, err := Tail.Open(ctx, ref, feedReq{Keep: "b"})
			if err != nil {
				t.Fatal(err)
			}
			if err := tt.stop(ref); err != nil {
				t.Fatal(err)
			}
			for i, f := range []*actor.Follow[int]{f1, f2} {
				_, _, err := drain(f)
				if !errors.Is(err, actor.ErrStopped) {
					t.Errorf("reader %d: got %v; want ErrStopped", i, err)
				}
			}
			if err := feed.outs["a"].Send(2); !errors.Is(err, actor.ErrStreamClosed) {
				t.Errorf("Send after the stop: got %v; want ErrStreamClosed", err)
			}
		})
	}
}

// A stream opened while the actor stops gracefully (queued before the
// stop) still ends with ErrStopped.
func TestStreamOpenedWhileStopping(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		ref, _ := spawnFeed(t, rt)
		go Sleep2.Call(context.Background(), ref, time.Second)
		synctest.Wait()
		type res struct {
			f   *actor.Follow[int]
			err error
		}
		got := make(chan res, 1)
		go func() {
			f, err := Tail.Open(context.Background(), ref, feedReq{Keep: "a", Send: []int{1}})
			got <- res{f, err}
		}()
		synctest.Wait()
		go ref.Stop(context.Background())
		synctest.Wait()
		r := <-got
		if r.err != nil {
			t.Fatalf("Open queued before the stop: %v", r.err)
		}
		vals, _, err := drain(r.f)
		if !slices.Equal(vals, []int{1}) || !errors.Is(err, actor.ErrStopped) {
			t.Fatalf("got %v, %v; want [1], ErrStopped", vals, err)
		}
	})
}

// errList is an error whose type is not comparable (a slice), like
// go-playground/validator's ValidationErrors: == on two of them panics.
type errList []error

func (e errList) Error() string   { return errors.Join(e...).Error() }
func (e errList) Unwrap() []error { return e }

// A handler that closes its stream with an error of an uncomparable type
// and returns that error (it only repeats the stream's end) is not a
// panic: Open gets the error, the actor is not failed, nothing is a dead
// letter.
func TestStreamUncomparableEndError(t *testing.T) {
	var letters recorder
	rt := newRuntime(t, troupe.WithDeadLetterHook(letters.Hook))
	ref, _ := spawnFeed(t, rt, actor.WithSupervision(actor.Supervision{Directive: actor.Terminate}))
	closeWith := actor.NewStream("closewith", func(_ *Feed, _ *actor.Ctx, _ struct{}, out *actor.Out[int]) error {
		err := errList{errBroken}
		out.Close(err)
		return err
	})
	_, err := closeWith.Open(context.Background(), ref, struct{}{})
	var pe *actor.PanicError
	if errors.As(err, &pe) || !errors.Is(err, errBroken) {
		t.Fatalf("Open: got %v; want the handler's errList", err)
	}
	if ref.Stopped() {
		t.Errorf("the actor stopped: its handler's error was taken for a panic")
	}
	if n := len(letters.All()); n != 0 {
		t.Errorf("got %d dead letters (%v); want 0", n, letters.All())
	}
}

// errHolder is an error of a comparable struct type whose field holds an
// error of an uncomparable type: == on two of them panics all the same.
type errHolder struct{ err error }

func (e errHolder) Error() string { return "holder: " + e.err.Error() }
func (e errHolder) Unwrap() error { return e.err }

// As TestStreamUncomparableEndError, with the uncomparable error one level
// down, in a field of a comparable type (reflect calls the type
// comparable; == on two such values panics).
func TestStreamUncomparableEndErrorInField(t *testing.T) {
	var letters recorder
	rt := newRuntime(t, troupe.WithDeadLetterHook(letters.Hook))
	ref, _ := spawnFeed(t, rt, actor.WithSupervision(actor.Supervision{Directive: actor.Terminate}))
	closeWith := actor.NewStream("closewith", func(_ *Feed, _ *actor.Ctx, _ struct{}, out *actor.Out[int]) error {
		err := errHolder{errList{errBroken}}
		out.Close(err)
		return err
	})
	_, err := closeWith.Open(context.Background(), ref, struct{}{})
	var pe *actor.PanicError
	if errors.As(err, &pe) || !errors.Is(err, errBroken) {
		t.Fatalf("Open: got %v; want the handler's errHolder", err)
	}
	if ref.Stopped() {
		t.Errorf("the actor stopped: its handler's error was taken for a panic")
	}
	if n := len(letters.All()); n != 0 {
		t.Errorf("got %d dead letters (%v); want 0", n, letters.All())
	}
}
