package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	"github.com/troupe-go/troupe/jobs"
)

// The model test drives a dispatcher with random work in a synctest
// bubble: Method and Stream jobs on a few hosts, in queues of fixed
// concurrency or none, with or without MaxExec and ReadIdle, handlers
// that honour their cancel or ignore it, succeed, fail or panic; random
// cancels, followers and pauses; then a graceful Shutdown or a Close. It
// checks what the package documents, whatever the interleaving:
//
//   - a queue never runs more handlers at once than its concurrency;
//   - after the stop every job has ended (Done closed, a final state) and
//     every follower has ended;
//   - each job's outcome agrees with what happened to it: done only with
//     its handler's value (a stream: its items, in order), failed only
//     with its handler's own error or panic, cancelled only after a
//     Cancel that returned true or a forced stop, expired only past its
//     own MaxExec or ReadIdle; a Cancel that returned true ends the job
//     as cancelled; after a graceful Shutdown that returned nil, a job
//     nobody cancelled and without watchdogs is done or failed as its
//     handler decided;
//   - every job is found again by id, and in List;
//   - nothing is left running: the bubble ends (synctest fails a test
//     whose goroutines are blocked for good).

// modelQueues are the queues jobs may wait in, with their concurrency
// ("" is no queue).
var modelQueues = []struct {
	name string
	conc int
}{{"", 0}, {"one", 1}, {"two", 2}}

// modelWork is a job's script: what its handler does.
type modelWork struct {
	ID     int
	Queue  string
	Dur    time.Duration // a Method's work; a Stream's pause between items
	Items  int           // a Stream's items
	Ignore bool          // ignore the cancel
	Fail   int           // 0 succeed, 1 return errBoom, 2 panic
}

// modelHost is the model's host actor state.
type modelHost struct{ m *modelState }

// modelState is what the handlers record, across hosts.
type modelState struct {
	t       *testing.T
	mu      sync.Mutex
	running map[string]int // handlers running per queue
	entered map[int]bool   // jobs whose handler was entered
	exited  map[int]bool   // jobs whose handler returned (a stream: ended)
	ok      map[int]bool   // jobs whose handler returned success
}

func (m *modelState) enter(w modelWork) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.entered[w.ID] {
		m.t.Errorf("job %d: handler entered twice", w.ID)
	}
	m.entered[w.ID] = true
	if w.Queue == "" {
		return
	}
	m.running[w.Queue]++
	for _, q := range modelQueues {
		if q.name == w.Queue && m.running[w.Queue] > q.conc {
			m.t.Errorf("queue %q runs %d handlers at once; its concurrency is %d", w.Queue, m.running[w.Queue], q.conc)
		}
	}
}

func (m *modelState) exit(w modelWork, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.exited[w.ID] = true
	m.ok[w.ID] = ok
	if w.Queue != "" {
		m.running[w.Queue]--
	}
}

var (
	modelCall = actor.NewMethod("model_call", func(h *modelHost, c *actor.Ctx, w modelWork) (int, error) {
		h.m.enter(w)
		ok := false
		defer func() { h.m.exit(w, ok) }()
		if !testkit.Pause(c.Context(), w.Dur, w.Ignore) {
			return 0, c.Context().Err()
		}
		switch w.Fail {
		case 1:
			return 0, errBoom
		case 2:
			panic("model panic")
		}
		ok = true
		return 2 * w.ID, nil
	})
	modelStream = actor.NewStream("model_stream", func(h *modelHost, _ *actor.Ctx, w modelWork, out *actor.Out[int]) error {
		ctx := out.Context() // taken as the stream opens (see the package doc)
		h.m.enter(w)
		go func() {
			// The handler has exited once its stream ends (its queue's
			// slot frees then): exit is recorded before the Close.
			end := func(ok bool, err error) {
				h.m.exit(w, ok)
				_ = out.Close(err)
			}
			for i := range w.Items {
				if !testkit.Pause(ctx, w.Dur, w.Ignore) {
					end(false, context.Cause(ctx))
					return
				}
				if err := out.Send(i); err != nil && !w.Ignore {
					end(false, err)
					return
				}
			}
			if w.Fail != 0 {
				end(false, errBoom)
				return
			}
			end(true, nil)
		}()
		return nil
	})
)

// modelJob is one submitted job and what the test did to it.
type modelJob struct {
	w         modelWork
	stream    bool
	host      string
	j         *jobs.Job
	maxExec   time.Duration
	readIdle  time.Duration
	cancelled bool // a Cancel of it returned true
}

