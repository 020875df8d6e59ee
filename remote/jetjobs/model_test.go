package jetjobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	"github.com/troupe-go/troupe/jobs"
	"github.com/troupe-go/troupe/remote/jetjobs"
)

// TestJetJobsModelRandom drives 2 or 3 nodes (dispatchers with jetjobs
// backends on their own runtimes and connections, one embedded NATS
// server) with random work, in real time: hosts registered on one or
// several nodes, each with a Method and a Stream procedure; queues of
// concurrency 1 to 3 or none; jobs submitted from random nodes (some
// with explicit ids, some submitted again: the same job, or
// jobs.ErrConflict for other args), cancelled, followed, looked up and
// read from other nodes; handlers that succeed, fail, honour their
// cancel or ignore it. Near the end one node stops while jobs run: a
// Close, a graceful Shutdown, or a death (its connection closed, then
// its dispatcher). It checks what the jobs and jetjobs package docs
// promise, whatever the interleaving:
//
//   - a queue never runs more handlers at once than its concurrency,
//     across the nodes, per host (the cap is per host); a handler of a
//     stopped node that outlives its Close no longer counts (its slot
//     dies with the dispatcher);
//   - a job's handler runs at most once, on a node that registered its
//     host;
//   - every job ends (none is lost), and its outcome agrees with what
//     happened: done only with its handler's value after its handler
//     succeeded (a stream: all its items, in order), failed only with its
//     handler's error or, only for a job whose node died, with
//     jobs.ErrWorkerLost; cancelled only after a Cancel that returned true
//     or (ErrClosed) a Close or death of the node it ran on; expired only
//     past its MaxExec; a Cancel that returned true ends the job
//     cancelled; a state read as ended earlier is the final one;
//   - every live node finds the same final record by id (state, times,
//     value or error);
//   - a follower reads items in order, all of them when the job is done
//     and its follower's node lived;
//   - everything stops (goleak in TestMain).
func TestJetJobsModelRandom(t *testing.T) {
	for seed := range testkit.Seeds(4) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runJetJobsModel(t, seed) })
	}
}

// jmLease is the model's lease: a dead node's job is failed as lost
// about a second after its death.
const jmLease = time.Second

// jmWork is a job's script: what its handler does.
type jmWork struct {
	ID     int    `json:"id"`
	Host   string `json:"host"`
	Queue  string `json:"queue"`
	DurMS  int    `json:"dur_ms"` // a Method's work; a Stream's pause between items
	Items  int    `json:"items"`  // a Stream's items
	Ignore bool   `json:"ignore"` // ignore the cancel
	Fail   bool   `json:"fail"`   // return errBoom
	Salt   int    `json:"salt"`   // differs in a conflicting submit
}

// jmHost is the model's host actor, one per host per node.
type jmHost struct {
	m    *jmState
	node string
}

// jmState is what the handlers record, across the nodes.
type jmState struct {
	t       *testing.T
	conc    map[string]int // queue → concurrency
	mu      sync.Mutex
	running map[string]int    // host/queue → handlers counted as running
	live    map[int][2]string // job → node of its handler and its host/queue, while counted
	entered map[int]string    // job → node its handler was entered on
	exited  map[int]bool      // jobs whose handler returned
	ok      map[int]bool      // jobs whose handler succeeded
	dead    map[string]bool   // nodes stopped by Close or death
	hosts   map[string]string // host → "," joined nodes registered on
}

func (m *jmState) enter(w jmWork, node string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n, ok := m.entered[w.ID]; ok {
		m.t.Errorf("job %d: handler entered twice (on %s, then on %s)", w.ID, n, node)
	}
	m.entered[w.ID] = node
	if !strings.Contains(","+m.hosts[w.Host]+",", ","+node+",") {
		m.t.Errorf("job %d: ran on %s, which did not register %s", w.ID, node, w.Host)
	}
	if w.Queue == "" {
		return
	}
	k := w.Host + "/" + w.Queue
	m.live[w.ID] = [2]string{node, k}
	m.running[k]++
	if m.running[k] > m.conc[w.Queue] {
		m.t.Errorf("job %d: queue %s runs %d handlers at once; its concurrency is %d", w.ID, k, m.running[k], m.conc[w.Queue])
	}
}

func (m *jmState) exit(w jmWork, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.exited[w.ID] = true
	m.ok[w.ID] = ok
	if c, counted := m.live[w.ID]; counted {
		delete(m.live, w.ID)
		m.running[c[1]]--
	}
}

