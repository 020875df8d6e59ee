package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Backend keeps a dispatcher's jobs outside its process, so that several
// dispatchers — on several machines — share them: any submits, any that
// has the procedure registered runs it, any follows, cancels or finds it
// by id. A job whose procedure no running dispatcher has registered
// waits queued, in its queue's order, until one that has it serves its
// host or the job is cancelled: the jobs behind it in its queue may
// wait too (jetjobs holds its place in the queue). [WithBackend] plugs one into [New]; the remote module's jetjobs
// package is one on NATS JetStream. Without one, jobs live in memory.
//
// The dispatcher calls a Backend from many goroutines at once: its
// methods must be safe for concurrent use. ctx bounds every blocking
// method; an unreachable store returns an error wrapping ErrUnavailable,
// an unknown id one wrapping ErrNotFound.
//
// An id is free again once its job is past the backend's retention: a
// job is told from an earlier one of the same id by its generation
// (Record.Gen). Await, Cancel and Output take the generation of the job
// the caller means, as it read it in a record (0: whichever job id names
// now); a job of another generation is ErrNotFound to them, so that a
// *Job kept past its job's retention acts on no newer job.
type Backend interface {
	// Attach is called once, by New, with the executor that runs on this
	// dispatcher the jobs the backend hands it.
	Attach(x *Executor) error
	// Serve is called by Register and RegisterStream: this node runs
	// host's procedure from now on.
	Serve(ctx context.Context, host, procedure string) error
	// Submit stores r as a new queued job and enqueues it, or returns the
	// job that already has r.ID with created false (the dispatcher then
	// checks for a conflict). Errors: ErrUnknownHost and
	// ErrUnknownProcedure (no node has it), ErrQueueFull, ErrUnavailable;
	// on error nothing is left stored, unless the backend's store failed
	// as it took back what it had written (the backend documents what may
	// be left then, and how its error tells).
	Submit(ctx context.Context, r Record) (stored Record, created bool, err error)
	// Lookup returns the job's record as of now.
	Lookup(ctx context.Context, id string) (Record, error)
	// Await returns the job's record once it has ended.
	Await(ctx context.Context, id string, gen uint64) (Record, error)
	// Cancel cancels a queued or running job, wherever it is, and reports
	// whether it had not ended.
	Cancel(ctx context.Context, id string, gen uint64) (bool, error)
	// Output calls yield with the job's output items in order, from the
	// first kept, live, until the job has ended (nil) or yield returns
	// false (nil) or ctx ends. It calls caughtUp once (on yield's
	// goroutine, between two yields) as soon as it has yielded every item
	// stored when it was called, or given up those it no longer has: at
	// once if there were none. Items stored later may come before it. The
	// dispatcher places a reader whose position depends on the end
	// (actor.Recent) only once caughtUp is called, or Output has returned.
	Output(ctx context.Context, id string, gen uint64, caughtUp func(), yield func(OutputItem) bool) error
	// List returns the records f selects (f.Limit and the order are the
	// dispatcher's to apply).
	List(ctx context.Context, f Filter) ([]Record, error)
	// Stop is called when the dispatcher begins to stop: take no new job
	// (those handed to Run from now on get ErrClosed back). It must not
	// wait for running jobs.
	Stop()
	// Close releases the backend once the dispatcher's jobs have ended,
	// and waits for its goroutines.
	Close() error
}

// Record is a job as a backend stores it: what was submitted, its state
// and times, and its outcome. Args, Info and Value are JSON.
type Record struct {
	ID          string          `json:"id"`
	Host        string          `json:"host"`
	Procedure   string          `json:"procedure"`
	Queue       string          `json:"queue,omitempty"`       // "" for a job submitted without Queue
	Concurrency int             `json:"concurrency,omitempty"` // the queue's limit its Queue option set
	Args        json.RawMessage `json:"args,omitempty"`
	Info        json.RawMessage `json:"info,omitempty"`
	MaxExec     time.Duration   `json:"max_exec,omitempty"`  // 0: no MaxExec
	ReadIdle    time.Duration   `json:"read_idle,omitempty"` // 0: no ReadIdle
	State       State           `json:"state"`
	Submitted   time.Time       `json:"submit_time"`
	Started     time.Time       `json:"start_time,omitzero"` // zero while queued, or if cancelled there
	Ended       time.Time       `json:"end_time,omitzero"`   // zero until it ends
	Value       json.RawMessage `json:"value,omitempty"`     // a Done job's result
	Error       *RemoteError    `json:"error,omitempty"`     // why it ended, if not Done (nil: see Outcome)
	Node        string          `json:"node,omitempty"`      // the node that runs or ran it
	// Gen is the backend's submission generation of the job: it tells
	// the job from an earlier or later one of the same id (see Backend);
	// 0 if unknown. Not part of the record's JSON: the backend sets it on
	// each record it returns.
	Gen uint64 `json:"-"`
}

// Status is the record's status part; a nil Record's is zero.
func (r *Record) Status() Status {
	if r == nil {
		return Status{}
	}
	return Status{ID: r.ID, Host: r.Host, Procedure: r.Procedure, Queue: r.Queue, State: r.State,
		Submitted: r.Submitted, Started: r.Started, Ended: r.Ended}
}

// Outcome is the record's result as [Job.Result] returns it: its value
// (JSON) for a done job, else its error as a *RemoteError (which matches
// this package's sentinels with errors.Is); ErrNotFinished before its end;
// ErrNotFound for a nil Record.
func (r *Record) Outcome() (any, error) {
	switch {
	case r == nil:
		return nil, fmt.Errorf("%w: nil Record", ErrNotFound)
	case !r.State.Terminal():
		return nil, ErrNotFinished
	case r.State == Done:
		if len(r.Value) == 0 {
			return nil, nil
		}
		return r.Value, nil
	case r.Error != nil:
		return nil, r.Error
	}
	return nil, &RemoteError{Type: typeError, Message: "jobs: job " + string(r.State)}
}

// OutputItem is one item of a job's output as a backend keeps it: its
// number (from 0) and its JSON value.
type OutputItem struct {
	Seq   uint64
	Value json.RawMessage
}

// DefaultBackendTimeout bounds the backend calls of the methods that take
// no ctx ([Dispatcher.Job], [Dispatcher.List], [Job.Status],
// [Job.Cancel]), and how long a backend job's reader waits for the next
// item of the store's copy before it gives up ([Job.Follow],
// [Job.Collected]).
const DefaultBackendTimeout = 5 * time.Second

// WithBackend keeps the dispatcher's jobs in b instead of in memory
// (nil: refused with ErrInvalidOption). The dispatcher owns b from New
// on: it stops and closes it with itself. Jobs are then shared by every
// dispatcher on the same store: Submit stores and enqueues; the jobs of
// the hosts registered here run here; [Dispatcher.Job] and List read the
// store; a *Job is a view of a stored record whose Result value and
// Follow items are JSON (json.RawMessage), whose Args and Info are JSON
// too, and whose Status, Cancel and Result ask the store (bounded by
// DefaultBackendTimeout where they take no ctx). Retention is the
// backend's (WithRetention does not apply).
func WithBackend(b Backend) Option {
	return optionFunc(func(c *config) {
		if b == nil {
			c.err = errNilBackend
			return
		}
		c.backend = b
	})
}
