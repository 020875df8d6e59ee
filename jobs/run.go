package jobs

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/behind"
	"github.com/troupe-go/troupe/internal/engine"
)

// Design: how a job's handler is watched.
//
// A Method procedure runs as a sync call whose ctx is the job's: its
// handler's c.Context() is cancelled by Cancel, at max exec and at the
// read timeout, whether or not the handler looks. Call then returns at
// once — but the handler may run on. To keep its slot until it really
// returns, the runner then calls a barrier method of the dispatcher's on
// the same host: the host runs one turn at a time and its mailbox is
// FIFO, so the barrier's turn comes after the job's call has returned (or
// was dropped, never started). A deferred method's turn ends when it hands
// its Reply off: work it does after that on another goroutine is not
// waited for (its Reply.Context is cancelled all the same).
//
// A Method job without MaxExec or ReadIdle, on a host whose mailbox is
// unbounded (a send never waits, nor evicts another), runs without a runner: its call is sent by Submit's
// goroutine, or by whatever ended the job before it in its queue (actor's
// sealed CallThen), and its outcome ends and releases the job on the
// goroutine that settles the call, the host's turn as the handler returns,
// and starts the next job waiting for its slot. That saves the two
// goroutine hand-offs through the runner, most of a short job's latency.
// The call is not watched: a Cancel ends the job at once (as for any job)
// and cancels the handler's context, and the slot is released when the
// handler returns, as a runner's barrier would find. An outcome that comes
// with the job's context ended (a Cancel, a forced stop) is handled as a
// runner handles it, on a goroutine of its own: the turn must not wait for
// the barrier. A forced stop releases such jobs whose handler has not
// returned, as a runner's barrier gives up then. Jobs with a deadline keep
// a runner, whose Call returns at the deadline, and so does a job whose
// call is refused at once (a stopped host): its runner goes on with the
// queue, rather than starts inside starts as deep as the queue.
//
// A Stream procedure is opened with the job's ctx, and the runner copies
// its items into the job's own output (the host's stream ends with its
// producer; the job's must outlive it for later readers). The job's end
// detaches that reader, which cancels the producer's Out.Context (the
// producer's ctx). To keep the slot until the stream really ends, the
// runner then attaches a new reader to it (Stream.Follow) and waits for
// its end. A copy that falls behind the host's journal (a producer that
// sends faster than the copy) resumes with Since from the oldest item
// kept, and closes the truncated reader only once the new one is
// attached: a truncated reader counts as one until it is closed, so the
// producer's ctx is never cancelled for that (the items dropped are lost
// to the job's output). The stream's end is not lost with them: the new
// reader is attached through the old one (Follow.Follow), which reaches
// a stream that has ended, or whose host has stopped, since. A producer
// that first asks for Out.Context only after that re-attachment sees a
// live context: watch it from the start.

// outcome is how a handler ended; a zero outcome means the job's end was
// already decided (its context ended) and only its slot is left.
type outcome struct {
	state State
	value any
	err   error
}

// runner is one run of a job: its context and its watchdogs.
type runner struct {
	d      *Dispatcher
	j      *Job
	ctx    context.Context
	cancel context.CancelCauseFunc // the root of ctx: Cancel's, the read timeout's
	idle   *time.Timer             // a stream's read timeout, reset by each item
}

// run runs j, a job marked running, and returns its outcome.
func (d *Dispatcher) run(j *Job) outcome {
	root, cancel := context.WithCancelCause(context.Background())
	defer cancel(context.Canceled)
	j.mu.Lock()
	if j.state != Running { // cancelled between its start and now
		j.mu.Unlock()
		return outcome{}
	}
	j.stop = cancel
	start := j.started
	j.mu.Unlock()
	var ctx context.Context = farCtx{root}
	deadline, cause := time.Time{}, error(nil)
	if j.maxExec > 0 {
		deadline, cause = start.Add(j.maxExec), ErrMaxExec
	}
	if _, ok := j.p.(streamer); !ok && j.idle > 0 && (deadline.IsZero() || start.Add(j.idle).Before(deadline)) {
		deadline, cause = start.Add(j.idle), ErrReadIdle
	}
	if !deadline.IsZero() {
		var stop context.CancelFunc
		ctx, stop = context.WithDeadlineCause(root, deadline, cause)
		defer stop()
	}
	r := &runner{d: d, j: j, ctx: ctx, cancel: cancel}
	return j.p.run(r, j)
}