// kill stops counting the handlers of node: it was closed or died.
func (m *jmState) kill(node string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.dead[node] = true
	for id, c := range m.live {
		if c[0] == node {
			delete(m.live, id)
			m.running[c[1]]--
		}
	}
}

var (
	jmCall = actor.NewMethod("jm_call", func(h *jmHost, c *actor.Ctx, w jmWork) (int, error) {
		h.m.enter(w, h.node)
		ok := false
		defer func() { h.m.exit(w, ok) }() // before the reply is sent
		if !testkit.Pause(c.Context(), time.Duration(w.DurMS)*time.Millisecond, w.Ignore) {
			return 0, c.Context().Err()
		}
		if w.Fail {
			return 0, fmt.Errorf("job %d: %w", w.ID, errBoom)
		}
		ok = true
		return 2 * w.ID, nil
	})
	// jmDefer works on a goroutine (a deferred method: several run at
	// once on one host) and always honours its cancel (a deferred
	// method's goroutine is not waited for past its turn).
	jmDefer = actor.NewDeferred("jm_defer", func(h *jmHost, c *actor.Ctx, w jmWork, r *actor.Reply[int]) {
		h.m.enter(w, h.node)
		go func() {
			if !testkit.Pause(r.Context(), time.Duration(w.DurMS)*time.Millisecond, false) {
				h.m.exit(w, false) // before the reply: see probe's work
				_ = r.Send(0, r.Context().Err())
				return
			}
			if w.Fail {
				h.m.exit(w, false)
				_ = r.Send(0, fmt.Errorf("job %d: %w", w.ID, errBoom))
				return
			}
			h.m.exit(w, true)
			_ = r.Send(2*w.ID, nil)
		}()
	})
	jmStream = actor.NewStream("jm_stream", func(h *jmHost, _ *actor.Ctx, w jmWork, out *actor.Out[int]) error {
		ctx := out.Context() // taken as the stream opens (see the jobs doc)
		h.m.enter(w, h.node)
		go func() {
			for i := range w.Items {
				if !testkit.Pause(ctx, time.Duration(w.DurMS)*time.Millisecond, w.Ignore) {
					h.m.exit(w, false)
					_ = out.Close(context.Cause(ctx))
					return
				}
				if err := out.SendWait(ctx, i); err != nil && !w.Ignore {
					h.m.exit(w, false)
					_ = out.Close(err)
					return
				}
			}
			if w.Fail {
				h.m.exit(w, false)
				_ = out.Close(fmt.Errorf("job %d: %w", w.ID, errBoom))
				return
			}
			h.m.exit(w, true)
			_ = out.Close(nil)
		}()
		return nil
	})
)

// jmJob is one submitted job and what the test did to it.
type jmJob struct {
	w         jmWork
	stream    bool
	deferred  bool
	id        string
	maxExec   time.Duration
	cancelled bool       // a Cancel of it returned true
	seen      jobs.State // an end state read before the stop, if any
}

// jmFollow is a follower's reading.
type jmFollow struct {
	mj    *jmJob
	node  string
	items []string
	err   error
}

