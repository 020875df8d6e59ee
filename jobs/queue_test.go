package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/troupe-go/troupe/internal/testkit"
	"github.com/troupe-go/troupe/jobs"
)

func TestQueueWaits(t *testing.T) {
	e := newEnv(t, 3)
	g := []*gate{newGate(), newGate(), newGate()}
	var js []*jobs.Job
	for i := range 3 {
		js = append(js, e.submit(t, fmt.Sprintf("a%d", i), "hold", g[i], jobs.Queue("q", 2)))
	}
	<-g[0].entered
	<-g[1].entered
	if st := js[2].Status(); st.State != jobs.Queued || !st.Started.IsZero() || st.Queue != "q" {
		t.Fatalf("third job: got %+v; want queued, not started, in q", st)
	}
	if n := e.p.calls.Load(); n != 2 {
		t.Fatalf("handlers entered: got %d; want 2", n)
	}
	close(g[0].release)
	<-g[2].entered // the freed slot takes the third
	if st := js[2].Status(); st.State != jobs.Running || st.Started.IsZero() {
		t.Fatalf("third job after a release: got %+v; want running", st)
	}
	close(g[1].release)
	close(g[2].release)
	for _, j := range js {
		if _, err := result(t, j); err != nil {
			t.Fatal(err)
		}
	}
}

func TestQueueOrder(t *testing.T) {
	e := newEnv(t, 1)
	first := newGate()
	e.submit(t, "a0", "hold", first, jobs.Queue("fifo", 1))
	<-first.entered
	var js []*jobs.Job
	for range 5 {
		g := newGate()
		close(g.release)
		js = append(js, e.submit(t, "a0", "hold", g, jobs.Queue("fifo", 1)))
	}
	close(first.release)
	var last *jobs.Job
	for i, j := range js {
		if _, err := result(t, j); err != nil {
			t.Fatal(err)
		}
		if last != nil && j.Status().Started.Before(last.Status().Started) {
			t.Fatalf("job %d started before job %d", i, i-1)
		}
		last = j
	}
}

func TestQueueLimitRaised(t *testing.T) {
	e := newEnv(t, 3)
	g := []*gate{newGate(), newGate(), newGate()}
	js := []*jobs.Job{
		e.submit(t, "a0", "hold", g[0], jobs.Queue("q", 1)),
		e.submit(t, "a1", "hold", g[1], jobs.Queue("q", 1)),
	}
	<-g[0].entered
	if state(js[1]) != jobs.Queued {
		t.Fatalf("second job: got %s; want queued", state(js[1]))
	}
	// A submission with a higher concurrency starts the waiting job and itself.
	js = append(js, e.submit(t, "a2", "hold", g[2], jobs.Queue("q", 3)))
	<-g[1].entered
	<-g[2].entered
	for i := range g {
		close(g[i].release)
		if _, err := result(t, js[i]); err != nil {
			t.Fatal(err)
		}
	}
}

func TestQueueFull(t *testing.T) {
	e := newEnv(t, 1, jobs.WithMaxQueued(2))
	g := newGate()
	running := e.submit(t, "a0", "hold", g, jobs.Queue("q", 1))
	<-g.entered
	a := e.submit(t, "a0", "echo", "a", jobs.Queue("q", 1))
	e.submit(t, "a0", "echo", "b", jobs.Queue("q", 1))
	j, err := e.d.Submit(context.Background(), "a0", "echo", "c", jobs.Queue("q", 1))
	if !errors.Is(err, jobs.ErrQueueFull) || j != nil {
		t.Fatalf("third waiting job: got %v, %v; want ErrQueueFull", j, err)
	}
	// Another queue, and no queue, are not affected.
	e.submit(t, "a0", "echo", "d", jobs.Queue("other", 1))
	e.submit(t, "a0", "echo", "e")
	// A cancelled waiting job frees its place.
	if !a.Cancel() {
		t.Fatal("Cancel of a queued job: got false")
	}
	e.submit(t, "a0", "echo", "c", jobs.Queue("q", 1))
	close(g.release)
	if _, err := result(t, running); err != nil {
		t.Fatal(err)
	}
}