func TestJobsModelRandom(t *testing.T) {
	for seed := range testkit.Seeds(24) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { runJobsModel(t, seed) })
		})
	}
}

func runJobsModel(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x6a6f6273))
	d, m := newModelDispatcher(t)
	const hosts = modelHosts
	var (
		js        []*modelJob
		followers sync.WaitGroup
	)
	for step := range 80 {
		switch r := rng.IntN(20); {
		case r < 9: // submit
			w := modelWork{ID: len(js), Dur: time.Duration(rng.IntN(40)) * time.Millisecond, Ignore: rng.IntN(4) == 0}
			if f := rng.IntN(10); f == 0 {
				w.Fail = 1
			} else if f == 1 {
				w.Fail = 2
			}
			q := modelQueues[rng.IntN(len(modelQueues))]
			w.Queue = q.name
			mj := &modelJob{w: w, host: fmt.Sprintf("h%d", rng.IntN(hosts)), stream: rng.IntN(2) == 0}
			var opts []jobs.SubmitOption
			if q.name != "" {
				opts = append(opts, jobs.Queue(q.name, q.conc))
			}
			if rng.IntN(4) == 0 {
				mj.maxExec = time.Duration(1+rng.IntN(60)) * time.Millisecond
				opts = append(opts, jobs.MaxExec(mj.maxExec))
			}
			proc := "model_call"
			if mj.stream {
				proc = "model_stream"
				mj.w.Fail = min(mj.w.Fail, 1) // a stream fails by its end
				mj.w.Items = rng.IntN(6)
				mj.w.Dur /= 4
				if rng.IntN(5) == 0 {
					mj.readIdle = time.Duration(1+rng.IntN(20)) * time.Millisecond
					opts = append(opts, jobs.ReadIdle(mj.readIdle))
				}
			}
			j, err := d.Submit(context.Background(), mj.host, proc, mj.w, opts...)
			if err != nil {
				t.Fatalf("step %d: Submit: %v", step, err)
			}
			mj.j = j
			js = append(js, mj)
		case r < 11: // cancel
			if len(js) == 0 {
				continue
			}
			mj := js[rng.IntN(len(js))]
			was := mj.j.Status().State
			if mj.j.Cancel() {
				if was != jobs.Queued && was != jobs.Running {
					t.Errorf("job %d: Cancel returned true on a job that was %s", mj.w.ID, was)
				}
				mj.cancelled = true
			}
		case r < 13: // follow a stream job to its end
			if len(js) == 0 {
				continue
			}
			mj := js[rng.IntN(len(js))]
			if !mj.stream {
				continue
			}
			followers.Go(func() { followModel(t, mj) })
		default: // time passes
			time.Sleep(time.Duration(rng.IntN(30)) * time.Millisecond)
		}
	}

	graceful := rng.IntN(2) == 0
	if graceful {
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		err := d.Shutdown(ctx)
		cancel()
		if err != nil {
			t.Errorf("Shutdown: %v", err)
			graceful = false
		}
	}
	if err := d.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	followers.Wait()
	time.Sleep(time.Second) // handlers that ignored their cancel return
	synctest.Wait()

	m.mu.Lock()
	defer m.mu.Unlock()
	for id := range m.entered {
		if !m.exited[id] {
			t.Errorf("job %d: handler never returned", id)
		}
	}
	listed := map[string]bool{}
	for _, j := range d.List(jobs.Filter{}) {
		listed[j.ID()] = true
	}
	for _, mj := range js {
		checkModelJob(t, d, m, mj, graceful)
		if !listed[mj.j.ID()] {
			t.Errorf("job %d (%s): not in List", mj.w.ID, mj.j.ID())
		}
	}
}

// followModel reads a stream job's output from the start to its end; the
// items must be 0, 1, … in order.
func followModel(t *testing.T, mj *modelJob) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	f, err := mj.j.Follow(ctx, actor.Since(0))
	if err != nil {
		t.Errorf("job %d: Follow: %v", mj.w.ID, err)
		return
	}
	defer f.Close()
	next := 0
	for it, err := range f.All() {
		if err != nil {
			if ctx.Err() != nil {
				t.Errorf("job %d: follower still reading an hour after: %v", mj.w.ID, err)
			}
			return
		}
		if v, ok := it.V.(int); !ok || v != next || it.Seq != uint64(next) {
			t.Errorf("job %d: item %d is %v (seq %d)", mj.w.ID, next, it.V, it.Seq)
		}
		next++
	}
}

