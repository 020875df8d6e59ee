package jobs_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	"github.com/troupe-go/troupe/jobs"
)

// The watchdogs run in synctest bubbles: time is fake, so a max exec of
// a second passes at once and the times are exact.

func TestMaxExec(t *testing.T) {
	testkit.Bubble(t, func(t *testing.T) {
		e := newEnv(t, 1)
		g := newGate()
		j := e.submit(t, "a0", "hold", g, jobs.MaxExec(time.Second))
		<-g.returned
		synctest.Wait()
		st := j.Status()
		if st.State != jobs.Expired || st.Overrunning {
			t.Fatalf("status: got %+v; want expired, not overrunning", st)
		}
		if got := st.Ended.Sub(st.Started); got != time.Second {
			t.Fatalf("ran for %v; want 1s", got)
		}
		if _, err := j.Result(context.Background(), false); !errors.Is(err, jobs.ErrMaxExec) || !errors.Is(err, jobs.ErrExpired) {
			t.Fatalf("Result: got %v; want ErrMaxExec, ErrExpired", err)
		}
		if err := g.sawCtx.Load(); err == nil || !errors.Is(*err, context.DeadlineExceeded) {
			t.Fatalf("the handler's ctx: got %v; want its deadline passed", err)
		}
	})
}

// TestMaxExecOverrun: a handler that ignores its cancelled ctx keeps its
// slot: the job is expired at once, overrunning until the handler
// returns, and the queue's next job waits for the slot.
func TestMaxExecOverrun(t *testing.T) {
	testkit.Bubble(t, func(t *testing.T) {
		e := newEnv(t, 2)
		g := newGate()
		j := e.submit(t, "a0", "stuck", g, jobs.Queue("one", 1), jobs.MaxExec(time.Second))
		next := e.submit(t, "a1", "echo", "next", jobs.Queue("one", 1))
		<-g.entered
		time.Sleep(time.Second)
		synctest.Wait()
		st := j.Status()
		if st.State != jobs.Expired || !st.Overrunning || st.Ended.Sub(st.Started) != time.Second {
			t.Fatalf("past max exec: got %+v; want expired at 1s, overrunning", st)
		}
		if _, err := j.Result(context.Background(), false); !errors.Is(err, jobs.ErrMaxExec) {
			t.Fatalf("Result: got %v; want ErrMaxExec", err)
		}
		time.Sleep(time.Hour / 2)
		synctest.Wait()
		if got := state(next); got != jobs.Queued {
			t.Fatalf("the next job while the slot is held: got %s; want queued", got)
		}
		if j.Cancel() {
			t.Fatal("Cancel of an expired job: got true")
		}
		close(g.release)
		<-g.returned
		if v, err := result(t, next); v != "next!" || err != nil {
			t.Fatalf("next job: got %v, %v", v, err)
		}
		if st := j.Status(); st.Overrunning || st.State != jobs.Expired {
			t.Fatalf("after the handler returned: got %+v; want expired, not overrunning", st)
		}
		if v, _ := j.Result(context.Background(), false); v != nil {
			t.Fatalf("the late value: got %v; want it discarded", v)
		}
		if err := g.sawCtx.Load(); err == nil || !errors.Is(*err, context.DeadlineExceeded) {
			t.Fatalf("the handler's ctx: got %v; want its deadline passed", err)
		}
	})
}

// TestOverrunHostKilled: a host killed under an overrunning handler
// still holds the slot until the handler returns.
func TestOverrunHostKilled(t *testing.T) {
	testkit.Bubble(t, func(t *testing.T) {
		e := newEnv(t, 2)
		g := newGate()
		j := e.submit(t, "a0", "stuck", g, jobs.Queue("one", 1), jobs.MaxExec(time.Second))
		next := e.submit(t, "a1", "echo", "next", jobs.Queue("one", 1))
		<-g.entered
		time.Sleep(time.Second)
		synctest.Wait()
		e.hosts[0].Kill()
		time.Sleep(time.Minute)
		synctest.Wait()
		if st := j.Status(); st.State != jobs.Expired || !st.Overrunning || state(next) != jobs.Queued {
			t.Fatalf("host killed, handler still running: got %+v, next %s; want expired, overrunning, next queued", st, state(next))
		}
		close(g.release)
		if _, err := result(t, next); err != nil {
			t.Fatal(err)
		}
	})
}

// TestCancelOverrun: as for max exec, a cancelled job whose handler
// ignores its ctx keeps its slot.
func TestCancelOverrun(t *testing.T) {
	testkit.Bubble(t, func(t *testing.T) {
		e := newEnv(t, 2)
		g := newGate()
		j := e.submit(t, "a0", "stuck", g, jobs.Queue("one", 1))
		next := e.submit(t, "a1", "echo", "next", jobs.Queue("one", 1))
		<-g.entered
		if !j.Cancel() {
			t.Fatal("Cancel: got false")
		}
		synctest.Wait()
		if st := j.Status(); st.State != jobs.Cancelled || !st.Overrunning {
			t.Fatalf("cancelled: got %+v; want cancelled, overrunning", st)
		}
		if got := state(next); got != jobs.Queued {
			t.Fatalf("next job: got %s; want queued", got)
		}
		close(g.release)
		if _, err := result(t, next); err != nil {
			t.Fatal(err)
		}
		if j.Status().Overrunning {
			t.Fatal("still overrunning after the handler returned")
		}
	})
}

