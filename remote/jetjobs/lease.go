package jetjobs

import (
	"context"
	"sync"
	"time"

	"github.com/troupe-go/troupe/jobs"
)

// leaseKeeper refreshes a running job's lease (an in-progress ack of its
// message) and rewrites its record (so that its age starts again) a third
// of a lease apart (of the retention age if shorter: the record outlives
// it), until stop; a record that no longer says running here cancels the
// job's handler. It runs on a timer: no goroutine of its
// own waits between refreshes, and a job that ends within a third of a
// lease — most — costs a timer set and stopped.
type leaseKeeper struct {
	b       *Backend
	ctx     context.Context // the job's: ends a refresh in progress
	rj      *runningJob
	t       *tracked
	started time.Time // the job's start here: its mark's
	every   time.Duration

	mu      sync.Mutex // guards timer and stopped
	timer   *time.Timer
	stopped bool
	busy    sync.WaitGroup // the refresh in progress, if any
}

// keepLease starts refreshing the lease of the job run under ctx.
func (b *Backend) keepLease(ctx context.Context, rj *runningJob, t *tracked) *leaseKeeper {
	k := &leaseKeeper{b: b, ctx: ctx, rj: rj, t: t, started: t.rec.Started, every: min(b.cfg.lease, b.cfg.age) / 3}
	k.mu.Lock()
	k.timer = time.AfterFunc(k.every, k.refresh)
	k.mu.Unlock()
	return k
}

// refresh runs on the timer's goroutine; it sets the timer again for
// every after it began (at once if it took longer), as a ticker would
// tick.
func (k *leaseKeeper) refresh() {
	k.mu.Lock()
	if k.stopped {
		k.mu.Unlock()
		return
	}
	k.busy.Add(1) // before stop's Wait: stopped is set under mu
	k.mu.Unlock()
	defer k.busy.Done()
	began := time.Now()
	_ = k.rj.delivery().InProgress()
	sctx, cancel := context.WithTimeout(k.ctx, k.every)
	_, _, ok, err := k.t.change(sctx, func(c *jobs.Record) bool {
		return k.b.ranHere(c, k.started) // rewritten as it is: its age starts again
	})
	cancel()
	if err == nil && !ok {
		// Ended elsewhere (a cancel whose request did not reach this
		// node: it timed out) or failed as lost: the handler must not
		// run on, holding its slot.
		k.rj.cancel(jobs.ErrCancelled)
	}
	k.mu.Lock()
	if !k.stopped {
		k.timer.Reset(max(0, k.every-time.Since(began)))
	}
	k.mu.Unlock()
}

// stop ends the refreshes and waits for one in progress (cancel the
// job's context first: it ends its store operation).
func (k *leaseKeeper) stop() {
	k.mu.Lock()
	k.stopped = true
	k.timer.Stop()
	k.mu.Unlock()
	k.busy.Wait()
}
