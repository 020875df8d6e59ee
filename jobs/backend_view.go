package jobs

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/engine"
)

// view is what a *Job of a backend knows of its record: the last one read.
type view struct {
	gen      uint64     // the job's generation (Record.Gen) as first seen: 0 if unknown
	mu       sync.Mutex // guards rec
	rec      Record
	watch    sync.Once // starts the goroutine that closes done at the end
	doneOnce sync.Once // closes done
}

// newView returns a *Job that shows record r of the backend.
func (d *Dispatcher) newView(r Record) *Job {
	j := &Job{d: d, id: r.ID, host: r.Host, proc: r.Procedure, qname: r.Queue, args: r.Args,
		infoRaw: r.Info, maxExec: r.MaxExec, idle: r.ReadIdle, done: make(chan struct{}),
		state: r.State, submitted: r.Submitted, view: &view{gen: r.Gen, rec: r}}
	if len(r.Info) > 0 {
		j.info = r.Info
	}
	j.seen(r)
	return j
}

// jobRef names a backend's job: its id, and its generation as a view
// first saw it (0: unknown, whichever job the id names).
type jobRef struct {
	id  string
	gen uint64
}

// ref is the job's jobRef.
func (j *Job) ref() jobRef { return jobRef{id: j.id, gen: j.view.gen} }

// sameJob returns nil if r is of the job's generation (or either is
// unknown), else ErrNotFound: the view outlived its job's retention,
// and its id names a newer job.
func (j *Job) sameJob(r Record) error {
	if g := j.view.gen; g != 0 && r.Gen != 0 && r.Gen != g {
		return fmt.Errorf("%w: job %s of generation %d (its id names a newer job, of generation %d)", ErrNotFound, j.id, g, r.Gen)
	}
	return nil
}

// seen keeps r as the job's last known record.
func (j *Job) seen(r Record) {
	v := j.view
	v.mu.Lock()
	v.rec = r
	v.mu.Unlock()
	if r.State.Terminal() {
		v.doneOnce.Do(func() { close(j.done) })
	}
}

// record returns the job's last known record.
func (j *Job) record() Record {
	j.view.mu.Lock()
	defer j.view.mu.Unlock()
	return j.view.rec
}

// refresh reads the job's record from the backend, bounded by
// DefaultBackendTimeout; on error the last known one. An ended record is
// returned as it is: it no longer changes.
func (j *Job) refresh() (Record, error) {
	ctx, cancel := context.WithTimeout(j.d.life, DefaultBackendTimeout)
	defer cancel()
	return j.refreshIn(ctx)
}

// refreshIn is refresh bounded by ctx instead.
func (j *Job) refreshIn(ctx context.Context) (Record, error) {
	if r := j.record(); r.State.Terminal() {
		return r, nil
	}
	r, err := j.d.b.Lookup(ctx, j.id)
	if err == nil {
		err = j.sameJob(r)
	}
	if err != nil {
		return j.record(), j.d.storeErr(err)
	}
	j.seen(r)
	return r, nil
}

// endRetry is how long endedRecord waits between two reads of a record.
const endRetry = 100 * time.Millisecond

// endedRecord reads the record of a job whose output has ended, and so
// has the job: its terminal state and outcome, of one moment. A store
// that cannot be reached this moment (ErrUnavailable), or does not show
// the end yet, is read again every endRetry, bounded by
// DefaultBackendTimeout, ctx and the dispatcher's life. Past that it
// returns the last record known, not ended, and an error wrapping
// ErrUnavailable; an error no retry helps (ErrNotFound, ErrClosed) as
// it is. A cached refresh's record, the last one read, is never
// returned as the end's.
func (j *Job) endedRecord(ctx context.Context) (Record, error) {
	ctx, cancel := context.WithTimeout(ctx, DefaultBackendTimeout)
	defer cancel()
	defer context.AfterFunc(j.d.life, cancel)()
	for {
		r, err := j.refreshIn(ctx)
		switch {
		case r.State.Terminal():
			return r, nil
		case err != nil && !errors.Is(err, ErrUnavailable) && ctx.Err() == nil:
			return r, err // not found, closed: no retry helps
		}
		if ctx.Err() != nil || !sleepCtx(ctx, endRetry) {
			if err == nil {
				err = errors.New("the store does not show its end")
			}
			if j.d.life.Err() != nil {
				return r, j.d.storeErr(err)
			}
			return r, fmt.Errorf("%w: job %s: its output has ended, its end state could not be read: %w",
				ErrUnavailable, j.id, err)
		}
	}
}

