package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

// Dispatcher runs jobs: procedures registered by name on host actors,
// submitted with options, queued, watched and kept for later readers
// (harp's harpcallerd, embedded). Make one with [New] on a runtime,
// register procedures with [Register] and [RegisterStream], then Submit.
// Safe for concurrent use.
//
// Goroutines: one runner per running job, which waits for its handler
// and then takes the next job of its queue (so a queue of concurrency n
// has at most n); up to 8 idle runners parked for the next jobs; while it
// stops, one that waits for them all. A finished job's retention timer
// runs on the Go runtime's timers. Every one exits by the end of Close.
// The job outputs live on one actor of the dispatcher's, stopped with it.
//
// A nil or zero *Dispatcher (not made by New) is a closed one that holds
// no job: Submit returns ErrClosed, Job ErrNotFound, List nil, Shutdown
// and Close nil; Register and RegisterStream refuse it with
// ErrInvalidOption.
type Dispatcher struct {
	rt      *troupe.Runtime
	cfg     config
	tbl     *table
	idBase  string // the generated ids' random prefix
	idSeq   atomic.Uint64
	outputs *actor.Ref[*outputs]
	output  *actor.Stream[*outputs, *outSlot, any]

	regMu sync.Mutex // serializes registrations
	reg   atomic.Pointer[registry]

	mu        sync.Mutex        // guards the fields down to isDrained, and the queue links of jobs
	jobs      map[string]*Job   // queued, running and retained finished jobs
	queues    map[string]*queue // queues with a job queued or running
	seq       uint64            // submissions so far
	finished  []retained        // retained finished jobs, oldest first from head
	head      int
	sweep     *time.Timer // drops finished jobs past their age; nil when none is retained
	swept     bool        // the stop has taken the sweep timer down for good
	closed    bool        // Submit refused
	inflight  int         // jobs queued or holding a slot
	isDrained bool        // drained is closed

	goroutines sync.WaitGroup // the runners
	parked     atomic.Int32   // idle runners
	handoff    chan work      // to a parked runner
	drained    chan struct{}  // closed once closed and no job is in flight
	stopping   chan struct{}  // closed once drained: parked runners exit

	b       Backend            // nil: jobs in memory
	execs   map[*Job]struct{}  // a backend's jobs running here; guarded by mu
	life    context.Context    // ends when the dispatcher has stopped its jobs
	endLife context.CancelFunc // ends life
	viewers sync.WaitGroup     // the goroutines of backend views: Done watchers, output mirrors
	mirMu   sync.Mutex         // guards mirrors
	mirrors map[jobRef]*mirror // the outputs of backend jobs followed here

	stopOnce  sync.Once
	forceOnce sync.Once
	forced    context.Context    // done once the stop is forced
	force     context.CancelFunc // forces it
	done      chan struct{}      // closed when the stop has finished
}

// New returns a dispatcher on rt, configured by opts ([WithRetention],
// [WithMaxQueued], [WithOutputLimit]). It spawns one actor on rt (the
// keeper of job outputs) and starts no goroutine. Errors: ErrInvalidOption,
// actor.ErrNilRuntime, actor.ErrStopped (rt is closed).
func New(rt *troupe.Runtime, opts ...Option) (*Dispatcher, error) {
	if rt == nil {
		return nil, actor.ErrNilRuntime
	}
	cfg, err := configOf(opts)
	if err != nil {
		return nil, err
	}
	tbl, err := transitions()
	if err != nil {
		return nil, err // the table is ours: a test pins it
	}
	var b [4]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	d := &Dispatcher{rt: rt, cfg: cfg, tbl: tbl, idBase: hex.EncodeToString(b[:]) + "-",
		jobs: make(map[string]*Job), queues: make(map[string]*queue), done: make(chan struct{}),
		handoff: make(chan work), drained: make(chan struct{}), stopping: make(chan struct{})}
	d.reg.Store(&registry{})
	d.output = actor.NewStream("jobs.output", keepOutput, actor.WithJournal(cfg.outItems, cfg.outBytes))
	if d.outputs, err = actor.Spawn(rt, &outputs{}); err != nil {
		return nil, err
	}
	d.forced, d.force = context.WithCancel(context.Background())
	d.life, d.endLife = context.WithCancel(context.Background())
	if cfg.backend != nil {
		d.b, d.execs, d.mirrors = cfg.backend, map[*Job]struct{}{}, map[jobRef]*mirror{}
		if err := d.b.Attach(&Executor{d}); err != nil {
			d.outputs.Kill()
			<-d.outputs.Done()
			d.endLife()
			d.force()
			return nil, fmt.Errorf("jobs: backend: %w", err)
		}
	}
	return d, nil
}

