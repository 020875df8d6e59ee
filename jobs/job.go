package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/troupe-go/troupe/actor"
)

// Job is a submitted call: harp's RemoteCall. Submit returns it, and
// [Dispatcher.Job] finds it again by id while it is queued or running and,
// once it has ended, while it is retained. Its methods are safe for
// concurrent use. A nil or zero *Job (not returned by a Dispatcher) is an
// ended job that no dispatcher knows: its getters return zero values,
// Done a closed channel, Status a zero Status, Cancel false, and Result,
// Follow and Collected ErrNotFound.
type Job struct {
	d       *Dispatcher
	p       procedure
	id      string
	host    string
	proc    string
	qname   string
	args    any // the procedure's request
	info    any
	infoRaw json.RawMessage
	maxExec time.Duration
	idle    time.Duration
	seq     uint64        // submission order
	done    chan struct{} // closed when the job ends
	view    *view         // a backend's job: its record; nil for a job in memory
	exec    *execHooks    // a backend's job run here; nil otherwise

	mu        sync.Mutex // guards the fields down to out
	state     State
	submitted time.Time
	started   time.Time
	ended     time.Time
	released  bool // its handler has returned (or was never started): it holds no slot
	// fast: it runs without a runner (see methodProc.start), so a forced
	// stop releases it if its handler has not returned; slot is the queue
	// whose slot it holds (nil for none). Set before its call is sent,
	// cleared if the call is refused at once (a runner then takes over).
	fast  bool
	slot  *queue
	value any
	err   error
	stop  context.CancelCauseFunc // cancels the running job's context
	out   *actor.Out[any]         // its output, once made
	// making is closed once the output being made is made, or its making
	// failed; nil while nobody makes it (see output).
	making chan struct{}

	// Guarded by d.mu.
	queue      *queue
	prev, next *Job
}

// Status is a job's state and times, as of the call that returned it.
type Status struct {
	ID        string    `json:"id"`
	Host      string    `json:"host"`
	Procedure string    `json:"procedure"`
	Queue     string    `json:"queue,omitempty"` // "" for a job that waited in none
	State     State     `json:"state"`
	Submitted time.Time `json:"submit_time"`
	Started   time.Time `json:"start_time,omitzero"` // zero while queued, or if cancelled there
	Ended     time.Time `json:"end_time,omitzero"`   // zero until it ends
	// Overrunning: the job has ended (cancelled or expired) but its
	// handler has not returned yet, so it still holds its queue slot.
	Overrunning bool `json:"overrunning,omitempty"`
}

// ID is the job's id. It does not block.
func (j *Job) ID() string {
	if j == nil {
		return ""
	}
	return j.id
}

// Host is the name of the host the job runs on.
func (j *Job) Host() string {
	if j == nil {
		return ""
	}
	return j.host
}

// Procedure is the name of the procedure the job runs.
func (j *Job) Procedure() string {
	if j == nil {
		return ""
	}
	return j.proc
}

// Args is the request the job's procedure gets, of the procedure's
// request type (decoded from JSON if it was submitted so). Do not modify
// it.
func (j *Job) Args() any {
	if j == nil {
		return nil
	}
	return j.args
}

// Info is the value given with the Info option (nil without one), as
// given: for whoever reads the job's results (harp's info).
func (j *Job) Info() any {
	if j == nil {
		return nil
	}
	return j.info
}

// Done is closed when the job has ended (Result then returns at once). It
// does not block. With a backend, the first call starts a goroutine that
// awaits the end, again a second later while the store cannot be reached
// (ended by the dispatcher's stop: a view whose end was not seen by then
// keeps Done open).
func (j *Job) Done() <-chan struct{} {
	if !j.made() {
		return closedDone
	}
	if j.view != nil {
		j.watchView()
	}
	return j.done
}