func TestReadIdle(t *testing.T) {
	for _, tc := range []struct {
		name   string
		proc   string
		args   func() any // made in the bubble
		state  jobs.State
		ranFor time.Duration
	}{
		{"silent stream", "silent", func() any { return nil }, jobs.Expired, 2 * time.Second},
		{"stream with items in time", "ticker", func() any { return tickReq{Every: time.Second, N: 5} }, jobs.Done, 5 * time.Second},
		{"stream too slow", "ticker", func() any { return tickReq{Every: 3 * time.Second, N: 5} }, jobs.Expired, 2 * time.Second},
		{"method past it", "hold", func() any { return newGate() }, jobs.Expired, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testkit.Bubble(t, func(t *testing.T) {
				e := newEnv(t, 1)
				j := e.submit(t, "a0", tc.proc, tc.args(), jobs.ReadIdle(2*time.Second))
				_, err := result(t, j)
				st := j.Status()
				if st.State != tc.state || st.Ended.Sub(st.Started) != tc.ranFor {
					t.Fatalf("got %s after %v; want %s after %v", st.State, st.Ended.Sub(st.Started), tc.state, tc.ranFor)
				}
				if tc.state == jobs.Expired && (!errors.Is(err, jobs.ErrReadIdle) || !errors.Is(err, jobs.ErrExpired)) {
					t.Fatalf("Result: got %v; want ErrReadIdle", err)
				}
			})
		})
	}
}

// TestStreamProducerSeesTheEnd: a stream producer's Out.Context ends with
// its job: cancel, max exec.
func TestStreamProducerSeesTheEnd(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  []jobs.SubmitOption
		end   func(j *jobs.Job)
		state jobs.State
	}{
		{"cancel", nil, func(j *jobs.Job) { j.Cancel() }, jobs.Cancelled},
		{"max exec", []jobs.SubmitOption{jobs.MaxExec(10 * time.Second)}, func(*jobs.Job) {}, jobs.Expired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testkit.Bubble(t, func(t *testing.T) {
				e := newEnv(t, 1)
				j := e.submit(t, "a0", "ticker", tickReq{Every: time.Second}, tc.opts...)
				time.Sleep(5500 * time.Millisecond)
				tc.end(j)
				synctest.Wait()
				time.Sleep(time.Minute)
				synctest.Wait()
				if n := e.p.running.Load(); n != 0 {
					t.Fatalf("producers still running: %d", n)
				}
				if st := j.Status(); st.State != tc.state || st.Overrunning {
					t.Fatalf("status: got %+v; want %s, not overrunning", st, tc.state)
				}
				items, err := follow(t, j)
				if err != nil || len(items) < 5 {
					t.Fatalf("output: got %d items, %v; want at least 5", len(items), err)
				}
			})
		})
	}
}

// TestStreamOverrun: a stream producer that ignores its Out.Context keeps
// the job's slot until its stream really ends.
func TestStreamOverrun(t *testing.T) {
	testkit.Bubble(t, func(t *testing.T) {
		e := newEnv(t, 2)
		g := newGate()
		j := e.submit(t, "a0", "stuck_stream", g, jobs.Queue("one", 1), jobs.MaxExec(time.Second))
		next := e.submit(t, "a1", "echo", "next", jobs.Queue("one", 1))
		<-g.entered
		time.Sleep(time.Minute)
		synctest.Wait()
		if st := j.Status(); st.State != jobs.Expired || !st.Overrunning || st.Ended.Sub(st.Started) != time.Second {
			t.Fatalf("past max exec: got %+v; want expired at 1s, overrunning", st)
		}
		if got := state(next); got != jobs.Queued {
			t.Fatalf("next job: got %s; want queued", got)
		}
		close(g.release)
		<-g.returned
		if _, err := result(t, next); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if j.Status().Overrunning {
			t.Fatal("still overrunning after the stream ended")
		}
		if err := g.sawCtx.Load(); err == nil || !errors.Is(*err, context.Canceled) {
			t.Fatalf("the producer's Out.Context: got %v; want cancelled", err)
		}
		items, _ := follow(t, j)
		if len(items) != 1 || items[0].V != "working" {
			t.Fatalf("output: got %v; want the one item sent before the end", items)
		}
	})
}

// follow reads a job's whole output.
func follow(t *testing.T, j *jobs.Job, opts ...actor.FollowOption) ([]actor.Item[any], error) {
	t.Helper()
	f, err := j.Follow(context.Background(), opts...)
	if err != nil {
		t.Fatalf("Follow: %v", err)
	}
	var items []actor.Item[any]
	for it, err := range f.All() {
		if err != nil {
			return items, err
		}
		items = append(items, it)
	}
	return items, nil
}