// checkModelJob checks one job's end against what happened to it.
func checkModelJob(t *testing.T, d *jobs.Dispatcher, m *modelState, mj *modelJob, graceful bool) {
	t.Helper()
	id := mj.w.ID
	select {
	case <-mj.j.Done():
	default:
		t.Errorf("job %d: not done after the stop: %+v", id, mj.j.Status())
		return
	}
	if again, err := d.Job(mj.j.ID()); err != nil || again.ID() != mj.j.ID() {
		t.Errorf("job %d: Job(%q) = %v, %v", id, mj.j.ID(), again, err)
	}
	st := mj.j.Status()
	v, err := mj.j.Result(context.Background(), false)
	if mj.cancelled && st.State != jobs.Cancelled {
		t.Errorf("job %d: a Cancel returned true, yet it ended %s (%v)", id, st.State, err)
	}
	switch st.State {
	case jobs.Done:
		if err != nil {
			t.Errorf("job %d: done with an error: %v", id, err)
		}
		if !m.ok[id] {
			t.Errorf("job %d: done, but its handler did not succeed", id)
		}
		if mj.stream {
			items, err := mj.j.Collected()
			if !errors.Is(err, io.EOF) || len(items) != mj.w.Items {
				t.Errorf("job %d: done with %d items (%v); its producer sent %d", id, len(items), err, mj.w.Items)
			}
			for i, it := range items {
				if it.V != i {
					t.Errorf("job %d: item %d is %v", id, i, it.V)
				}
			}
		} else if v != 2*id {
			t.Errorf("job %d: done with %v; its handler returned %d", id, v, 2*id)
		}
	case jobs.Failed:
		var pe *actor.PanicError
		switch {
		case mj.w.Fail == 1 && errors.Is(err, errBoom):
		case mj.w.Fail == 2 && errors.As(err, &pe):
		default:
			t.Errorf("job %d (fail %d): failed with %v", id, mj.w.Fail, err)
		}
	case jobs.Cancelled:
		if !errors.Is(err, jobs.ErrCancelled) {
			t.Errorf("job %d: cancelled with %v", id, err)
		}
		if !mj.cancelled && !errors.Is(err, jobs.ErrClosed) {
			t.Errorf("job %d: cancelled (%v), though no Cancel returned true and no stop forced", id, err)
		}
	case jobs.Expired:
		ran := st.Ended.Sub(st.Started)
		switch {
		case errors.Is(err, jobs.ErrMaxExec) && mj.maxExec > 0 && ran >= mj.maxExec:
		case errors.Is(err, jobs.ErrReadIdle) && mj.readIdle > 0:
		case errors.Is(err, jobs.ErrReadIdle) && !mj.stream && mj.readIdle > 0 && ran >= mj.readIdle:
		default:
			t.Errorf("job %d: expired with %v after %v (max exec %v, read idle %v)", id, err, ran, mj.maxExec, mj.readIdle)
		}
	default:
		t.Errorf("job %d: ended in state %s", id, st.State)
	}
	if graceful && !mj.cancelled && mj.maxExec == 0 && mj.readIdle == 0 {
		want := jobs.Done
		if mj.w.Fail != 0 {
			want = jobs.Failed
		}
		if st.State != want {
			t.Errorf("job %d: after a graceful shutdown, ended %s (%v); want %s", id, st.State, err, want)
		}
	}
}

// modelHosts is how many host actors the model dispatchers have: "h0",
// "h1", ….
const modelHosts = 3

// newModelDispatcher returns a dispatcher on a fresh runtime, with
// modelHosts hosts that each have the model's two procedures, and the
// state their handlers record into.
func newModelDispatcher(t *testing.T) (*jobs.Dispatcher, *modelState) {
	t.Helper()
	rt := testkit.NewRuntime(t)
	d, err := jobs.New(rt, jobs.WithRetention(time.Hour, 100_000))
	if err != nil {
		t.Fatal(err)
	}
	m := &modelState{t: t, running: map[string]int{}, entered: map[int]bool{}, exited: map[int]bool{}, ok: map[int]bool{}}
	for i := range modelHosts {
		ref, err := actor.Spawn(rt, &modelHost{m: m})
		if err != nil {
			t.Fatal(err)
		}
		h := jobs.Ref(fmt.Sprintf("h%d", i), ref)
		if err := jobs.Register(d, h, modelCall); err != nil {
			t.Fatal(err)
		}
		if err := jobs.RegisterStream(d, h, modelStream); err != nil {
			t.Fatal(err)
		}
	}
	return d, m
}