// storeErr is the error of a round trip to the store: ErrClosed wrapping
// it once the dispatcher has stopped (its life, which bounds the round
// trips, has ended, and the backend is closed or closing).
func (d *Dispatcher) storeErr(err error) error {
	if err != nil && d.life.Err() != nil && !errors.Is(err, ErrClosed) {
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return err
}

// viewRetry is how long a view's Done watcher waits before it awaits the
// job again after the store could not be reached.
const viewRetry = time.Second

// watchView starts, once, a goroutine that closes done when the job ends:
// it awaits the end until it has it, the job is no longer found, or the
// dispatcher stops. An error of the store (a blip: ErrUnavailable) is
// retried after viewRetry; giving up there left done open for good.
func (j *Job) watchView() {
	j.view.watch.Do(func() {
		d := j.d
		d.goView(func() {
			for {
				r, err := d.b.Await(d.life, j.id, j.view.gen)
				switch {
				case err == nil:
					j.seen(r)
					return
				case d.life.Err() != nil || !errors.Is(err, ErrUnavailable):
					return // stopped, not found, or not a blip: no retry helps
				}
				if !sleepCtx(d.life, viewRetry) {
					return
				}
			}
		})
	})
}

// goView runs f on a goroutine the dispatcher waits for as it stops,
// unless it has stopped.
func (d *Dispatcher) goView(f func()) {
	d.mirMu.Lock()
	defer d.mirMu.Unlock()
	if d.life.Err() == nil {
		d.viewers.Go(f)
	}
}

func (j *Job) viewResult(ctx context.Context, wait bool) (any, error) {
	if !wait {
		r, err := j.refresh()
		if err != nil && !r.State.Terminal() {
			return nil, err
		}
		return r.Outcome()
	}
	if ctx == nil {
		return nil, actor.ErrNilContext
	}
	if r := j.record(); r.State.Terminal() {
		return r.Outcome()
	}
	// Bounded by the dispatcher's life too: its stop closes the backend.
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(j.d.life, cancel)
	defer stop()
	r, err := j.d.b.Await(actx, j.id, j.view.gen)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w: %w", ErrNotFinished, context.Cause(ctx))
		}
		return nil, j.d.storeErr(err)
	}
	j.seen(r)
	return r.Outcome()
}

// viewCancel is cancelErr with a backend.
func (j *Job) viewCancel() (bool, error) {
	ctx, cancel := context.WithTimeout(j.d.life, DefaultBackendTimeout)
	defer cancel()
	ok, err := j.d.b.Cancel(ctx, j.id, j.view.gen)
	return ok, j.d.storeErr(err)
}

// lookupView is Dispatcher.Job with a backend.
func (d *Dispatcher) lookupView(id string) (*Job, error) {
	if err := validID(id); err != nil {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, id)
	}
	ctx, cancel := context.WithTimeout(d.life, DefaultBackendTimeout)
	defer cancel()
	r, err := d.b.Lookup(ctx, id)
	if err != nil {
		return nil, d.storeErr(err)
	}
	return d.newView(r), nil
}

// listViews is Dispatcher.List with a backend: by submit time.
func (d *Dispatcher) listViews(f Filter) ([]*Job, error) {
	ctx, cancel := context.WithTimeout(d.life, DefaultBackendTimeout)
	defer cancel()
	recs, err := d.b.List(ctx, f)
	if err != nil {
		return nil, d.storeErr(err)
	}
	all := make([]*Job, 0, len(recs))
	for _, r := range recs {
		if len(f.States) == 0 || slices.Contains(f.States, r.State) {
			all = append(all, d.newView(r))
		}
	}
	slices.SortFunc(all, func(a, b *Job) int {
		return cmp.Or(a.submitted.Compare(b.submitted), cmp.Compare(a.id, b.id))
	})
	if f.Limit > 0 && len(all) > f.Limit {
		all = all[len(all)-f.Limit:]
	}
	return all, nil
}

