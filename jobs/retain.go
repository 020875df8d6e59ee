package jobs

import (
	"cmp"
	"slices"
	"time"
)

// retained is a finished job in the retention list, with its end time.
type retained struct {
	j     *Job
	ended time.Time
}

// retainLocked keeps a job that has ended (at now) for later readers,
// within the retention bounds: the oldest finished jobs beyond the count
// are dropped now, those past the age when the sweep timer fires. A job
// whose handler has not returned yet (cancelled or expired, overrunning)
// is not retained yet: it holds its slot, so it must stay found and its
// id taken; the runner retains it once the handler has returned (at the
// release's now, from which the age counts). Called at the end and at
// the release, it retains each job once. The caller holds d.mu. O(1)
// amortized.
func (d *Dispatcher) retainLocked(j *Job, now time.Time) {
	if j.exec != nil {
		return // the backend keeps it
	}
	j.mu.Lock()
	held := !j.released
	j.mu.Unlock()
	if held {
		return // runChain retains it when its handler returns
	}
	d.finished = append(d.finished, retained{j, now})
	d.evictLocked(now)
	if d.sweep == nil && !d.swept {
		d.armSweepLocked()
	}
}

// evictLocked drops the finished jobs beyond the count bound or older than
// the age bound, oldest first.
func (d *Dispatcher) evictLocked(now time.Time) {
	cutoff := now.Add(-d.cfg.retainAge)
	for d.head < len(d.finished) {
		r := d.finished[d.head]
		if len(d.finished)-d.head <= d.cfg.retainCount && r.ended.After(cutoff) {
			break
		}
		if d.jobs[r.j.id] == r.j {
			delete(d.jobs, r.j.id)
		}
		d.finished[d.head] = retained{}
		d.head++
	}
	if d.head > 64 && d.head*2 > len(d.finished) {
		n := copy(d.finished, d.finished[d.head:])
		clear(d.finished[n:])
		d.finished, d.head = d.finished[:n], 0
	}
}

// armSweepLocked starts the timer that drops the oldest finished job when
// it passes the age bound.
func (d *Dispatcher) armSweepLocked() {
	if d.head == len(d.finished) {
		return
	}
	wait := time.Until(d.finished[d.head].ended.Add(d.cfg.retainAge))
	d.sweep = time.AfterFunc(max(wait, 0), d.sweepAged)
}

// sweepAged is the sweep timer's callback: it drops the jobs past the age
// bound and arms the timer for the next.
func (d *Dispatcher) sweepAged() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sweep = nil
	if d.swept {
		return
	}
	d.evictLocked(time.Now())
	d.armSweepLocked()
}

// Filter selects jobs for [Dispatcher.List]; its zero value selects all.
type Filter struct {
	Queue     string  // only jobs of this queue ("": any)
	Host      string  // only jobs on this host ("": any)
	Procedure string  // only jobs of this procedure ("": any)
	States    []State // only jobs in one of these states (none: any)
	Limit     int     // at most this many, the most recent (≤ 0: no limit)
}

// List returns the jobs that f selects among the queued, running and
// retained ones, in the order they were submitted (the most recent Limit
// of them with a Limit). Safe for concurrent use; O(jobs·log jobs), under
// the dispatcher's lock for O(jobs). With a backend, the stored records,
// by submit time; nil if the store cannot be read within
// DefaultBackendTimeout.
func (d *Dispatcher) List(f Filter) []*Job {
	all, _ := d.list(f)
	return all
}

// list is List, also returning why a backend's store could not be read
// (ErrUnavailable, ErrClosed once the dispatcher has stopped): the HTTP
// face answers that instead of an empty list.
func (d *Dispatcher) list(f Filter) ([]*Job, error) {
	if !d.made() {
		return nil, nil
	}
	if d.b != nil {
		return d.listViews(f)
	}
	d.mu.Lock()
	all := make([]*Job, 0, len(d.jobs))
	for _, j := range d.jobs {
		if (f.Queue == "" || j.qname == f.Queue) && (f.Host == "" || j.host == f.Host) &&
			(f.Procedure == "" || j.proc == f.Procedure) {
			all = append(all, j)
		}
	}
	d.mu.Unlock()
	if len(f.States) > 0 {
		all = slices.DeleteFunc(all, func(j *Job) bool { return !slices.Contains(f.States, j.Status().State) })
	}
	slices.SortFunc(all, func(a, b *Job) int { return cmp.Compare(a.seq, b.seq) })
	if f.Limit > 0 && len(all) > f.Limit {
		all = all[len(all)-f.Limit:]
	}
	return all, nil
}
