package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Executor runs on its dispatcher the jobs its [Backend] hands it: the
// backend's side of the dispatcher, given to Backend.Attach. Safe for
// concurrent use. A nil or zero *Executor (not given by Attach) is that of
// a closed dispatcher: Run returns ErrClosed.
type Executor struct{ d *Dispatcher }

// execHooks is what a job run for a backend reports to it.
type execHooks struct {
	rec   Record
	emit  func(v any)
	ended func(Record)
}

// Run runs the job of record r — one the backend has marked running, with
// its start time, on this node — on the host registered here, with r's
// max exec and read timeout counted from r.Started, and blocks until its
// handler has really returned (past a cancel or an expiry too: the slot
// is held meanwhile). emit is called with each output item, in order, on
// the job's goroutine. ended is called once, as soon as the job's end is
// decided (possibly before Run returns), with r updated: its state, end
// time, and value or error. Ending ctx cancels the job (its cause, wrapped
// in ErrCancelled, is the job's error).
//
// Errors, and nothing ran (ended is not called): ErrClosed (the
// dispatcher is stopping: let another node run it), ErrUnknownHost,
// ErrUnknownProcedure (not registered here), ErrBadArgs.
func (x *Executor) Run(ctx context.Context, r Record, emit func(v any), ended func(Record)) error {
	if x == nil || !x.d.made() {
		return ErrClosed
	}
	d := x.d
	p, err := d.lookup(r.Host, r.Procedure)
	if err != nil {
		return err
	}
	a, err := p.args(json.RawMessage(r.Args))
	if err != nil {
		return err
	}
	if r.Started.IsZero() {
		r.Started = time.Now()
	}
	j := &Job{d: d, p: p, id: r.ID, host: r.Host, proc: r.Procedure, qname: r.Queue, args: a,
		infoRaw: r.Info, maxExec: r.MaxExec, idle: r.ReadIdle, done: make(chan struct{}),
		state: Running, submitted: r.Submitted, started: r.Started,
		exec: &execHooks{rec: r, emit: emit, ended: ended}}
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return ErrClosed
	}
	d.inflight++
	d.execs[j] = struct{}{}
	d.mu.Unlock()
	cancelled := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		defer close(cancelled)
		why := context.Cause(ctx)
		if !errors.Is(why, ErrCancelled) {
			why = fmt.Errorf("%w: %w", ErrCancelled, why)
		}
		j.cancel(why) // reports the end (ended) before it returns
	})
	o := d.run(j)
	if !stop() { // the cancel has begun: Run returns after it, and after ended
		<-cancelled
	}
	d.mu.Lock()
	fx := j.returnedLocked(o, time.Now())
	delete(d.execs, j)
	d.releasedLocked()
	d.mu.Unlock()
	fx.run()
	return nil
}

// reportEnd tells the backend how the job ended; called once, by the
// ending of endLocked, with no lock held.
func (j *Job) reportEnd() {
	j.mu.Lock()
	r := j.exec.rec
	r.State, r.Ended = j.state, j.ended
	v, err := j.value, j.err
	j.mu.Unlock()
	if err != nil {
		r.Error = Remote(err)
	} else if v != nil {
		b, merr := marshalJSON(v)
		if merr != nil {
			r.State = Failed
			r.Error = Remote(fmt.Errorf("jobs: the result does not encode as JSON: %w", merr))
		} else {
			r.Value = b
		}
	}
	j.exec.ended(r)
}
