package jobs_test

import (
	"context"
	"encoding/json"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	"github.com/troupe-go/troupe/jobs"
	troupe "github.com/troupe-go/troupe/runtime"
)

// execBackend only hands jobs to its Executor, for tests that run a job
// with Executor.Run to watch its copy (emit): the dispatcher calls no
// other method of a Backend while nothing is submitted through it (the
// nil embedded Backend would panic).
type execBackend struct {
	jobs.Backend
	x *jobs.Executor
}

func (b *execBackend) Attach(x *jobs.Executor) error               { b.x = x; return nil }
func (b *execBackend) Serve(context.Context, string, string) error { return nil }
func (b *execBackend) Stop()                                       {}
func (b *execBackend) Close() error                                { return nil }

// newExecDispatcher returns a dispatcher on a fresh runtime with an
// execBackend, closed with the test.
func newExecDispatcher(t *testing.T) (*troupe.Runtime, *jobs.Dispatcher, *execBackend) {
	t.Helper()
	rt := testkit.NewRuntime(t)
	b := &execBackend{}
	d, err := jobs.New(rt, jobs.WithBackend(b))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return rt, d, b
}

// execEnd registers a procedure (register) on host "h", an agent, of an
// execBackend's dispatcher, runs rec on its Executor, and returns the
// record the run ended with; a panic out of Run fails the test.
func execEnd(t *testing.T, register func(*jobs.Dispatcher, jobs.Host[*agent]) error, rec jobs.Record) jobs.Record {
	t.Helper()
	rt, d, bk := newExecDispatcher(t)
	ref, err := actor.Spawn(rt, &agent{p: &probe{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := register(d, jobs.Ref("h", ref)); err != nil {
		t.Fatal(err)
	}
	var end jobs.Record
	func() {
		defer func() {
			if v := recover(); v != nil {
				t.Fatalf("Executor.Run panicked: %v", v)
			}
		}()
		if err := bk.x.Run(context.Background(), rec, func(any) {}, func(r jobs.Record) { end = r }); err != nil {
			t.Fatalf("Run: %v", err)
		}
	}()
	return end
}

// A stream job whose producer outruns the copy into the job's output runs
// to its end: the copy falls behind the host's journal, gets a
// *actor.TruncatedError and resumes with Since, and the producer, which
// watches its Out.Context as the docs advise, never sees a moment without
// a reader. The copy is held in emit on item 0 while the producer sends
// past the journal's 8 items, so the truncation is certain; the producer
// looks at its context once the copy has resumed, and then sends what the
// journal keeps whole. Before the fix the
// truncated reader left at once, the producer's context was cancelled
// with ErrNoReader, and it stopped with most of its items unsent.
func TestStreamJobOutrunsCopy(t *testing.T) {
	rt, d, b := newExecDispatcher(t)
	const n = 32                   // the first run: item 0, then 1..31, of which 24..31 are kept
	copying := make(chan struct{}) // the copy holds item 0
	ahead := make(chan struct{})   // the producer has sent 1..31
	resumed := make(chan struct{}) // the copy has resumed at 24
	var cancelled atomic.Pointer[error]
	burst := actor.NewStream("burst", func(_ *agent, _ *actor.Ctx, _ int, out *actor.Out[int]) error {
		ctx := out.Context()
		go func() {
			stop := func() {
				cause := context.Cause(ctx)
				cancelled.Store(&cause)
				_ = out.Close(cause)
			}
			_ = out.Send(0)
			select {
			case <-copying:
			case <-ctx.Done():
				stop()
				return
			}
			for i := 1; i < n; i++ {
				_ = out.Send(i)
			}
			close(ahead)
			select {
			case <-resumed:
			case <-ctx.Done():
			}
			if ctx.Err() != nil {
				stop()
				return
			}
			for i := n; i < n+8; i++ { // kept whole: the copy has read up to n
				_ = out.Send(i)
			}
			_ = out.Close(nil)
		}()
		return nil
	}, actor.WithJournal(8, 1<<20))
	ref, err := actor.Spawn(rt, &agent{p: &probe{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := jobs.RegisterStream(d, jobs.Ref("h", ref), burst); err != nil {
		t.Fatal(err)
	}
	var got []int
	emit := func(v any) { // on the job's goroutine
		i := v.(int)
		got = append(got, i)
		switch i {
		case 0:
			close(copying)
			<-ahead
		case n - 8:
			close(resumed)
		}
	}
	var end jobs.Record
	ended := func(r jobs.Record) { end = r }
	rec := jobs.Record{ID: "outrun", Host: "h", Procedure: "burst", Args: json.RawMessage("0"), State: jobs.Running}
	if err := b.x.Run(context.Background(), rec, emit, ended); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if p := cancelled.Load(); p != nil {
		t.Fatalf("the producer's context was cancelled (cause %v) while the job copied its stream; want it live to the end", *p)
	}
	want := append([]int{0}, intsFrom(n-8, n+8)...)
	if end.State != jobs.Done || end.Error != nil || !slices.Equal(got, want) {
		t.Fatalf("got %s, %v, items %v; want done, nil, items 0 and %d..%d", end.State, end.Error, got, n-8, n+7)
	}
}

func intsFrom(from, to int) []int {
	var s []int
	for i := from; i < to; i++ {
		s = append(s, i)
	}
	return s
}

// TestStreamJobFailsBehindCopy: a stream that fails while the job's copy
// is behind its journal fails the job. The copy is held in emit on item
// 0 while the producer sends past the journal's 8 items and ends with
// errBoom, so the copy's reader is truncated and the stream is gone when
// it would resume. Before the fix the end was lost with the items and
// the job was done; it is now failed with the stream's error, read by a
// reader placed past every item (never truncated).
func TestStreamJobFailsBehindCopy(t *testing.T) {
	rt, d, b := newExecDispatcher(t)
	copying := make(chan struct{}) // the copy holds item 0
	ended := make(chan struct{})   // the producer has sent 1..31 and failed
	burst := actor.NewStream("burst", func(_ *agent, _ *actor.Ctx, _ int, out *actor.Out[int]) error {
		go func() {
			_ = out.Send(0)
			<-copying
			for i := 1; i < 32; i++ {
				_ = out.Send(i)
			}
			_ = out.Close(errBoom)
			close(ended)
		}()
		return nil
	}, actor.WithJournal(8, 1<<20))
	ref, err := actor.Spawn(rt, &agent{p: &probe{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := jobs.RegisterStream(d, jobs.Ref("h", ref), burst); err != nil {
		t.Fatal(err)
	}
	emit := func(v any) { // on the job's goroutine
		if v.(int) == 0 {
			close(copying)
			<-ended
		}
	}
	var end jobs.Record
	rec := jobs.Record{ID: "behind", Host: "h", Procedure: "burst", Args: json.RawMessage("0"), State: jobs.Running}
	if err := b.x.Run(context.Background(), rec, emit, func(r jobs.Record) { end = r }); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if end.State != jobs.Failed || end.Error == nil || end.Error.Message != errBoom.Error() {
		t.Fatalf("a stream that failed behind the copy: got %s, %v; want failed, %v", end.State, end.Error, errBoom)
	}
}