func runJetJobsModel(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x6a65746a))
	s := startServer(t)
	nn := 2 + rng.IntN(2)
	stopped := rng.IntN(nn)
	stopMode := int(seed % 3) // 0 Close, 1 Shutdown, 2 death: each in turn
	m := &jmState{t: t, conc: map[string]int{"": 0, "qa": 1 + rng.IntN(3), "qb": 1 + rng.IntN(3)},
		running: map[string]int{}, live: map[int][2]string{}, entered: map[int]string{}, exited: map[int]bool{},
		ok: map[int]bool{}, dead: map[string]bool{}, hosts: map[string]string{}}
	t.Logf("seed %d: %d nodes, node n%d stops by %s; queues %v", seed, nn, stopped, []string{"Close", "Shutdown", "death"}[stopMode], m.conc)
	var nodes []*node
	for i := range nn {
		nodes = append(nodes, startNode(t, s.ClientURL(), fmt.Sprintf("n%d", i), newProbe(), false, jetjobs.WithLease(jmLease)))
	}
	// Hosts: each on a random set of nodes, always one that does not
	// stop, so that every job can end; the stopping node hosts h0.
	const hosts = 3
	for h := range hosts {
		name := fmt.Sprintf("h%d", h)
		on := map[int]bool{}
		for i := range nn {
			on[i] = rng.IntN(2) == 0
		}
		if h == 0 {
			on[stopped] = true
		}
		other := (stopped + 1 + rng.IntN(nn-1)) % nn
		on[other] = true
		var names []string
		for i := range nn {
			if !on[i] {
				continue
			}
			names = append(names, nodes[i].name)
			ref, err := actor.Spawn(nodes[i].rt, &jmHost{m: m, node: nodes[i].name})
			must(t, err)
			must(t, jobs.Register(nodes[i].d, jobs.Ref(name, ref), jmCall))
			must(t, jobs.RegisterStream(nodes[i].d, jobs.Ref(name, ref), jmStream))
			must(t, jobs.Register(nodes[i].d, jobs.Ref(name, ref), jmDefer))
		}
		m.hosts[name] = strings.Join(names, ",")
	}
	t.Logf("hosts: %v", m.hosts)

	ctx := ctxTimeout(t, 60*time.Second)
	liveNode := func() *node { // a node that never stops
		for {
			if i := rng.IntN(nn); i != stopped {
				return nodes[i]
			}
		}
	}
	anyNode := func(stop bool) *node {
		if stop {
			return liveNode()
		}
		return nodes[rng.IntN(nn)]
	}
	// jobOn finds mj on n (any node: it fails the test if n cannot).
	jobOn := func(step int, mj *jmJob, n *node) (*node, *jobs.Job, bool) {
		j, err := n.d.Job(mj.id)
		if err != nil {
			t.Errorf("step %d: job %d: Job(%q) on %s: %v", step, mj.w.ID, mj.id, n.name, err)
			return n, nil, false
		}
		return n, j, true
	}
	var (
		js        []*jmJob
		followers sync.WaitGroup
		fmu       sync.Mutex
		follows   []*jmFollow
		isStopped bool
	)
	submit := func(step int, mj *jmJob, n *node) (*jobs.Job, error) {
		proc := "jm_call"
		if mj.stream {
			proc = "jm_stream"
		} else if mj.deferred {
			proc = "jm_defer"
		}
		var opts []jobs.SubmitOption
		if mj.w.Queue != "" {
			opts = append(opts, jobs.Queue(mj.w.Queue, m.conc[mj.w.Queue]))
		}
		if mj.maxExec > 0 {
			opts = append(opts, jobs.MaxExec(mj.maxExec))
		}
		if mj.id != "" {
			opts = append(opts, jobs.ID(mj.id))
		}
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return n.d.Submit(sctx, mj.w.Host, proc, mj.w, opts...)
	}
	const steps = 120
	for step := range steps {
		if step == steps*3/4 { // the stop, while jobs run
			isStopped = true
			sn := nodes[stopped]
			switch stopMode {
			case 0:
				m.kill(sn.name)
				must(t, sn.d.Close())
			case 1:
				sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				if err := sn.d.Shutdown(sctx); err != nil {
					t.Errorf("Shutdown of %s: %v", sn.name, err)
				}
				cancel()
			case 2:
				m.kill(sn.name)
				sn.nc.Close()
				must(t, sn.d.Close())
			}
		}
		switch r := rng.IntN(20); {
		case r < 9: // submit 1 to 4 jobs
			for range 1 + rng.IntN(4) {
				w := jmWork{ID: len(js), Host: fmt.Sprintf("h%d", rng.IntN(hosts)), DurMS: rng.IntN(80),
					Ignore: rng.IntN(5) == 0, Fail: rng.IntN(8) == 0}
				w.Queue = []string{"", "qa", "qb"}[rng.IntN(3)]
				mj := &jmJob{w: w}
				switch rng.IntN(3) {
				case 0:
					mj.stream = true
				case 1:
					mj.deferred = true
					mj.w.Ignore = false
				}
				if mj.stream {
					mj.w.Items = rng.IntN(6)
					mj.w.DurMS /= 4
				}
				if rng.IntN(2) == 0 {
					mj.id = fmt.Sprintf("s%d-job-%d", seed, w.ID)
				}
				if rng.IntN(8) == 0 {
					mj.maxExec = time.Duration(20+rng.IntN(60)) * time.Millisecond
				}
				j, err := submit(step, mj, anyNode(isStopped))
				if err != nil {
					t.Fatalf("step %d: Submit job %d: %v", step, w.ID, err)
				}
				if mj.id != "" && j.ID() != mj.id {
					t.Fatalf("step %d: Submit job %d with id %q: got id %q", step, w.ID, mj.id, j.ID())
				}
				mj.id = j.ID()
				js = append(js, mj)
			}
		case r < 11: // submit an earlier job again, from any node
			if len(js) == 0 {
				continue
			}
			mj := js[rng.IntN(len(js))]
			again := *mj
			conflict := rng.IntN(3) == 0
			if conflict {
				again.w.Salt = 1
			}
			j, err := submit(step, &again, anyNode(isStopped))
			switch {
			case conflict && !errors.Is(err, jobs.ErrConflict):
				t.Errorf("step %d: job %d submitted again with other args: got %v; want ErrConflict", step, mj.w.ID, err)
			case !conflict && err != nil:
				t.Errorf("step %d: job %d submitted again: %v", step, mj.w.ID, err)
			case !conflict && j.ID() != mj.id:
				t.Errorf("step %d: job %d submitted again: got id %q; want %q", step, mj.w.ID, j.ID(), mj.id)
			}
		case r < 13: // cancel from any node
			if len(js) == 0 {
				continue
			}
			mj := js[rng.IntN(len(js))]
			_, j, ok := jobOn(step, mj, anyNode(isStopped))
			if !ok {
				continue
			}
			if j.Cancel() {
				mj.cancelled = true
			}
		case r < 15: // follow a stream job from any node
			if len(js) == 0 {
				continue
			}
			mj := js[rng.IntN(len(js))]
			if !mj.stream {
				continue
			}
			n, j, ok := jobOn(step, mj, anyNode(isStopped))
			if !ok {
				continue
			}
			fl := &jmFollow{mj: mj, node: n.name}
			fmu.Lock()
			follows = append(follows, fl)
			fmu.Unlock()
			followers.Go(func() {
				f, err := j.Follow(ctx, actor.Since(0))
				if err != nil {
					fmu.Lock()
					fl.err = err
					fmu.Unlock()
					return
				}
				defer f.Close()
				for it, err := range f.All() {
					fmu.Lock()
					if err != nil {
						fl.err = err
					} else {
						raw, _ := it.V.(json.RawMessage)
						fl.items = append(fl.items, string(raw))
						if it.Seq != uint64(len(fl.items)-1) {
							t.Errorf("job %d: follower on %s: item %d has seq %d", mj.w.ID, fl.node, len(fl.items)-1, it.Seq)
						}
					}
					fmu.Unlock()
					if err != nil {
						return
					}
				}
			})
		case r < 17: // look a job up and read its result from any node
			if len(js) == 0 {
				continue
			}
			mj := js[rng.IntN(len(js))]
			n, j, ok := jobOn(step, mj, anyNode(isStopped))
			if !ok {
				continue
			}
			if j.Host() != mj.w.Host {
				t.Errorf("step %d: job %d: host %q on %s; want %q", step, mj.w.ID, j.Host(), n.name, mj.w.Host)
			}
			if _, err := j.Result(ctx, false); !errors.Is(err, jobs.ErrNotFinished) {
				st := j.Status()
				if mj.seen != "" && mj.seen != st.State {
					t.Errorf("step %d: job %d: read %s, then %s", step, mj.w.ID, mj.seen, st.State)
				}
				mj.seen = st.State
			}
		default: // time passes
			time.Sleep(time.Duration(rng.IntN(40)) * time.Millisecond)
		}
	}

	// Every job ends: read from every live node.
	var live []*node
	for i, n := range nodes {
		if i != stopped {
			live = append(live, n)
		}
	}
	for _, mj := range js {
		j, err := live[0].d.Job(mj.id)
		if err != nil {
			t.Errorf("job %d: Job(%q): %v", mj.w.ID, mj.id, err)
			continue
		}
		rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		_, _ = j.Result(rctx, true)
		cancel()
	}
	followers.Wait()
	time.Sleep(100 * time.Millisecond) // handlers that ignored a cancel return

	m.mu.Lock()
	defer m.mu.Unlock()
	for id, n := range m.entered {
		if !m.exited[id] {
			t.Errorf("job %d: handler on %s never returned", id, n)
		}
	}
	ends := map[string]int{}
	for _, mj := range js {
		ends[checkJetJob(t, m, mj, live, nodes[stopped].name, stopMode)]++
	}
	t.Logf("%d jobs, %d followers: %v", len(js), len(follows), ends)
	fmu.Lock()
	defer fmu.Unlock()
	for _, fl := range follows {
		mj := fl.mj
		for i, it := range fl.items {
			if it != strconv.Itoa(i) {
				t.Errorf("job %d: follower on %s: item %d is %s", mj.w.ID, fl.node, i, it)
			}
		}
		j, err := live[0].d.Job(mj.id)
		if err != nil || j.Status().State != jobs.Done {
			continue
		}
		if fl.node == nodes[stopped].name {
			continue // its follower may have ended with its node
		}
		if fl.err != nil || len(fl.items) != mj.w.Items {
			t.Errorf("job %d: done with %d items; its follower on %s read %d (%v)", mj.w.ID, mj.w.Items, fl.node, len(fl.items), fl.err)
		}
	}
}