// farCtx is the context of a job without a deadline of its own: a far
// one, so that its calls get no call timeout (a sync call without a
// deadline gets the runtime's), without a timer.
type farCtx struct{ context.Context }

var farDeadline = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)

func (farCtx) Deadline() (time.Time, bool) { return farDeadline, true }

// streamer marks the stream procedures.
type streamer interface{ streams() }

// endByContext decides the end of a job whose context ended, by its cause:
// cancelled or expired. A job already ended (Cancel) keeps its outcome.
func (r *runner) endByContext() {
	err := context.Cause(r.ctx)
	st := Failed
	switch {
	case errors.Is(err, ErrExpired):
		st = Expired
	case errors.Is(err, ErrCancelled):
		st = Cancelled
	}
	d, j := r.d, r.j
	now := time.Now()
	d.mu.Lock()
	j.mu.Lock()
	fx, ok := j.endLocked(st, nil, err, now)
	j.mu.Unlock()
	if ok {
		d.retainLocked(j, now)
	}
	d.mu.Unlock()
	fx.run()
}

// failure is a handler's error as the job's: the host's refusals of the
// call say it could not be reached.
func failure(err error, hostStopped bool) error {
	if errors.Is(err, actor.ErrNilRef) || hostStopped && errors.Is(err, actor.ErrStopped) {
		return fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	return err
}

// methodProc is a Method procedure.
type methodProc[S, Q, R any] struct {
	spec[Q]
	h       Host[S]
	m       *actor.Method[S, Q, R]
	barrier *actor.Method[S, struct{}, struct{}]
}

func barrierFor[S any]() *actor.Method[S, struct{}, struct{}] {
	return actor.NewMethod("jobs.barrier", func(S, *actor.Ctx, struct{}) (struct{}, error) { return struct{}{}, nil })
}

func (p *methodProc[S, Q, R]) run(r *runner, j *Job) outcome {
	ref, err := p.h.resolve(r.d.rt)
	if err != nil {
		return outcome{state: Failed, err: err}
	}
	q, _ := j.args.(Q)
	v, err := p.m.Call(r.ctx, ref, q)
	switch {
	case err == nil:
		return outcome{state: Done, value: v}
	case r.ctx.Err() == nil:
		return outcome{state: Failed, err: failure(err, ref.Stopped())}
	}
	r.endByContext()
	awaitTurn(r.d, ref, p.barrier)
	return outcome{}
}

func (p *methodProc[S, Q, R]) start(d *Dispatcher, q *queue, j *Job) bool {
	if j.maxExec > 0 || j.idle > 0 {
		return false // its deadline is a runner's to watch
	}
	ref, err := p.h.resolve(d.rt)
	if err != nil || !ref.Unbounded(engine.Seal{}) {
		// The runner fails it; or its bounded mailbox could make the send
		// wait, or evict another job's call, whose outcome would start
		// the next job of its queue inside this start.
		return false
	}
	root, cancel := context.WithCancelCause(context.Background())
	j.mu.Lock()
	// Cancelled since Submit marked it running, or the stop is forced:
	// the runner releases it, or knows to give up on its handler. A
	// forced stop looks for the fast jobs (under j.mu) after forcing:
	// either it finds this one, or this finds it forced.
	if j.state != Running || d.forced.Err() != nil {
		j.mu.Unlock()
		cancel(context.Canceled)
		return false
	}
	j.stop, j.fast, j.slot = cancel, true, q
	j.mu.Unlock()
	f := &fastRun[S, Q, R]{ctx: farCtx{root}, p: p, d: d, j: j, ref: ref, cancel: cancel}
	req, _ := j.args.(Q)
	if err := p.m.CallThen(engine.Seal{}, &f.ctx, ref, req, f.settled); err == nil {
		return true
	}
	// Refused at once (the host stopped, its mailbox full): a runner
	// fails the job, as its Call is refused too. Not here: releasing it
	// here would start the next job of its queue from inside this start,
	// and a queue of jobs to a stopped host would recurse that deep.
	defer cancel(context.Canceled)
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.released {
		return true // a forced stop found it fast and released it
	}
	j.fast, j.slot = false, nil
	if j.state == Running {
		j.stop = nil // the runner's run makes its own context
	}
	return false
}

// fastRun is a Method job run without a runner: its context (the call's,
// by pointer: no allocation to make it a Context) and what the call's
// outcome needs.
type fastRun[S, Q, R any] struct {
	ctx    farCtx
	p      *methodProc[S, Q, R]
	d      *Dispatcher
	j      *Job
	ref    *actor.Ref[S]
	cancel context.CancelCauseFunc
}

// settled is the call's outcome, on the goroutine that settled it: it
// ends and releases the job as a runner would after its Call.
func (f *fastRun[S, Q, R]) settled(v R, err error) {
	defer f.cancel(context.Canceled)
	switch {
	case err == nil:
		f.d.releaseFast(f.j, outcome{state: Done, value: v})
	case f.ctx.Err() == nil:
		f.d.releaseFast(f.j, outcome{state: Failed, err: failure(err, f.ref.Stopped())})
	default:
		f.d.overrun(f.j, func() {
			r := &runner{d: f.d, j: f.j, ctx: &f.ctx, cancel: f.cancel}
			r.endByContext()
			awaitTurn(f.d, f.ref, f.p.barrier)
			f.d.releaseFast(f.j, outcome{})
		})
	}
}

// releaseFast releases j, run without a runner, with its outcome o (zero:
// its end was decided by its context) unless it was released already (by
// a forced stop, or its outcome, whichever came first) or handed to a
// runner after all (its call refused at once: a forced stop may have
// found it fast just before), and retains it.
// The slot it held in its queue goes to the next job waiting there, which
// starts as a job handed to a runner does, without waiting.
func (d *Dispatcher) releaseFast(j *Job, o outcome) {
	now := time.Now()
	d.mu.Lock()
	j.mu.Lock()
	done, q := j.released || !j.fast, j.slot
	j.mu.Unlock()
	if done {
		d.mu.Unlock()
		return
	}
	fx, next := d.releaseLocked(q, j, o, now)
	d.mu.Unlock()
	fx.run()
	if next != nil {
		d.handOne(q, next)
	}
}

// overrun runs f, which waits for j's handler and releases j, on a
// goroutine of the dispatcher's, unless j is released already (a forced
// stop): then the stop may be waiting for the goroutines, and there is
// nothing left to wait for.
func (d *Dispatcher) overrun(j *Job, f func()) {
	d.mu.Lock()
	j.mu.Lock()
	released := j.released
	j.mu.Unlock()
	if !released {
		d.goroutines.Add(1) // j counts in inflight: the stop waits for it before the goroutines
	}
	d.mu.Unlock()
	if !released {
		go func() {
			defer d.goroutines.Done()
			f()
		}()
	}
}

// awaitTurn waits until the host has run a turn of the barrier method:
// the turn of a call sent before it has ended. Bounded by the
// dispatcher's forced stop.
func awaitTurn[S any](d *Dispatcher, ref *actor.Ref[S], barrier *actor.Method[S, struct{}, struct{}]) {
	ctx := farCtx{d.forced} // no call timeout: the handler may overrun long
	for {
		_, err := barrier.Call(ctx, ref, struct{}{})
		switch {
		case err == nil || ctx.Err() != nil:
			return
		case errors.Is(err, actor.ErrStopped):
			select { // a killed actor's handler may still be returning
			case <-ref.Done():
			case <-ctx.Done():
			}
			return
		}
		// A full mailbox: try again shortly.
		if !sleepCtx(ctx, 10*time.Millisecond) {
			return
		}
	}
}

// streamProc is a Stream procedure.
type streamProc[S, Q, E any] struct {
	spec[Q]
	h       Host[S]
	s       *actor.Stream[S, Q, E]
	barrier *actor.Method[S, struct{}, struct{}]
}

func (p *streamProc[S, Q, E]) streams() {}

// start declines: a stream's copy needs a runner.
func (p *streamProc[S, Q, E]) start(*Dispatcher, *queue, *Job) bool { return false }

func (p *streamProc[S, Q, E]) run(r *runner, j *Job) outcome {
	ref, err := p.h.resolve(r.d.rt)
	if err != nil {
		return outcome{state: Failed, err: err}
	}
	out, err := j.output(context.Background()) // the outputs' actor refuses it once the dispatcher stops
	if err != nil {
		return outcome{state: Failed, err: fmt.Errorf("jobs: job output: %w", err)}
	}
	if j.idle > 0 {
		r.idle = time.AfterFunc(j.idle, func() { r.cancel(ErrReadIdle) })
		defer r.idle.Stop()
	}
	q, _ := j.args.(Q)
	f, err := p.s.Open(r.ctx, ref, q)
	if err != nil {
		if r.ctx.Err() == nil {
			return outcome{state: Failed, err: failure(err, ref.Stopped())}
		}
		r.endByContext()
		// Open gave up: a stream the opening turn made was ended by it
		// (nobody could read it), so its end is that turn's.
		awaitTurn(r.d, ref, p.barrier)
		return outcome{}
	}
	defer func() { _ = f.Close() }() // the last reader: a truncated one counts until closed
	id := f.ID()
	if h := r.d.cfg.opened; h != nil {
		h()
	}
	// A reader placed past every item, never truncated, attached as long
	// as the copy runs: a stream that ends while the copy's reader is
	// truncated has a reader attached to receive its error, which is
	// then not reported as a dead letter as well as the job's. Attached
	// through f, not by id: a stream that overran f and ended since Open
	// returned is no longer found by id.
	endw, err := f.Follow(r.ctx, actor.Since(math.MaxUint64))
	if err != nil {
		endw = nil
	} else {
		defer func() { _ = endw.Close() }()
	}
	end := copyItems(r, f, out)
	for {
		te := behind.Truncation(r.ctx, f, end)
		if te == nil || r.ctx.Err() != nil {
			break
		}
		// The copy fell behind the host's journal: go on from what it
		// keeps (the items dropped are lost to the job's output).
		g, err := behind.Resume(r.ctx, f, te)
		if err != nil {
			end = err
			break
		}
		f = g
		end = copyItems(r, f, out)
	}
	switch {
	case end == nil:
		return outcome{state: Done}
	case r.ctx.Err() == nil:
		return outcome{state: Failed, err: failure(end, ref.Stopped())}
	}
	r.endByContext()
	// Both detached now, not when their ctx's callbacks run: the
	// producer's Out.Context is cancelled once no reader is left, before
	// awaitEnd attaches one. f may be a truncated reader (the ctx ended
	// as it fell behind), which counts as one until it is closed.
	_ = f.Close()
	if endw != nil {
		_ = endw.Close()
	}
	p.awaitEnd(r.d, ref, id)
	return outcome{}
}

// copyItems appends the stream's items to the job's output until it ends, and
// returns its end (nil for a clean one).
func copyItems[E any](r *runner, f *actor.Follow[E], out *actor.Out[any]) error {
	for it, err := range f.All() {
		if err != nil {
			if h := r.d.cfg.copied; h != nil {
				h(err)
			}
			return err
		}
		if r.idle != nil {
			r.idle.Reset(r.j.idle)
		}
		_ = out.Send(it.V) // ErrStreamClosed once the job has ended
		if x := r.j.exec; x != nil && r.ctx.Err() == nil {
			x.emit(it.V)
		}
	}
	return nil
}

// awaitEnd waits for the end of the host's stream id, bounded by the
// dispatcher's forced stop. A producer that ignores the cancel may send
// faster than this reads: a truncation is not the end, and the wait goes
// on from the oldest item kept.
func (p *streamProc[S, Q, E]) awaitEnd(d *Dispatcher, ref *actor.Ref[S], id uint64) {
	g, err := p.s.Follow(d.forced, ref, id, actor.Recent(0))
	if err != nil {
		return // ended (ErrNoStream), or its actor stopped
	}
	defer func() { _ = g.Close() }()
	for {
		var end error
		for _, err := range g.All() {
			if err != nil {
				end = err
				break
			}
		}
		te := behind.Truncation(d.forced, g, end)
		if te == nil || d.forced.Err() != nil {
			return
		}
		next, err := behind.Resume(d.forced, g, te)
		if err != nil {
			return
		}
		g = next
	}
}
