package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/internal/testkit"
	"github.com/troupe-go/troupe/jobs"
)

func TestRetention(t *testing.T) {
	testkit.Bubble(t, func(t *testing.T) {
		e := newEnv(t, 2, jobs.WithRetention(10*time.Minute, 3))
		g := newGate()
		long := e.submit(t, "a0", "hold", g)
		var ended []*jobs.Job
		for i := range 5 {
			j := e.submit(t, "a1", "echo", fmt.Sprint(i))
			if _, err := result(t, j); err != nil {
				t.Fatal(err)
			}
			ended = append(ended, j)
			time.Sleep(time.Minute)
		}
		found := func(j *jobs.Job) bool {
			got, err := e.d.Job(j.ID())
			return err == nil && got == j
		}
		for i, j := range ended {
			if want := i >= 2; found(j) != want {
				t.Fatalf("finished job %d found: got %v; want %v (the 3 most recent are kept)", i, !want, want)
			}
		}
		// The oldest kept ended 3 minutes ago: it goes in 7 more, the
		// next a minute later.
		time.Sleep(6 * time.Minute)
		synctest.Wait()
		if !found(ended[2]) {
			t.Fatal("job 2 dropped before its 10 minutes")
		}
		time.Sleep(90 * time.Second)
		synctest.Wait()
		if found(ended[2]) || !found(ended[3]) {
			t.Fatalf("after 10.5 minutes: job 2 found %v, job 3 found %v; want false, true", found(ended[2]), found(ended[3]))
		}
		time.Sleep(30 * time.Minute)
		synctest.Wait()
		for i, j := range ended {
			if found(j) {
				t.Fatalf("finished job %d still found after 40 minutes", i)
			}
		}
		if !found(long) {
			t.Fatal("the running job was dropped")
		}
		// A handle outlives its retention.
		if v, err := ended[0].Result(context.Background(), false); v != "0!" || err != nil {
			t.Fatalf("dropped job's handle: got %v, %v", v, err)
		}
		close(g.release)
		if _, err := result(t, long); err != nil {
			t.Fatal(err)
		}
		if !found(long) {
			t.Fatal("the job that just ended is not retained")
		}
	})
}

// TestRetentionWaitsForOverrun: a cancelled job whose handler runs on
// (it ignores its context) holds its slot, so it stays found and its id
// taken, past the retention's count and age; once its handler returns,
// retention applies to it.
func TestRetentionWaitsForOverrun(t *testing.T) {
	testkit.Bubble(t, func(t *testing.T) {
		e := newEnv(t, 2, jobs.WithRetention(time.Minute, 1))
		g := newGate()
		release := sync.OnceFunc(func() { close(g.release) })
		defer release() // a failed test lets the handler go too
		j := e.submit(t, "a0", "stuck", g, jobs.ID("x"), jobs.Queue("q", 1))
		<-g.entered
		if !j.Cancel() {
			t.Fatal("Cancel of a running job: got false")
		}
		found := func(j *jobs.Job) bool {
			got, err := e.d.Job(j.ID())
			return err == nil && got == j
		}
		// Past the count: another job ends after it.
		if _, err := result(t, e.submit(t, "a1", "echo", "later")); err != nil {
			t.Fatal(err)
		}
		if !found(j) {
			t.Fatal("the overrunning job was dropped when a later job ended")
		}
		// Past the age.
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if !found(j) {
			t.Fatalf("the overrunning job was dropped after 2 minutes (status %+v)", j.Status())
		}
		if got := e.d.List(jobs.Filter{Queue: "q"}); len(got) != 1 || got[0] != j {
			t.Fatalf("List of its queue: got %v; want the overrunning job", got)
		}
		// Its id is still taken: the same submission is the same job.
		again, err := e.d.Submit(context.Background(), "a0", "stuck", g, jobs.ID("x"), jobs.Queue("q", 1))
		if err != nil || again != j {
			t.Fatalf("the id submitted again: got %p, %v; want the overrunning job %p", again, err, j)
		}
		release()
		synctest.Wait()
		if st := j.Status(); st.Overrunning || st.State != jobs.Cancelled {
			t.Fatalf("after its handler returned: got %+v; want cancelled, not overrunning", st)
		}
		if !found(j) {
			t.Fatal("the job was dropped as its handler returned")
		}
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if found(j) {
			t.Fatal("the job is still found 2 minutes after its handler returned")
		}
	})
}

