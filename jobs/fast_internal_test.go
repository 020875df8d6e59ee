package jobs

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
)

// fastHost is a host whose "hang" handler waits for release, ignoring its
// context, as a handler that overruns its cancel does.
type fastHost struct {
	entered chan struct{}
	release chan struct{}
	ref     *actor.Ref[*fastHost] // host "h"
}

var (
	fastEcho = actor.NewMethod("echo", func(_ *fastHost, _ *actor.Ctx, n int) (int, error) { return n, nil })
	fastHang = actor.NewMethod("hang", func(h *fastHost, _ *actor.Ctx, _ struct{}) (int, error) {
		h.entered <- struct{}{}
		<-h.release
		return 1, nil
	})
	fastSpill = actor.NewStream("spill", func(_ *fastHost, _ *actor.Ctx, n int, out *actor.Out[int]) error {
		_ = out.Send(n)
		return out.Close(nil)
	})
)

// newFast is a dispatcher with hosts "h" (its mailbox unbounded) and
// "blocking" (a bounded, Block-policy mailbox), each serving echo, hang and spill,
// and the count of jobs handed to a runner.
func newFast(t *testing.T) (*Dispatcher, *fastHost, *atomic.Int64) {
	t.Helper()
	rt := testkit.NewRuntime(t)
	d, err := New(rt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	handed := new(atomic.Int64)
	d.cfg.handed = func() { handed.Add(1) }
	h := &fastHost{entered: make(chan struct{}, 1), release: make(chan struct{})}
	for name, opts := range map[string][]actor.Option{
		"h":        nil,
		"blocking": {actor.WithMailbox(8, actor.Block)},
	} {
		ref, err := actor.Spawn(rt, h, opts...)
		if err != nil {
			t.Fatal(err)
		}
		if name == "h" {
			h.ref = ref
		}
		host := Ref(name, ref)
		if err := Register(d, host, fastEcho); err != nil {
			t.Fatal(err)
		}
		if err := Register(d, host, fastHang); err != nil {
			t.Fatal(err)
		}
		if err := RegisterStream(d, host, fastSpill); err != nil {
			t.Fatal(err)
		}
	}
	return d, h, handed
}

// A Method job without a deadline, on a host whose mailbox is unbounded,
// runs without a runner goroutine (its call's outcome ends it);
// every other job is handed to a runner. Before the change every job was.
func TestWhichJobsRunWithoutRunner(t *testing.T) {
	d, _, handed := newFast(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tc := range []struct {
		name       string
		host, proc string
		opts       []SubmitOption
		runner     bool
	}{
		{"method in no queue", "h", "echo", nil, false},
		{"method in a queue", "h", "echo", []SubmitOption{Queue("q", 1)}, false},
		{"method with MaxExec", "h", "echo", []SubmitOption{MaxExec(time.Hour)}, true},
		{"method with ReadIdle", "h", "echo", []SubmitOption{ReadIdle(time.Hour)}, true},
		{"method on a bounded host", "blocking", "echo", nil, true},
		{"stream", "h", "spill", nil, true},
	} {
		before := handed.Load()
		j, err := d.Submit(ctx, tc.host, tc.proc, 7, tc.opts...)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if _, err := j.Result(ctx, true); err != nil || j.Status().State != Done {
			t.Fatalf("%s: %s, %v; want done", tc.name, j.Status().State, err)
		}
		if got := handed.Load() - before; got != map[bool]int64{true: 1}[tc.runner] {
			t.Errorf("%s: handed to %d runners; runner wanted: %v", tc.name, got, tc.runner)
		}
	}
	if v, _ := mustJob(t, d, ctx, "h", "echo", 42).Result(ctx, true); v != 42 {
		t.Errorf("echo's result: got %v; want 42", v)
	}
}

func mustJob(t *testing.T, d *Dispatcher, ctx context.Context, host, proc string, args any) *Job {
	t.Helper()
	j, err := d.Submit(ctx, host, proc, args)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// inflight is d's count of jobs not yet released.
func inflight(d *Dispatcher) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.inflight
}

// A job run without a runner that is cancelled while its handler runs on
// ends at once, cancelled, and overruns: it keeps its place in the
// dispatcher's work until the handler returns, then is released once and
// retained (still found by id).
func TestCancelledFastJobOverruns(t *testing.T) {
	d, h, handed := newFast(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	j := mustJob(t, d, ctx, "h", "hang", nil)
	<-h.entered
	if !j.Cancel() {
		t.Fatal("Cancel of a running job: false")
	}
	if _, err := j.Result(ctx, true); !errors.Is(err, ErrCancelled) {
		t.Fatalf("Result: %v; want ErrCancelled", err)
	}
	if st := j.Status(); st.State != Cancelled || !st.Overrunning || inflight(d) != 1 {
		t.Fatalf("cancelled, handler running: %+v, inflight %d; want cancelled, overrunning, 1", st, inflight(d))
	}
	close(h.release)
	deadline := time.Now().Add(10 * time.Second)
	for j.Status().Overrunning || inflight(d) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("handler returned: %+v, inflight %d; want released", j.Status(), inflight(d))
		}
		time.Sleep(time.Millisecond)
	}
	if got, err := d.Job(j.ID()); err != nil || got != j {
		t.Errorf("Job(%q) after the release: %v, %v; want it retained", j.ID(), got, err)
	}
	if n := handed.Load(); n != 0 {
		t.Errorf("handed to %d runners; want 0", n)
	}
}

// Close does not wait for a job run without a runner whose handler
// ignores the cancel: the forced stop releases it, as a runner's barrier
// gives up then. The outcome that comes when the handler returns, after
// Close, releases nothing twice. Before the fix Close waited for the
// handler for ever.
func TestCloseReleasesHungFastJob(t *testing.T) {
	d, h, _ := newFast(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	j := mustJob(t, d, ctx, "h", "hang", nil)
	<-h.entered
	closed := make(chan error, 1)
	go func() { closed <- d.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("Close: %v", err)
		}
	case <-ctx.Done():
		close(h.release) // lets the Close end, and the test
		<-closed
		t.Fatal("Close waited for a handler that ignores its cancel")
	}
	if _, err := j.Result(ctx, true); !errors.Is(err, ErrCancelled) || !errors.Is(err, ErrClosed) {
		t.Fatalf("Result: %v; want ErrCancelled and ErrClosed", err)
	}
	close(h.release)
	// The host's next turn comes after the hung one, whose end handed the
	// outcome on.
	if _, err := fastEcho.Call(ctx, h.ref, 0); err != nil {
		t.Fatal(err)
	}
	if n := inflight(d); n != 0 {
		t.Errorf("inflight after the handler's late outcome: %d; want 0", n)
	}
}

// The jobs of a queue that run without a runner keep its limit: the slot
// of one goes to the next waiting when its outcome comes (on the host's
// turn), still with no runner; a forced stop starts none of those left.
func TestFastQueueChain(t *testing.T) {
	d, h, handed := newFast(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var js []*Job
	for range 3 {
		j, err := d.Submit(ctx, "h", "hang", nil, Queue("c", 1))
		if err != nil {
			t.Fatal(err)
		}
		js = append(js, j)
	}
	for i, j := range js {
		<-h.entered
		for k, o := range js {
			want := map[bool]State{true: Running, false: Queued}[k == i]
			if k < i {
				want = Done
			}
			if got := o.Status().State; got != want {
				t.Fatalf("job %d running: job %d is %s; want %s", i, k, got, want)
			}
		}
		h.release <- struct{}{}
		if _, err := j.Result(ctx, true); err != nil {
			t.Fatalf("job %d: %v", i, err)
		}
	}
	if n := handed.Load(); n != 0 {
		t.Errorf("handed to %d runners; want 0", n)
	}
}

// A queue of jobs to a stopped host fails them all, one after another:
// the first whose call is refused at once goes to a runner, which goes on
// with the rest (their calls refused at once too), not a start inside a
// start as deep as the queue.
func TestFastQueueToStoppedHost(t *testing.T) {
	d, h, handed := newFast(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	j0 := mustJob(t, d, ctx, "h", "hang", nil) // holds the host while the queue fills
	<-h.entered
	var js []*Job
	for range 500 {
		j, err := d.Submit(ctx, "h", "echo", 1, Queue("dead", 1))
		if err != nil {
			t.Fatal(err)
		}
		js = append(js, j)
	}
	h.ref.Kill()
	close(h.release)
	<-h.ref.Done()
	_, _ = j0.Result(ctx, true) // done or failed, as the kill and the release race
	for i, j := range js {
		if _, err := j.Result(ctx, true); !errors.Is(err, ErrUnreachable) && !errors.Is(err, actor.ErrStopped) {
			t.Fatalf("job %d: %v; want unreachable", i, err)
		}
	}
	// js[0]'s call was queued before the kill, and failed with it; the
	// refusal of js[1]'s began the one runner.
	if n := handed.Load(); n != 1 {
		t.Errorf("handed to %d runners; want 1", n)
	}
}