// Job returns the job with this id: queued, running, ended with its
// handler still running (overrunning), or finished and still retained. Errors: ErrNotFound. Safe for concurrent use; O(1).
// With a backend, a view of its stored record, read now (a round trip,
// bounded by DefaultBackendTimeout); errors also ErrUnavailable,
// ErrClosed once the dispatcher has stopped (its backend with it), and
// the backend's.
func (d *Dispatcher) Job(id string) (*Job, error) {
	if !d.made() {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	if d.b != nil {
		return d.lookupView(id)
	}
	d.mu.Lock()
	j := d.jobs[id]
	d.mu.Unlock()
	if j == nil {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	return j, nil
}

// made reports whether d was made by New (see Dispatcher).
func (d *Dispatcher) made() bool { return d != nil && d.tbl != nil }

// closing reports whether Submit is refused.
func (d *Dispatcher) closing() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.closed
}

// Shutdown stops the dispatcher gracefully and waits: Submit and Register
// are refused with ErrClosed at once; queued jobs still run, in their
// turn; once every job has ended, the outputs' actor stops. It returns nil
// then. If ctx ends first, the stop is forced as by Close and Shutdown
// returns ctx's error at once (Close waits for the forced stop). Finished
// jobs can still be read afterwards. Shut the dispatcher down before its
// runtime: on a closed runtime, the jobs still running fail. Idempotent;
// safe to call concurrently with Close.
func (d *Dispatcher) Shutdown(ctx context.Context) error {
	if ctx == nil {
		return actor.ErrNilContext
	}
	if !d.made() {
		return nil
	}
	d.beginStop()
	select {
	case <-d.done:
		return nil
	case <-ctx.Done():
	}
	d.forceStop()
	return ctx.Err()
}

// Close stops the dispatcher now and waits: Submit is refused with
// ErrClosed, every queued or running job is cancelled (its Result is an
// error wrapping ErrCancelled and ErrClosed), and Close returns once every
// runner has exited. A handler that ignores its cancelled context is no
// longer waited for: its job's slot dies with the dispatcher. Idempotent.
func (d *Dispatcher) Close() error {
	if !d.made() {
		return nil
	}
	d.beginStop()
	d.forceStop()
	<-d.done
	return nil
}

// beginStop refuses new work and starts the goroutine that waits for the
// jobs and the runners, once.
func (d *Dispatcher) beginStop() {
	d.stopOnce.Do(func() {
		d.mu.Lock()
		d.closed = true
		d.drainedLocked()
		d.mu.Unlock()
		if d.b != nil {
			d.b.Stop()
		}
		go func() {
			defer close(d.done)
			<-d.drained
			close(d.stopping)
			d.goroutines.Wait()
			d.mu.Lock()
			d.swept = true
			if d.sweep != nil {
				d.sweep.Stop()
				d.sweep = nil
			}
			d.mu.Unlock()
			d.mirMu.Lock()
			d.endLife()
			d.mirMu.Unlock()
			d.viewers.Wait()
			if d.b != nil {
				_ = d.b.Close()
			}
			d.outputs.Kill()
			<-d.outputs.Done()
		}()
	})
}

// errClosedCancel is the outcome of the jobs a forced stop cancels.
var errClosedCancel = fmt.Errorf("%w: %w", ErrCancelled, ErrClosed)

// forceStop cancels every queued and running job, once.
func (d *Dispatcher) forceStop() {
	d.forceOnce.Do(func() {
		d.force()
		d.mu.Lock()
		var live, fast []*Job
		for _, j := range d.jobs {
			j.mu.Lock()
			if !j.state.Terminal() {
				live = append(live, j)
			}
			if j.fast && !j.released {
				fast = append(fast, j)
			}
			j.mu.Unlock()
		}
		for j := range d.execs {
			live = append(live, j)
		}
		d.mu.Unlock()
		for _, j := range live {
			j.cancel(errClosedCancel)
		}
		// A job run without a runner is released by its call's outcome:
		// one whose handler ignores the cancel is no longer waited for,
		// as a runner's awaitTurn gives up at the forced stop.
		for _, j := range fast {
			d.releaseFast(j, outcome{})
		}
	})
}

// newIDLocked returns a generated job id that no job has. The caller
// holds mu.
func (d *Dispatcher) newIDLocked() string {
	for {
		// One allocation, the string: FormatUint and a concatenation
		// would make two.
		b := strconv.AppendUint(append(make([]byte, 0, 48), d.idBase...), d.idSeq.Add(1), 10)
		id := string(b)
		if d.jobs[id] == nil {
			return id
		}
	}
}