func TestList(t *testing.T) {
	e := newEnv(t, 3)
	g := newGate()
	running := e.submit(t, "a0", "hold", g, jobs.Queue("q", 1))
	<-g.entered
	queued := e.submit(t, "a1", "echo", "q", jobs.Queue("q", 1))
	done := e.submit(t, "a1", "echo", "x")
	if _, err := result(t, done); err != nil {
		t.Fatal(err)
	}
	failed := e.submit(t, "a2", "fail", nil, jobs.Queue("other", 1))
	if _, err := result(t, failed); !errors.Is(err, errBoom) {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		f    jobs.Filter
		want []*jobs.Job
	}{
		{"all", jobs.Filter{}, []*jobs.Job{running, queued, done, failed}},
		{"queue", jobs.Filter{Queue: "q"}, []*jobs.Job{running, queued}},
		{"state", jobs.Filter{States: []jobs.State{jobs.Done, jobs.Failed}}, []*jobs.Job{done, failed}},
		{"queue and state", jobs.Filter{Queue: "q", States: []jobs.State{jobs.Queued}}, []*jobs.Job{queued}},
		{"host", jobs.Filter{Host: "a1"}, []*jobs.Job{queued, done}},
		{"procedure", jobs.Filter{Procedure: "hold"}, []*jobs.Job{running}},
		{"limit: the most recent", jobs.Filter{Limit: 2}, []*jobs.Job{done, failed}},
		{"none", jobs.Filter{Queue: "nope"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := e.d.List(tc.f); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v; want %v", ids(got), ids(tc.want))
			}
		})
	}
	close(g.release)
	if _, err := result(t, queued); err != nil {
		t.Fatal(err)
	}
}

func ids(js []*jobs.Job) []string {
	var s []string
	for _, j := range js {
		s = append(s, j.ID())
	}
	return s
}

func TestShutdown(t *testing.T) {
	e := newEnv(t, 2)
	g := newGate()
	close(g.release)
	first := e.submit(t, "a0", "hold", g, jobs.Queue("q", 1))
	second := e.submit(t, "a1", "echo", "later", jobs.Queue("q", 1))
	if err := e.d.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for _, j := range []*jobs.Job{first, second} {
		if _, err := j.Result(context.Background(), false); err != nil || state(j) != jobs.Done {
			t.Fatalf("job %s after a graceful shutdown: got %s, %v; want done", j.ID(), state(j), err)
		}
	}
	if _, err := e.d.Submit(context.Background(), "a0", "echo", "x"); !errors.Is(err, jobs.ErrClosed) {
		t.Fatalf("Submit after Shutdown: got %v; want ErrClosed", err)
	}
	if got, err := e.d.Job(first.ID()); got != first || err != nil {
		t.Fatalf("a finished job after Shutdown: got %v, %v", got, err)
	}
	if err := e.d.Shutdown(context.Background()); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	if err := e.d.Close(); err != nil {
		t.Fatalf("Close after Shutdown: %v", err)
	}
	if err := e.d.Shutdown(nil); err == nil { //nolint:staticcheck // the nil ctx is the test
		t.Fatal("Shutdown(nil): got nil")
	}
}

func TestShutdownForced(t *testing.T) {
	e := newEnv(t, 2)
	g := newGate()
	running := e.submit(t, "a0", "stuck", g, jobs.Queue("q", 1))
	<-g.entered
	queued := e.submit(t, "a1", "echo", "never", jobs.Queue("q", 1))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := e.d.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown past its ctx: got %v; want DeadlineExceeded", err)
	}
	if err := e.d.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, j := range []*jobs.Job{running, queued} {
		_, err := j.Result(context.Background(), false)
		if !errors.Is(err, jobs.ErrCancelled) || !errors.Is(err, jobs.ErrClosed) || state(j) != jobs.Cancelled {
			t.Fatalf("job %s: got %s, %v; want cancelled with ErrCancelled and ErrClosed", j.ID(), state(j), err)
		}
	}
	close(g.release) // the stuck handler may go now
	<-g.returned
	if n := e.p.calls.Load(); n != 1 {
		t.Fatalf("handler calls: got %d; want 1 (the queued job never ran)", n)
	}
}
