package jobs

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/troupe-go/troupe/actor"
)

// Submit asks for procedure to run on host with args, configured by opts
// ([Queue], [MaxExec], [ReadIdle], [Info], [ID]), and returns its job
// at once, queued or running (harp's call). args is the procedure's
// request type, or JSON of it (json.RawMessage or []byte), or nil for its
// zero value; empty JSON args (no bytes, or only whitespace) are its zero
// value too, in memory and with a backend, and are not handed to its
// decoder (DecodeWith). ctx bounds the submission only: the job outlives it.
//
// With [ID], submitting an id that a retained job has returns that job if
// host, procedure and args are the same (idempotent: nothing new runs,
// and opts are not applied again), else ErrConflict.
//
// Errors, and nothing is submitted or changed (a refused Queue option
// leaves its queue's concurrency as it was): actor.ErrNilContext, ctx's error,
// ErrUnknownHost, ErrUnknownProcedure, ErrBadArgs, ErrInvalidOption,
// ErrInvalidID, ErrConflict, ErrQueueFull, ErrClosed. Never blocks beyond
// a short critical section. Cost: a few allocations (the job, its done
// channel, its id); a job that starts at once costs a goroutine, or none
// if a runner of its queue is free, or if it can run without one (see the
// package doc's Goroutines section).
func (d *Dispatcher) Submit(ctx context.Context, host, procedure string, args any, opts ...SubmitOption) (*Job, error) {
	j, _, err := d.submit(ctx, host, procedure, args, opts)
	return j, err
}

// submit is Submit, also reporting whether the job is new.
func (d *Dispatcher) submit(ctx context.Context, host, procedure string, args any, opts []SubmitOption) (*Job, bool, error) {
	if ctx == nil {
		return nil, false, actor.ErrNilContext
	}
	if ctx.Err() != nil {
		return nil, false, fmt.Errorf("jobs: submit: %w", context.Cause(ctx))
	}
	if !d.made() {
		return nil, false, fmt.Errorf("%w: a Dispatcher not made by New", ErrClosed)
	}
	cfg, err := submitConfigOf(opts)
	if err != nil {
		return nil, false, err
	}
	if d.b != nil {
		return d.submitView(ctx, host, procedure, args, cfg)
	}
	p, err := d.lookup(host, procedure)
	if err != nil {
		return nil, false, err
	}
	a, err := p.args(args)
	if err != nil {
		return nil, false, err
	}
	now := time.Now()
	j := &Job{d: d, p: p, id: cfg.id, host: host, proc: procedure, qname: cfg.queue, args: a,
		info: cfg.info, infoRaw: cfg.infoJSON, maxExec: cfg.maxExec, idle: cfg.readIdle,
		done: make(chan struct{}), state: Queued, submitted: now}

	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil, false, ErrClosed
	}
	if j.id != "" {
		if old := d.jobs[j.id]; old != nil {
			d.mu.Unlock()
			if old.host != host || old.proc != procedure || !reflect.DeepEqual(old.args, a) {
				return nil, false, fmt.Errorf("%w: %q", ErrConflict, j.id)
			}
			return old, false, nil
		}
	}
	// Every refusal comes before the first change: a refused submission
	// leaves the queue's limit, the ids and the counts as they were.
	q := d.queues[cfg.queue] // nil for no queue, or a queue with no job
	if cfg.queue != "" && q != nil && q.waiting+1-max(cfg.concurrency-q.running, 0) > d.cfg.maxQueued {
		d.mu.Unlock()
		return nil, false, fmt.Errorf("%w: %s holds %d waiting jobs", ErrQueueFull, q.name, q.waiting)
	}
	if j.id == "" {
		j.id = d.newIDLocked()
	}
	d.seq++
	j.seq = d.seq
	d.inflight++
	var start []*Job
	if cfg.queue == "" {
		j.state, j.started = Running, now
		start = []*Job{j}
	} else {
		if q == nil {
			q = &queue{name: cfg.queue}
			d.queues[cfg.queue] = q
		}
		q.limit = cfg.concurrency
		q.pushLocked(j)
		start = d.startableLocked(q, now)
	}
	d.jobs[j.id] = j
	d.mu.Unlock()
	d.hand(q, start)
	return j, true, nil
}