// Status returns the job's state and times. It does not block beyond a
// short critical section; O(1). With a backend it reads the stored record
// (a round trip, bounded by DefaultBackendTimeout), or returns the last
// one read if the store cannot be reached.
func (j *Job) Status() Status {
	if j == nil {
		return Status{}
	}
	if j.view != nil {
		r, _ := j.refresh()
		return r.Status()
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	return Status{
		ID: j.id, Host: j.host, Procedure: j.proc, Queue: j.qname, State: j.state,
		Submitted: j.submitted, Started: j.started, Ended: j.ended,
		Overrunning: j.state.Terminal() && !j.released,
	}
}

// Result returns the job's outcome (harp's result and get): the
// procedure's value (nil for a stream procedure) and a nil error when it
// is done; else a nil value and ErrCancelled, ErrMaxExec or ErrReadIdle
// (both match ErrExpired), an error wrapping ErrUnreachable, or the
// procedure's own error as it returned it (a *actor.PanicError, with the
// stack, if it panicked). With wait false a job still queued or running
// returns ErrNotFinished at once; with wait true Result blocks until the
// job ends or ctx does (ErrNotFinished wrapping ctx's cause). Errors
// also: actor.ErrNilContext; with a backend, those of the store
// (ErrUnavailable), and ErrClosed once the dispatcher has stopped, or if
// it stops during the wait, unless the job's end was seen. O(1).
func (j *Job) Result(ctx context.Context, wait bool) (any, error) {
	if !j.made() {
		return nil, errNoJob
	}
	if j.view != nil {
		return j.viewResult(ctx, wait)
	}
	// The state, not done: done is closed a moment after the end (after
	// the output), and a job that Status shows ended has its outcome.
	if ok, v, err := j.outcome(); ok {
		return v, err
	}
	if !wait {
		return nil, ErrNotFinished
	}
	if ctx == nil {
		return nil, actor.ErrNilContext
	}
	select {
	case <-j.done:
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", ErrNotFinished, context.Cause(ctx))
	}
	_, v, err := j.outcome()
	return v, err
}

// made reports whether j was made by a Dispatcher (see Job): every job
// it makes has a done channel.
func (j *Job) made() bool { return j != nil && j.done != nil }

// closedDone is the Done of a nil or zero Job.
var closedDone = func() chan struct{} { ch := make(chan struct{}); close(ch); return ch }()

// errNoJob is the error of a nil or zero Job's Result, Follow and Collected.
var errNoJob = fmt.Errorf("%w: a Job not returned by a Dispatcher", ErrNotFound)

// outcome reports whether the job has ended, and its value and error.
func (j *Job) outcome() (ended bool, v any, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.state.Terminal(), j.value, j.err
}

// Cancel cancels the job and reports whether it was still queued or
// running (harp's cancel): a queued job leaves its queue and never runs;
// a running job's context is cancelled, with ErrCancelled as its cause.
// Either way the job is cancelled at once (its Result is ErrCancelled);
// a handler that ignores the cancel keeps its queue slot until it returns
// (the status says overrunning). A job that has ended is left as it is,
// and Cancel returns false. It does not block; O(1). With a backend it
// changes the stored record (compare-and-set: a job that ended meanwhile
// on another node keeps its end) and asks the node running the job to
// cancel its context: a few round trips, bounded by
// DefaultBackendTimeout; false if the store cannot be reached.
func (j *Job) Cancel() bool {
	ok, err := j.cancelErr()
	return err == nil && ok
}

// cancelErr is Cancel, also returning why a backend's store could not be
// reached: the HTTP face answers that instead of "not cancelled".
func (j *Job) cancelErr() (bool, error) {
	if !j.made() {
		return false, nil
	}
	if j.view != nil {
		return j.viewCancel()
	}
	return j.cancel(ErrCancelled), nil
}

// cancel ends the job as cancelled with err, if it has not ended.
func (j *Job) cancel(err error) bool {
	d := j.d
	d.mu.Lock()
	j.mu.Lock()
	queued := false
	switch j.state {
	case Queued:
		q := j.queue
		q.removeLocked(j)
		d.dropIdleLocked(q)
		j.released, queued = true, true
	case Running:
	default:
		j.mu.Unlock()
		d.mu.Unlock()
		return false
	}
	now := time.Now()
	fx, _ := j.endLocked(Cancelled, nil, err, now) // allowed from both states
	j.mu.Unlock()
	d.retainLocked(j, now)
	if queued {
		d.releasedLocked()
	}
	d.mu.Unlock()
	fx.run()
	return true
}

// ending is what an end leaves to do once the locks are released.
type ending struct {
	stop context.CancelCauseFunc
	why  error
	out  *actor.Out[any]
	done chan struct{} // closed after out: whoever sees the end finds the output ended
	j    *Job          // a backend's job run here, to report its end
}

func (e ending) run() {
	if e.stop != nil {
		e.stop(e.why)
	}
	if e.out != nil {
		_ = e.out.Close(nil) // the outcome is Result's; ErrStreamClosed if already closed
	}
	if e.done != nil {
		close(e.done)
	}
	if e.j != nil {
		e.j.reportEnd()
	}
}

// returnedLocked records that j's handler has returned (or was never
// started), so that it holds no slot: it ends j with o, unless o is zero
// (its end was decided already, by its context). The caller holds d.mu
// (not j.mu), and runs the returned ending once it has released it.
func (j *Job) returnedLocked(o outcome, now time.Time) ending {
	var fx ending
	j.mu.Lock()
	if o.state != "" {
		fx, _ = j.endLocked(o.state, o.value, o.err, now)
	}
	j.released = true
	j.mu.Unlock()
	return fx
}

// endLocked moves the job to a terminal state with its outcome, if the
// job machine allows it (it does not once the job has ended: the first
// outcome stands). The caller holds j.mu, runs the returned ending
// after releasing it, and retains the job if ok.
func (j *Job) endLocked(to State, v any, err error, now time.Time) (ending, bool) {
	if j.d.tbl.check(j.state, to) != nil {
		return ending{}, false
	}
	j.state, j.value, j.err, j.ended = to, v, err, now
	e := ending{stop: j.stop, why: err, out: j.out, done: j.done}
	if j.exec != nil {
		e.j = j
	}
	j.stop = nil
	if e.why == nil {
		e.why = context.Canceled
	}
	return e, true
}

// output returns the job's output stream, making it on first use: a
// stream procedure's job makes it as it starts; a follower may make it
// earlier (it then waits for the job's items) or for a job that has none
// (it then ends with the job). One caller makes it; the others wait for
// it, or for their ctx to end (its error then), and make it themselves if
// that making failed. Errors: ctx's, and those of opening a stream on the
// outputs' actor (actor.ErrStopped once the dispatcher has stopped).
func (j *Job) output(ctx context.Context) (*actor.Out[any], error) {
	for {
		j.mu.Lock()
		out, making := j.out, j.making
		if out == nil && making == nil {
			j.making = make(chan struct{})
		}
		j.mu.Unlock()
		switch {
		case out != nil:
			return out, nil
		case making == nil:
			return j.makeOutput(ctx)
		}
		select {
		case <-making:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// makeOutput makes the job's output for output, whose caller has set
// j.making, and closes j.making.
func (j *Job) makeOutput(ctx context.Context) (*actor.Out[any], error) {
	out, err := j.d.newOutput(ctx)
	j.mu.Lock()
	making := j.making
	j.making = nil
	j.out = out // nil if err
	ended := j.state.Terminal()
	j.mu.Unlock()
	close(making)
	if err != nil {
		return nil, err
	}
	if ended {
		_ = out.Close(nil)
	}
	return out, nil
}

// Follow returns a reader of the job's output: the items its stream
// procedure sent, numbered from 0 (harp's follow, with numbered=true).
// opts place it as for any actor stream: actor.Since(n) from item n,
// actor.Recent(n) from n items before the end, by default from the oldest
// item kept (harp's stream is Follow(...).Collected()); actor.ReadTimeout
// bounds its waits. The reader sees the items kept, then those to come,
// until the job ends: its All then ends cleanly (whatever the outcome:
// ask Result). A job of a Method procedure has no items. The reader lives
// until ctx ends or it is closed, and does not block the job: the
// output's journal (WithOutputLimit) keeps the most recent items, and a
// reader that falls behind it gets an *actor.TruncatedError. Errors:
// actor.ErrNilContext, actor.ErrInvalidOption, actor.ErrNegativeDuration,
// ErrClosed (the dispatcher has stopped and the job's output was never
// made), ctx's error if it ends while the output is being made. Does not
// block beyond making the output (a call to the dispatcher's actor, or a
// wait for another caller making it), and not past ctx's end; a few
// allocations. With a backend, the readers of
// a job on one dispatcher share its copy of the output from the store,
// which runs while one of them is attached: the last one's Close, break
// out of All or ctx stops it before the job ends (a later reader starts
// a new copy). A reader that starts a copy, or comes before it has
// caught up with the items the store held as it began, is placed once it
// has, as in memory (Recent counts from the store's end, not from what
// was copied so far): this waits, bounded by ctx (its error then) and by
// DefaultBackendTimeout without an item copied (ErrUnavailable past it:
// a long output takes as long as its copy, a stalled store does not).
func (j *Job) Follow(ctx context.Context, opts ...actor.FollowOption) (*actor.Follow[any], error) {
	if ctx == nil {
		return nil, actor.ErrNilContext
	}
	if !j.made() {
		return nil, errNoJob
	}
	if j.view != nil {
		return j.viewFollow(ctx, opts...)
	}
	out, err := j.output(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return out.Follow(ctx, opts...)
}

// Collected returns the items of the job's output kept now, from the
// position opts give (by default the oldest kept), without waiting
// (harp's stream): err is nil while the job runs, io.EOF once it has
// ended, or an *actor.TruncatedError for a position the output no longer
// keeps. Errors also as Follow's. It does not block beyond making the
// output; O(items returned). With a backend, an ended job's output is
// read whole from the store first (ErrUnavailable if no item comes for
// DefaultBackendTimeout); a running job's holds at least the items
// stored as the call began (see Follow).
func (j *Job) Collected(opts ...actor.FollowOption) ([]actor.Item[any], error) {
	if !j.made() {
		return nil, errNoJob
	}
	ctx, cancel := context.WithCancel(context.Background()) // a backend's copy need not outlive the call
	defer cancel()
	f, err := j.followNow(ctx, opts...)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.Collected()
}

// followNow is Follow for a reader of what the output holds now
// (Collected, an HTTP output without follow): for a backend's job, see
// viewFollowNow.
func (j *Job) followNow(ctx context.Context, opts ...actor.FollowOption) (*actor.Follow[any], error) {
	if j.view != nil {
		return j.viewFollowNow(ctx, opts...)
	}
	return j.Follow(ctx, opts...)
}

// outputs is the state of the dispatcher's actor that makes job outputs:
// an actor stream's producer end exists only inside a stream handler, and
// a stream outlives its reader only if its Out is kept.
type outputs struct{}

// outSlot receives the Out the handler is given.
type outSlot struct{ out *actor.Out[any] }

func keepOutput(_ *outputs, _ *actor.Ctx, slot *outSlot, out *actor.Out[any]) error {
	slot.out = out
	return nil
}

// newOutput makes a job output stream on the outputs' actor, waiting for
// its turn at most until ctx ends.
func (d *Dispatcher) newOutput(ctx context.Context) (*actor.Out[any], error) {
	slot := &outSlot{}
	f, err := d.output.Open(ctx, d.outputs, slot)
	if err != nil {
		return nil, err
	}
	_ = f.Close() // the job's readers attach with Out.Follow
	return slot.out, nil
}