// checkJetJob checks one job's end, read from every live node, against
// what happened to it.
func checkJetJob(t *testing.T, m *jmState, mj *jmJob, live []*node, stoppedNode string, stopMode int) (end string) {
	t.Helper()
	id := mj.w.ID
	var first string
	for _, n := range live {
		j, err := n.d.Job(mj.id)
		if err != nil {
			t.Errorf("job %d: Job(%q) on %s: %v", id, mj.id, n.name, err)
			continue
		}
		st := j.Status()
		v, err := j.Result(context.Background(), false)
		got := fmt.Sprintf("%s started %v ended %v value %s error %v", st.State, st.Started, st.Ended, v, err)
		if first == "" {
			first = got
			end = string(st.State)
			if errors.Is(err, jobs.ErrWorkerLost) || errors.Is(err, jobs.ErrClosed) {
				end += "/" + err.(*jobs.RemoteError).Type + fmt.Sprint(err.(*jobs.RemoteError).Also)
			}
			checkJetOutcome(t, m, mj, j, st, v, err, stoppedNode, stopMode)
		} else if got != first {
			t.Errorf("job %d: on %s: %s; on %s: %s", id, live[0].name, first, n.name, got)
		}
	}
	return end
}

func checkJetOutcome(t *testing.T, m *jmState, mj *jmJob, j *jobs.Job, st jobs.Status, v any, err error, stoppedNode string, stopMode int) {
	t.Helper()
	id := mj.w.ID
	ranOn, ran := m.entered[id]
	onStopped := !ran || ranOn == stoppedNode // not entered: maybe marked running there
	if mj.cancelled && st.State != jobs.Cancelled {
		t.Errorf("job %d: a Cancel returned true, yet it ended %s (%v)", id, st.State, err)
	}
	if mj.seen != "" && mj.seen != st.State {
		t.Errorf("job %d: read %s before, ended %s", id, mj.seen, st.State)
	}
	switch st.State {
	case jobs.Done:
		if err != nil {
			t.Errorf("job %d: done with an error: %v", id, err)
		}
		if !m.ok[id] {
			t.Errorf("job %d: done, but its handler did not succeed (ran %v on %q)", id, ran, ranOn)
		}
		if mj.stream {
			items, err := j.Collected()
			if len(items) != mj.w.Items {
				t.Errorf("job %d: done with %d items (%v); its producer sent %d", id, len(items), err, mj.w.Items)
			}
			for i, it := range items {
				if raw, _ := it.V.(json.RawMessage); string(raw) != strconv.Itoa(i) {
					t.Errorf("job %d: item %d is %s", id, i, it.V)
				}
			}
		} else if raw, _ := v.(json.RawMessage); string(raw) != strconv.Itoa(2*id) {
			t.Errorf("job %d: done with %v; its handler returned %d", id, v, 2*id)
		}
	case jobs.Failed:
		switch {
		case errors.Is(err, jobs.ErrWorkerLost):
			if stopMode != 2 || !onStopped {
				t.Errorf("job %d: failed as lost (%v), though its node did not die (ran on %q; stop %d)", id, err, ranOn, stopMode)
			}
		case mj.w.Fail && err != nil && strings.Contains(err.Error(), "boom"):
			if !ran || m.ok[id] {
				t.Errorf("job %d: failed with %v, though its handler did not fail", id, err)
			}
		default:
			t.Errorf("job %d (fail %v): failed with %v", id, mj.w.Fail, err)
		}
	case jobs.Cancelled:
		switch {
		case !errors.Is(err, jobs.ErrCancelled):
			t.Errorf("job %d: cancelled with %v", id, err)
		case mj.cancelled:
		case errors.Is(err, jobs.ErrClosed) && stopMode != 1 && onStopped:
		default:
			t.Errorf("job %d: cancelled (%v), though no Cancel returned true and its node (%q) was not closed", id, err, ranOn)
		}
	case jobs.Expired:
		if !errors.Is(err, jobs.ErrMaxExec) || mj.maxExec == 0 || st.Ended.Sub(st.Started) < mj.maxExec {
			t.Errorf("job %d: expired with %v after %v (max exec %v)", id, err, st.Ended.Sub(st.Started), mj.maxExec)
		}
	default:
		t.Errorf("job %d: ended in state %s (%v)", id, st.State, err)
	}
}