// submitView is Submit with a backend.
func (d *Dispatcher) submitView(ctx context.Context, host, procedure string, args any, cfg submitConfig) (*Job, bool, error) {
	if d.closing() {
		return nil, false, ErrClosed
	}
	if engine.ValidName(host) != nil {
		return nil, false, fmt.Errorf("%w: %q", ErrUnknownHost, host)
	}
	if engine.ValidName(procedure) != nil {
		return nil, false, fmt.Errorf("%w: %q on %s", ErrUnknownProcedure, procedure, host)
	}
	raw, err := d.argsJSON(host, procedure, args)
	if err != nil {
		return nil, false, err
	}
	for {
		id := cfg.id
		if id == "" {
			id = d.idBase + fmt.Sprint(d.idSeq.Add(1))
		}
		r := Record{ID: id, Host: host, Procedure: procedure, Queue: cfg.queue, Concurrency: cfg.concurrency,
			Args: raw, Info: cfg.infoJSON, MaxExec: cfg.maxExec, ReadIdle: cfg.readIdle,
			State: Queued, Submitted: time.Now()}
		stored, created, err := d.b.Submit(ctx, r)
		switch {
		case err != nil:
			return nil, false, err
		case created:
			j := d.newView(stored)
			j.info = cfg.info
			return j, true, nil
		case cfg.id == "":
			continue // a generated id met another node's: draw again
		case stored.Host != host || stored.Procedure != procedure || !d.sameArgs(host, procedure, stored.Args, raw):
			return nil, false, fmt.Errorf("%w: %q", ErrConflict, id)
		}
		return d.newView(stored), false, nil
	}
}

// argsJSON returns args as compact JSON: checked against the procedure's
// type if it is registered here. Nil or empty args are stored as none
// (nil): the zero value, wherever the job runs.
func (d *Dispatcher) argsJSON(host, procedure string, args any) (json.RawMessage, error) {
	var raw []byte
	isJSON := false
	switch a := args.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		raw, isJSON = a, true
	case []byte:
		raw, isJSON = a, true
	}
	if isJSON && emptyJSON(raw) {
		return nil, nil // empty JSON args are nil args: the zero value
	}
	if p, err := d.lookup(host, procedure); err == nil {
		a, err := p.args(args)
		if err != nil {
			return nil, err
		}
		if raw == nil {
			if raw, err = marshalJSON(a); err != nil {
				return nil, fmt.Errorf("%w: %s/%s: %w", ErrBadArgs, host, procedure, err)
			}
		}
	} else if raw == nil {
		if raw, err = marshalJSON(args); err != nil {
			return nil, fmt.Errorf("%w: %s/%s: %w", ErrBadArgs, host, procedure, err)
		}
	}
	if !json.Valid(raw) {
		return nil, fmt.Errorf("%w: %s/%s: not JSON", ErrBadArgs, host, procedure)
	}
	return compact(raw), nil
}

// sameArgs reports whether a job's stored args and a submission's (raw,
// compact) are the same args, as Submit in memory decides: the same
// value of the procedure's request type if it is registered here, else
// the same JSON value (an object's keys in any order).
func (d *Dispatcher) sameArgs(host, procedure string, stored, raw json.RawMessage) bool {
	if bytes.Equal(compact(stored), raw) {
		return true
	}
	if p, err := d.lookup(host, procedure); err == nil {
		a, err1 := p.args(stored)
		b, err2 := p.args(raw)
		return err1 == nil && err2 == nil && reflect.DeepEqual(a, b)
	}
	a, ok1 := jsonValue(stored)
	b, ok2 := jsonValue(raw)
	return ok1 && ok2 && reflect.DeepEqual(a, b)
}

// jsonValue decodes JSON as a generic value, numbers as they are spelled.
func jsonValue(b []byte) (any, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	return v, dec.Decode(&v) == nil
}

func compact(b []byte) json.RawMessage {
	if len(b) == 0 {
		return nil
	}
	var c bytes.Buffer
	if json.Compact(&c, b) != nil {
		return b
	}
	return c.Bytes()
}

// sleepCtx waits d, or until ctx ends; it reports whether d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