// TestQueueFullChangesNothing: a submission refused because its queue is
// full leaves the queue's concurrency as it was: the limit it asked for
// (1, lower than the queue's 2) does not hold back the waiting jobs when
// a slot frees.
func TestQueueFullChangesNothing(t *testing.T) {
	testkit.Bubble(t, func(t *testing.T) {
		e := newEnv(t, 4, jobs.WithMaxQueued(2))
		g := []*gate{newGate(), newGate()}
		for i := range g {
			e.submit(t, fmt.Sprintf("a%d", i), "hold", g[i], jobs.Queue("q", 2))
			<-g[i].entered
		}
		waiting := []*jobs.Job{
			e.submit(t, "a2", "echo", "w0", jobs.Queue("q", 2)),
			e.submit(t, "a3", "echo", "w1", jobs.Queue("q", 2)),
		}
		j, err := e.d.Submit(context.Background(), "a2", "echo", "refused", jobs.Queue("q", 1))
		if !errors.Is(err, jobs.ErrQueueFull) || j != nil {
			t.Fatalf("a submission to the full queue: got %v, %v; want ErrQueueFull", j, err)
		}
		close(g[0].release) // frees one of the 2 slots: w0 takes it
		synctest.Wait()
		if st := state(waiting[0]); st != jobs.Done {
			t.Fatalf("first waiting job after a slot freed: got %s; want done (the refused submission lowered the queue's concurrency to 1)", st)
		}
		if st := state(waiting[1]); st != jobs.Done {
			t.Fatalf("second waiting job: got %s; want done", st)
		}
		close(g[1].release)
		for _, j := range waiting {
			if _, err := result(t, j); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// TestConcurrencyNeverExceeded: many submitters, one queue of concurrency
// 8, jobs whose work runs on goroutines of their own (so any number could
// run at once, whatever the hosts and the scheduler): the work running at
// once never exceeds 8.
func TestConcurrencyNeverExceeded(t *testing.T) {
	const (
		hosts      = 16
		submitters = 64
		perSub     = 100
		limit      = 8
	)
	e := newEnv(t, hosts, jobs.WithMaxQueued(submitters*perSub), jobs.WithRetention(3600e9, submitters*perSub))
	var wg sync.WaitGroup
	all := make(chan *jobs.Job, submitters*perSub)
	for s := range submitters {
		wg.Go(func() {
			for i := range perSub {
				j, err := e.d.Submit(context.Background(), fmt.Sprintf("a%d", (s+i)%hosts), "spin", nil, jobs.Queue("eight", limit))
				if err != nil {
					t.Error(err)
					return
				}
				all <- j
			}
		})
	}
	wg.Wait()
	close(all)
	for j := range all {
		if _, err := result(t, j); err != nil {
			t.Fatal(err)
		}
	}
	if peak := e.p.peak.Load(); peak > limit || peak < 2 {
		t.Fatalf("handlers running at once: got at most %d; want between 2 and %d", peak, limit)
	}
	if n := e.p.calls.Load(); n != submitters*perSub {
		t.Fatalf("handler calls: got %d; want %d", n, submitters*perSub)
	}
}

func TestCancel(t *testing.T) {
	e := newEnv(t, 2)
	// Running: the handler sees its ctx cancelled and returns.
	g := newGate()
	running := e.submit(t, "a0", "hold", g, jobs.Queue("q", 1))
	<-g.entered
	// Queued: it never runs.
	waiting := e.submit(t, "a1", "echo", "never", jobs.Queue("q", 1))
	done := e.submit(t, "a1", "echo", "x")
	if _, err := result(t, done); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		j       *jobs.Job
		want    bool
		state   jobs.State
		started bool
	}{
		{"queued", waiting, true, jobs.Cancelled, false},
		{"running", running, true, jobs.Cancelled, true},
		{"finished", done, false, jobs.Done, true},
		{"cancelled already", waiting, false, jobs.Cancelled, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.j.Cancel(); got != tc.want {
				t.Fatalf("Cancel: got %v; want %v", got, tc.want)
			}
			st := tc.j.Status()
			if st.State != tc.state || st.Started.IsZero() == tc.started || st.Ended.IsZero() {
				t.Fatalf("status: got %+v; want %s, started %v, ended", st, tc.state, tc.started)
			}
			if tc.state == jobs.Cancelled {
				if _, err := tc.j.Result(context.Background(), false); !errors.Is(err, jobs.ErrCancelled) {
					t.Fatalf("Result: got %v; want ErrCancelled", err)
				}
			}
		})
	}
	<-g.returned
	if err := g.sawCtx.Load(); err == nil || !errors.Is(*err, context.Canceled) {
		t.Fatalf("the handler's ctx: got %v; want cancelled", err)
	}
	if n := e.p.calls.Load(); n != 2 {
		t.Fatalf("handler calls: got %d; want 2 (the cancelled queued job never ran)", n)
	}
}
