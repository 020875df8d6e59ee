package jobs_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	"github.com/troupe-go/troupe/jobs"
)

// recordBackend keeps one job's record; its Await fails with
// ErrUnavailable as many times as told, then waits for the record's end.
// The dispatcher calls only the methods it defines here.
type recordBackend struct {
	jobs.Backend
	mu       sync.Mutex
	rec      jobs.Record
	ended    chan struct{} // closed when rec has ended
	failures atomic.Int32  // Awaits still to fail
	items    []jobs.OutputItem
	itemGap  time.Duration // Output's wait before each stored item: a slow store
	outputs  chan error    // if set, gets what each Output returns
	cancels  atomic.Int32
}

func (b *recordBackend) Attach(*jobs.Executor) error                 { return nil }
func (b *recordBackend) Serve(context.Context, string, string) error { return nil }
func (b *recordBackend) Stop()                                       {}
func (b *recordBackend) Close() error                                { return nil }

func (b *recordBackend) Lookup(ctx context.Context, id string) (jobs.Record, error) {
	if err := ctx.Err(); err != nil { // a round trip's ctx
		return jobs.Record{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if id != b.rec.ID {
		return jobs.Record{}, fmt.Errorf("%w: %q", jobs.ErrNotFound, id)
	}
	return b.rec, nil
}

// lookupGen is Lookup for the job of generation gen (0: any).
func (b *recordBackend) lookupGen(ctx context.Context, id string, gen uint64) (jobs.Record, error) {
	r, err := b.Lookup(ctx, id)
	if err == nil && gen != 0 && r.Gen != gen {
		return jobs.Record{}, fmt.Errorf("%w: %q of generation %d", jobs.ErrNotFound, id, gen)
	}
	return r, err
}

func (b *recordBackend) Await(ctx context.Context, id string, gen uint64) (jobs.Record, error) {
	if _, err := b.lookupGen(ctx, id, gen); err != nil {
		return jobs.Record{}, err
	}
	if b.failures.Add(-1) >= 0 {
		return jobs.Record{}, fmt.Errorf("%w: a blip", jobs.ErrUnavailable)
	}
	select {
	case <-b.ended:
		return b.lookupGen(ctx, id, gen)
	case <-ctx.Done():
		return jobs.Record{}, ctx.Err()
	}
}

// Cancel cancels the job as a running one (whose runner would end it):
// it counts the calls that reached the job.
func (b *recordBackend) Cancel(ctx context.Context, id string, gen uint64) (bool, error) {
	if _, err := b.lookupGen(ctx, id, gen); err != nil {
		return false, err
	}
	b.cancels.Add(1)
	return true, nil
}

// Output yields the job's items, then waits for its end: caught up
// once it has yielded them.
func (b *recordBackend) Output(ctx context.Context, id string, gen uint64, caughtUp func(), yield func(jobs.OutputItem) bool) (err error) {
	if b.outputs != nil {
		defer func() { b.outputs <- err }()
	}
	if _, err := b.lookupGen(ctx, id, gen); err != nil {
		return err
	}
	for _, it := range b.items {
		time.Sleep(b.itemGap)
		if !yield(it) {
			return nil
		}
	}
	caughtUp()
	select {
	case <-b.ended:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// end ends the job as done.
func (b *recordBackend) end() {
	b.mu.Lock()
	b.rec.State, b.rec.Ended = jobs.Done, time.Now()
	b.mu.Unlock()
	close(b.ended)
}

// TestViewDoneAfterStoreBlip: a backend job's Done closes when the job
// ends even if the store could not be reached once while it was awaited:
// the watcher gave up at the first error, so Done never closed.
func TestViewDoneAfterStoreBlip(t *testing.T) {
	testkit.Bubble(t, func(t *testing.T) {
		rt := testkit.NewRuntime(t)
		b := &recordBackend{rec: jobs.Record{ID: "x", Host: "h", Procedure: "p", State: jobs.Running,
			Submitted: time.Now(), Started: time.Now()}, ended: make(chan struct{})}
		b.failures.Store(1)
		d, err := jobs.New(rt, jobs.WithBackend(b))
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		j, err := d.Job("x")
		if err != nil {
			t.Fatal(err)
		}
		done := j.Done()
		synctest.Wait() // the first Await has failed
		b.end()
		select {
		case <-done:
		case <-time.After(time.Minute):
			t.Fatal("Done not closed a minute after the job ended")
		}
	})
}

// TestViewCollectedEnded: Collected of a backend job that has ended
// returns its whole output and io.EOF, as a job in memory does, and so
// does an HTTP output without follow. The reader read the dispatcher's
// mirror of the output as the pump had filled it so far: a mirror just
// made held nothing, so the items were missing and the error nil, as if
// the job still ran.
func TestViewCollectedEnded(t *testing.T) {
	rt := testkit.NewRuntime(t)
	now := time.Now()
	b := &recordBackend{rec: jobs.Record{ID: "x", Host: "h", Procedure: "p", State: jobs.Done,
		Submitted: now, Started: now, Ended: now}, ended: make(chan struct{})}
	close(b.ended)
	for i := range 3 {
		b.items = append(b.items, jobs.OutputItem{Seq: uint64(i), Value: json.RawMessage(fmt.Sprint(i))})
	}
	d, err := jobs.New(rt, jobs.WithBackend(b))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	for _, tc := range []struct {
		name string
		opts []actor.FollowOption
		want []uint64
	}{
		{"all", nil, []uint64{0, 1, 2}},
		{"since 1", []actor.FollowOption{actor.Since(1)}, []uint64{1, 2}},
		{"recent 1", []actor.FollowOption{actor.Recent(1)}, []uint64{2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j, err := d.Job("x") // a new view each time: no mirror kept from before
			if err != nil {
				t.Fatal(err)
			}
			items, err := j.Collected(tc.opts...)
			if got, _ := seqs(items); err != io.EOF || !slices.Equal(got, tc.want) {
				t.Fatalf("Collected: got %v, %v; want %v, io.EOF", got, err, tc.want)
			}
		})
	}
	srv, c := serveHandler(t, jobs.Handler(d))
	code, body := call(t, c, http.MethodGet, srv.URL+"/jobs/x/output?follow=0", "")
	lines := jsonLines(t, body)
	if code != http.StatusOK || len(lines) != 4 || lines[3]["end"] != true {
		t.Fatalf("HTTP output without follow: got %d %s; want the 3 items and the end", code, body)
	}
}

// TestViewFollowersLeft: the dispatcher's copy of a backend job's output
// (its mirror's pump, reading the store) stops once the readers here have
// gone, in process (their ctx ended) and over HTTP (the client went
// away), though the job runs on. It ran until the job's end or the
// dispatcher's stop: an endless job followed once kept a goroutine
// reading the store for ever.
func TestViewFollowersLeft(t *testing.T) {
	b, d, j := followedJob(t)
	stopped := func(how string) {
		t.Helper()
		select {
		case <-b.outputs:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the copy of the output still runs 10 s after its readers left", how)
		}
	}

	// In process: two readers, attached until their ctx ends (Collected
	// leaves a reader attached; a break out of All would detach it, which
	// stops the copy too: TestViewFollowCloseReleases); the copy stops
	// when the second one's ctx ends, not the first one's.
	ctx1, cancel1 := context.WithCancel(context.Background())
	ctx2, cancel2 := context.WithCancel(context.Background())
	for _, ctx := range []context.Context{ctx1, ctx2} {
		f, err := j.Follow(ctx)
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, "item 0", func() bool { // the copy runs
			items, err := f.Collected()
			if err != nil {
				t.Fatal(err)
			}
			return len(items) > 0
		})
	}
	cancel1()
	f, err := j.Follow(ctx2, actor.Recent(0)) // a reader that stays until cancel2
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	select {
	case err := <-b.outputs:
		t.Fatalf("the copy stopped (%v) while a reader was left", err)
	default:
	}
	cancel2()
	stopped("in process")

	// Over HTTP: the client reads the first line and goes away.
	srv, c := serveHandler(t, jobs.Handler(d))
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/jobs/x/output", nil)
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(res.Body).ReadString('\n')
	if err != nil || line != `{"seq":0,"value":"hello"}`+"\n" {
		t.Fatalf("first line: got %q, %v", line, err)
	}
	cancel()
	res.Body.Close()
	stopped("over HTTP")
}

// TestViewAfterClose: once the dispatcher has stopped, what would ask the
// store (Job, a running job's Result, Follow) returns ErrClosed, and so
// does a Result that was waiting as it stopped; a view still shows the
// last record it read. They returned the error of a round trip whose
// ctx, the dispatcher's, had ended ("context canceled", no sentinel), and
// the waiting Result went on waiting on the closed backend.
func TestViewAfterClose(t *testing.T) {
	rt := testkit.NewRuntime(t)
	now := time.Now()
	b := &recordBackend{rec: jobs.Record{ID: "x", Host: "h", Procedure: "p", State: jobs.Running,
		Submitted: now, Started: now}, ended: make(chan struct{})}
	d, err := jobs.New(rt, jobs.WithBackend(b))
	if err != nil {
		t.Fatal(err)
	}
	j, err := d.Job("x")
	if err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() {
		_, err := j.Result(context.Background(), true)
		waited <- err
	}()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-waited:
		if !errors.Is(err, jobs.ErrClosed) {
			t.Fatalf("Result waiting through Close: got %v; want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Result waiting through Close: still waiting 10 s later")
	}
	if _, err := d.Job("x"); !errors.Is(err, jobs.ErrClosed) {
		t.Fatalf("Job after Close: got %v; want ErrClosed", err)
	}
	if _, err := j.Result(context.Background(), false); !errors.Is(err, jobs.ErrClosed) {
		t.Fatalf("Result of a running job after Close: got %v; want ErrClosed", err)
	}
	if _, err := j.Follow(context.Background()); !errors.Is(err, jobs.ErrClosed) {
		t.Fatalf("Follow after Close: got %v; want ErrClosed", err)
	}
	if st := j.Status(); st.State != jobs.Running {
		t.Fatalf("Status after Close: got %s; want the last one read, running", st.State)
	}
}

// followedJob is a dispatcher on a backend whose job "x" runs, with one
// output item, and that job: the store-copy tests' start. The dispatcher
// is closed when the test ends.
func followedJob(t *testing.T) (*recordBackend, *jobs.Dispatcher, *jobs.Job) {
	t.Helper()
	rt := testkit.NewRuntime(t)
	now := time.Now()
	b := &recordBackend{rec: jobs.Record{ID: "x", Host: "h", Procedure: "p", State: jobs.Running,
		Submitted: now, Started: now}, ended: make(chan struct{}), outputs: make(chan error, 8),
		items: []jobs.OutputItem{{Seq: 0, Value: json.RawMessage(`"hello"`)}}}
	d, err := jobs.New(rt, jobs.WithBackend(b))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	j, err := d.Job("x")
	if err != nil {
		t.Fatal(err)
	}
	return b, d, j
}

// TestViewRecentRunning: a reader of a running backend job placed with
// Recent(n) on a dispatcher with no copy of its output yet reads the
// last n items stored, and Collected with Recent returns them, as in
// memory. The copy (mirror) was made empty and the reader placed at its
// end at once: it then read every item the store replayed.
func TestViewRecentRunning(t *testing.T) {
	rt := testkit.NewRuntime(t)
	now := time.Now()
	b := &recordBackend{rec: jobs.Record{ID: "x", Host: "h", Procedure: "p", State: jobs.Running,
		Submitted: now, Started: now}, ended: make(chan struct{})}
	for i := range 4 {
		b.items = append(b.items, jobs.OutputItem{Seq: uint64(i), Value: json.RawMessage(fmt.Sprint(i))})
	}
	d, err := jobs.New(rt, jobs.WithBackend(b))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	j, err := d.Job("x")
	if err != nil {
		t.Fatal(err)
	}
	f, err := j.Follow(ctx, actor.Recent(2))
	if err != nil {
		t.Fatal(err)
	}
	var got []uint64
	for it, err := range f.All() {
		if err != nil {
			t.Fatalf("read: %v (after %v)", err, got)
		}
		if got = append(got, it.Seq); len(got) == 2 {
			break
		}
	}
	if want := []uint64{2, 3}; !slices.Equal(got, want) {
		t.Fatalf("Follow(Recent(2)): got %v; want %v", got, want)
	}
	j, err = d.Job("x") // the mirror above is gone with its reader
	if err != nil {
		t.Fatal(err)
	}
	items, err := j.Collected(actor.Recent(1))
	if got, _ := seqs(items); err != nil || !slices.Equal(got, []uint64{3}) {
		t.Fatalf("Collected(Recent(1)): got %v, %v; want [3], nil", got, err)
	}
}

// TestViewStaleGen: a *Job kept past its job's retention, whose id the
// backend now gives a newer job (another Record.Gen), acts on no job:
// Result, Collected and Cancel get ErrNotFound. The dispatcher named
// the job to the backend by id alone: the handle awaited the new job,
// read its output and cancelled it, and took its record for its own.
func TestViewStaleGen(t *testing.T) {
	rt := testkit.NewRuntime(t)
	now := time.Now()
	b := &recordBackend{rec: jobs.Record{ID: "x", Host: "h", Procedure: "p", State: jobs.Running,
		Submitted: now, Started: now, Gen: 1}, ended: make(chan struct{})}
	d, err := jobs.New(rt, jobs.WithBackend(b))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	stale, err := d.Job("x")
	if err != nil {
		t.Fatal(err)
	}
	b.mu.Lock()
	b.rec.Gen = 2 // the job is gone, its id a new job's
	b.items = []jobs.OutputItem{{Seq: 0, Value: json.RawMessage(`"new"`)}}
	b.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := stale.Result(ctx, true); !errors.Is(err, jobs.ErrNotFound) {
		t.Errorf("Result(wait): %v; want ErrNotFound", err)
	}
	if _, err := stale.Result(ctx, false); !errors.Is(err, jobs.ErrNotFound) {
		t.Errorf("Result(no wait): %v; want ErrNotFound", err)
	}
	if items, err := stale.Collected(); !errors.Is(err, jobs.ErrNotFound) {
		t.Errorf("Collected: %v, %v; want ErrNotFound", items, err)
	}
	if stale.Cancel() || b.cancels.Load() != 0 {
		t.Errorf("Cancel: reached the new job (%d)", b.cancels.Load())
	}
	j, err := d.Job("x") // a new handle: the new job
	if err != nil {
		t.Fatal(err)
	}
	if !j.Cancel() || b.cancels.Load() != 1 {
		t.Errorf("Cancel of the new job's handle: did not reach it")
	}
}

// TestViewSlowReplay: a reader of a backend job whose stored output takes
// longer than DefaultBackendTimeout to replay, item after item, is
// placed once the replay has caught up. Before, its wait for the catch-up
// was bounded by DefaultBackendTimeout in all: an output long enough, or
// a store slow enough, made every Follow fail with ErrUnavailable though
// the copy went on. The bound is now on a stall: no item copied for
// DefaultBackendTimeout.
func TestViewSlowReplay(t *testing.T) {
	testkit.Bubble(t, func(t *testing.T) {
		rt := testkit.NewRuntime(t)
		now := time.Now()
		b := &recordBackend{rec: jobs.Record{ID: "x", Host: "h", Procedure: "p", State: jobs.Running,
			Submitted: now, Started: now}, ended: make(chan struct{}), itemGap: time.Second}
		for i := range 8 { // 8 s to replay
			b.items = append(b.items, jobs.OutputItem{Seq: uint64(i), Value: json.RawMessage(fmt.Sprint(i))})
		}
		d, err := jobs.New(rt, jobs.WithBackend(b))
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		j, err := d.Job("x")
		if err != nil {
			t.Fatal(err)
		}
		f, err := j.Follow(context.Background(), actor.Recent(1))
		if err != nil {
			t.Fatalf("Follow(Recent(1)) of a slow 8-item replay: %v; want a reader", err)
		}
		defer f.Close()
		b.end()
		items, err := f.Collected()
		if got, _ := seqs(items); !slices.Equal(got, []uint64{7}) {
			t.Fatalf("Collected: %v, %v; want [7]", got, err)
		}
		// A store that stalls: nothing copied for longer than the bound.
		stalled := &recordBackend{rec: b.rec, ended: make(chan struct{}), items: b.items[:1], itemGap: 6 * time.Second}
		d2, err := jobs.New(rt, jobs.WithBackend(stalled))
		if err != nil {
			t.Fatal(err)
		}
		defer d2.Close()
		defer stalled.end()
		j, err = d2.Job("x")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := j.Follow(context.Background()); !errors.Is(err, jobs.ErrUnavailable) {
			t.Fatalf("Follow with the store stalled: %v; want ErrUnavailable", err)
		}
	})
}
