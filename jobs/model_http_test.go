package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	"github.com/troupe-go/troupe/jobs"
)

// TestJobsHTTPModelRandom drives a dispatcher over its HTTP face, with
// the Client on loopback, from several goroutines at once: random
// submits (the model test's Method and Stream jobs, queues, MaxExec),
// cancels, followers and waits for results; then a graceful Shutdown or
// a Close. Whatever the interleaving, what a client sees agrees with the
// dispatcher in process:
//
//   - a remote Cancel that returned true ended its job as cancelled;
//   - a remote Result is the job's value (as JSON) or an error matching
//     exactly the sentinels the job's own error matches;
//   - a remote Status is the job's;
//   - a remote follower reads the items in order and ends cleanly, and
//     for a done job reads them all;
//   - nothing is left running (goleak, in TestMain).
func TestJobsHTTPModelRandom(t *testing.T) {
	for seed := range testkit.Seeds(6) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runJobsHTTPModel(t, seed) })
	}
}

// remoteSeen is what the clients saw of one job.
type remoteSeen struct {
	mj        *modelJob
	rj        *jobs.RemoteJob
	cancelled bool                // a remote Cancel returned true
	followed  [][]json.RawMessage // each remote follower's items
}

func runJobsHTTPModel(t *testing.T, seed uint64) {
	d, _ := newModelDispatcher(t)
	const hosts = modelHosts
	srv, hc := serveHandler(t, jobs.Handler(d))
	c, err := jobs.NewClient(srv.URL+"/jobs", jobs.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	var (
		mu   sync.Mutex
		seen []*remoteSeen
		wg   sync.WaitGroup
		next int
	)
	for g := range 4 {
		rng := rand.New(rand.NewPCG(seed, uint64(g)))
		wg.Go(func() {
			var mine []*remoteSeen
			for range 15 {
				switch r := rng.IntN(10); {
				case r < 5 || len(mine) == 0: // submit
					mu.Lock()
					id := next
					next++
					mu.Unlock()
					w := modelWork{ID: id, Dur: time.Duration(rng.IntN(8)) * time.Millisecond, Ignore: rng.IntN(5) == 0}
					if f := rng.IntN(8); f < 2 {
						w.Fail = f + 1
					}
					q := modelQueues[rng.IntN(len(modelQueues))]
					w.Queue = q.name
					mj := &modelJob{w: w, host: fmt.Sprintf("h%d", rng.IntN(hosts)), stream: rng.IntN(2) == 0}
					opts := []jobs.SubmitOption{jobs.ID(fmt.Sprintf("job-%d", id))}
					if q.name != "" {
						opts = append(opts, jobs.Queue(q.name, q.conc))
					}
					if rng.IntN(4) == 0 {
						mj.maxExec = time.Duration(1+rng.IntN(10)) * time.Millisecond
						opts = append(opts, jobs.MaxExec(mj.maxExec))
					}
					proc := "model_call"
					if mj.stream {
						proc = "model_stream"
						mj.w.Fail = min(mj.w.Fail, 1)
						mj.w.Items = rng.IntN(6)
						mj.w.Dur /= 4
					}
					rj, err := c.Host(mj.host).Call(ctx, proc, mj.w, opts...)
					if err != nil {
						t.Errorf("job %d: Call: %v", id, err)
						return
					}
					if mj.j, err = d.Job(rj.ID()); err != nil {
						t.Errorf("job %d: Job(%q): %v", id, rj.ID(), err)
						return
					}
					rs := &remoteSeen{mj: mj, rj: rj}
					mine = append(mine, rs)
					mu.Lock()
					seen = append(seen, rs)
					mu.Unlock()
				case r < 7: // cancel
					rs := mine[rng.IntN(len(mine))]
					ok, err := rs.rj.Cancel(ctx)
					if err != nil {
						t.Errorf("job %d: Cancel: %v", rs.mj.w.ID, err)
					}
					if ok {
						rs.cancelled = true
					}
				case r < 9: // follow to the end
					rs := mine[rng.IntN(len(mine))]
					var items []json.RawMessage
					for it, err := range rs.rj.Follow(ctx) {
						if err != nil {
							t.Errorf("job %d: remote follower ended with %v after %d items", rs.mj.w.ID, err, len(items))
							break
						}
						if it.Seq != uint64(len(items)) {
							t.Errorf("job %d: remote item %d has seq %d", rs.mj.w.ID, len(items), it.Seq)
						}
						items = append(items, it.V)
					}
					rs.followed = append(rs.followed, items)
				default: // wait for a result
					rs := mine[rng.IntN(len(mine))]
					if _, err := rs.rj.Result(ctx, true); errors.Is(err, jobs.ErrNotFinished) {
						t.Errorf("job %d: remote Result did not wait: %v", rs.mj.w.ID, err)
					}
				}
			}
		})
	}
	wg.Wait()
	if seed%2 == 0 {
		sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
		err := d.Shutdown(sctx)
		scancel()
		if err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	}
	if err := d.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}

	sentinels := []error{jobs.ErrCancelled, jobs.ErrClosed, jobs.ErrMaxExec, jobs.ErrReadIdle, jobs.ErrExpired, jobs.ErrUnreachable, actor.ErrStopped}
	for _, rs := range seen {
		mj, id := rs.mj, rs.mj.w.ID
		<-mj.j.Done()
		st := mj.j.Status()
		if rs.cancelled && st.State != jobs.Cancelled {
			t.Errorf("job %d: a remote Cancel returned true, yet it ended %s", id, st.State)
		}
		// The HTTP face still answers for ended jobs: the dispatcher's
		// records are kept after Close.
		rst, err := rs.rj.Status(ctx)
		if err != nil {
			t.Errorf("job %d: remote Status: %v", id, err)
		} else if rst.State != st.State || !rst.Started.Equal(st.Started) || !rst.Ended.Equal(st.Ended) || rst.Queue != st.Queue {
			t.Errorf("job %d: remote status %+v; in process %+v", id, rst, st)
		}
		v, lerr := mj.j.Result(ctx, false)
		rv, rerr := rs.rj.Result(ctx, false)
		switch {
		case lerr == nil && rerr != nil:
			t.Errorf("job %d: in process %v; remote error %v", id, v, rerr)
		case lerr == nil:
			want, _ := json.Marshal(v)
			if string(rv) != string(want) {
				t.Errorf("job %d: remote value %s; in process %s", id, rv, want)
			}
		case rerr == nil:
			t.Errorf("job %d: in process error %v; remote value %s", id, lerr, rv)
		default:
			for _, s := range sentinels {
				if errors.Is(lerr, s) != errors.Is(rerr, s) {
					t.Errorf("job %d: errors.Is(%v): in process %t (%v), remote %t (%v)", id, s, errors.Is(lerr, s), lerr, errors.Is(rerr, s), rerr)
				}
			}
		}
		if st.State == jobs.Done && mj.stream {
			for _, items := range rs.followed {
				if len(items) != mj.w.Items {
					t.Errorf("job %d: done with %d items; a remote follower read %d", id, mj.w.Items, len(items))
				}
			}
		}
	}
}
