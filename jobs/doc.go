// Package jobs is harp's job dispatcher on troupe, for servers to embed:
// a call becomes a job with an id; it waits in a named queue whose
// concurrency caps how many of its jobs run at once; a max exec time
// bounds its run and a read timeout the time between two items of its
// output; it can be cancelled; its result, its streamed output, its times
// and the submitter's info are kept for whoever asks later, by id, in
// process, over HTTP, or through the Go client.
//
//	d, err := jobs.New(rt, jobs.WithRetention(24*time.Hour, 100_000))
//	err = jobs.Register(d, jobs.Ref("web01", agent), RestartNginx)      // a Method
//	err = jobs.RegisterStream(d, jobs.Named[*Agent]("web02"), TailLogs) // a Stream
//	job, err := d.Submit(ctx, "web01", "restart_nginx", args,
//		jobs.Queue("nginx", 2), jobs.MaxExec(15*time.Second), jobs.Info(meta))
//	job.ID(); job.Status(); job.Cancel(); job.Result(ctx, true); d.Job(id)
//	f, err := job.Follow(ctx, actor.Since(0)) // harp's follow: for it, err := range f.All()
//	items, err := job.Collected()              // harp's stream
//	http.Handle("/jobs/", jobs.Handler(d))
//
// # Procedures and hosts
//
// A procedure is a troupe [actor.Method] (also a deferred one) or
// [actor.Stream] of a host actor, registered under a host name with
// [Register] or [RegisterStream]: typed at the edge, so the compiler
// checks the host's state type, and decoded from JSON (encoding/json,
// strict; or [DecodeWith]) when submitted over HTTP. A host is a ref
// ([Ref]) or an actor name looked up in the runtime each time one of its
// jobs starts ([Named]), so that hosts can later live on other machines.
//
// A Method procedure's value is its job's result. A Stream procedure's
// items are its job's output, its clean end the job's success. The
// dispatcher copies them from the host's stream, whose journal is
// bounded (actor.WithJournal): items the host drops before the copy
// reads them (a producer that sends faster than the copy, with Send) are
// lost to the job's output, which goes on from the oldest kept; the job
// runs on, and its producer's Out.Context is not cancelled for that. A
// producer that must lose nothing sends with SendWait. A stream that ends
// with a truncation error of its own (one its producer met reading
// another output, in process or through a Client) is not taken for the
// copy's: its job fails with it.
//
// One host actor runs one turn at a time: two plain Method jobs on one
// host run one after the other, whatever their queue allows, though both
// count as running. Procedures that should run side by side on one host
// are streams that produce from a goroutine, deferred methods, or run on
// several hosts.
//
// # A job's life
//
// A job is queued, then running, then done, failed, cancelled or
// expired ([State]):
//
//	queued → running → done | failed | cancelled | expired
//	queued → cancelled
//
// The table is an [fsm.Definition] ([StateDiagram] draws it), validated
// once, and every change of a job's state is checked against it: the
// first end stands (a handler that returns after its job was cancelled
// does not make it done). Jobs are not actors: an actor per job would
// cost a spawn and a stop per job, and make Cancel and Status calls;
// a job is a small record guarded by its own lock.
//
// # Queues and watchdogs
//
// [Queue] puts a job in a named queue with a concurrency; its jobs start
// in order as slots free. A job without a queue starts at once. A slot is
// held from a job's start until its handler has really returned:
//
//   - [MaxExec] and [ReadIdle] cancel the job's context when they pass
//     (the handler's c.Context() for a Method; the producer's
//     Out.Context() for a Stream), whether or not the handler looks, and
//     the job ends as expired at once ([ErrMaxExec], [ErrReadIdle]).
//   - [Job.Cancel] does the same and the job ends as cancelled.
//   - A handler that ignores the cancel keeps its slot until it returns
//     (a stream: until it ends); meanwhile [Status].Overrunning is true.
//     So the queue's concurrency is never exceeded, even by handlers
//     that misbehave.
//
// How the end of a handler is watched (run.go): after a Method's call
// returns on a cancel, a barrier call on the same host returns once the
// handler's turn is over (one turn at a time, FIFO mailbox); after a
// Stream's reader left, a new reader waits for the stream's end (a
// cancel during the stream's opening turn makes actor's Open give up,
// which ends the stream that turn made: the barrier waits for it). Three
// limits follow. A deferred method's work handed to another goroutine is
// not waited for past its turn (its Reply.Context is cancelled all the
// same). A host that holds calls with a whitelist holds the barrier too,
// and the slot with it, until it admits everything again. A stream
// producer that asks for its Out.Context for the first time after its
// job ended finds it live (the new reader counts): take it when the
// stream opens.
//
// # Results and errors
//
// [Job.Result] gives the value, or [ErrNotFinished], [ErrCancelled],
// [ErrMaxExec] or [ErrReadIdle] (both match [ErrExpired]), an error
// wrapping [ErrUnreachable] (the host could not be reached), or the
// procedure's own error as it returned it — a panic is a
// [*actor.PanicError] with its stack. Over HTTP every error is a
// [*RemoteError] {type, message, data} (harp's RemoteException), whose
// type is stable:
//
//	not_found 404   conflict 409   too_large 413   queue_full 429   unauthorized 401
//	method_not_allowed 405 (with an Allow header)
//	unknown_host, unknown_procedure, bad_args, invalid_id, invalid_option, bad_request 400
//	closed, unavailable (the backend's store) 503      duplicate
//	not_finished, cancelled, max_exec, read_idle, expired, unreachable,
//	worker_lost (with a backend)   (job outcomes)
//	panic {value, stack}, truncated {oldest}, error (a procedure's own error)
//
// An error that wraps more than one sentinel travels as the type of the
// first above, with the others' types in "also": a job cancelled because
// its dispatcher closed is {"type": "cancelled", "also": ["closed"]}, and
// ErrCancelled and ErrClosed both match it, remotely as in process (a
// client that does not know "also" reads its type as before).
//
// A procedure may return its own *RemoteError to choose the type and data
// its HTTP callers see. The [Client] returns *RemoteError values, which
// match with errors.Is the sentinels that the error matched on the
// server, and [ErrBadResponse] for an answer that no troupe jobs server
// sends (a proxy's page, a bare 503).
//
// # Output
//
// A job's output is an actor stream kept by the dispatcher ([Job.Follow]
// returns an *actor.Follow): items numbered from 0, read live or later
// with actor.Since and actor.Recent (harp's follow and stream, numbered),
// bounded by [WithOutputLimit] (a reader that falls behind gets an
// *actor.TruncatedError and resumes with actor.Since(Oldest); a [RemoteJob]'s
// reader gets a *RemoteError of type "truncated" that errors.As makes
// one too). It ends when the
// job ends; a reader's loop then ends cleanly, and Result says how the
// job ended.
//
// # Ids and retention
//
// A job gets a generated id, or the caller's ([ID]): submitting an id
// again returns the job that has it if host, procedure and args are the
// same (idempotent), else [ErrConflict]. Finished jobs are kept for
// [Dispatcher.Job] and [Dispatcher.List] within [WithRetention]'s age and
// count, the oldest dropped first; queued and running jobs always are,
// and so is a job cancelled or expired whose handler has not returned
// yet (Status.Overrunning: it holds its slot and its id, and its
// retention starts when the handler returns).
// In memory nothing is durable: a dispatcher's jobs die with its process
// (see Backends for jobs that outlive it).
//
// # Backends
//
// [WithBackend] keeps the jobs in a store that several dispatchers share
// — the remote module's jetjobs package puts them on NATS JetStream — so
// that any dispatcher submits, the ones where the job's host and
// procedure are registered run it, and any follows, cancels or finds it
// by id, and a node's death loses no job. A job whose procedure no
// running dispatcher has waits queued, in its queue's order (so the jobs
// behind it may wait too), until one that has it comes or the job is
// cancelled. The API and the HTTP face stay the same;
// what changes: a *Job is a view of the stored record (Result values,
// Args, Info and output items are JSON: json.RawMessage), Status, Cancel,
// Result, Job and List ask the store (a round trip; bounded by
// DefaultBackendTimeout where they take no ctx; ErrUnavailable when it
// cannot be reached), Submit may return ErrUnavailable, a job whose node
// died while running it ends as failed with ErrWorkerLost, and retention
// is the store's. The [Backend] interface is the seam: records with
// create-if-absent and compare-and-set changes checked against the job
// machine, a queue per host, the output as numbered items, a cancel that
// reaches the node running the job; the [Executor] it is given runs the
// jobs handed to this node with the watchdogs above.
//
// # HTTP face and client
//
// [Handler] serves submit, status, result (optionally waiting), cancel,
// list, and the output as JSON lines or server-sent events
// (Last-Event-ID resumes), with an authorization hook run before any work
// and request bodies capped. [Client] drives it from another process in
// harp's shape: a host with job options, a call that returns a
// [RemoteJob], its id, status, follow, result and cancel, and a job found
// again by id.
//
// # Goroutines and shutdown
//
// A Dispatcher runs a goroutine per running job (a runner, which takes the
// next job of its queue when its job's handler has returned: a queue of
// concurrency n has at most n), except a Method job without [MaxExec] or
// [ReadIdle] on a host whose mailbox is unbounded (see actor.WithMailbox): its call is sent by Submit (or by the end of the job
// before it in its queue) and its outcome ends it and hands its slot on,
// with no goroutine of its own unless its context ends before its handler
// returns (a cancel), or its call is refused at once. It keeps up to 8
// idle runners parked for the next jobs (a parked runner's stack has
// already grown), one goroutine while it stops, and one short-lived
// retention timer callback at a time; its job outputs live on one actor of
// its own. [Dispatcher.Shutdown] refuses new jobs, lets queued and running
// ones finish, then stops that actor; past its ctx it forces the stop.
// [Dispatcher.Close] cancels every job and returns once every runner has
// exited; a handler that ignores the cancel is not waited for. Both are
// idempotent; Submit then returns [ErrClosed]; finished jobs can still be
// read (with a backend, a *Job answers from the last record it read, and
// what would ask the store returns ErrClosed). Shut the dispatcher down
// before its runtime. The HTTP face starts no goroutine: a follow runs on
// its request's, and a client that goes away detaches its reader.
//
// # Costs
//
// Measured in bench/jobs_test.go on a 2-CPU VM where a sync call takes
// 1.3 µs: Submit → run → Result of an empty Method job takes about 3.6 µs
// in process (11 allocations: the job, its id, its context, the call and
// its hand-off of the outcome; no goroutine); 100,000 such jobs from 64
// goroutines through one queue of concurrency 8 take about 4.3 µs a job
// (230,000 jobs/s); a finished job retained costs about 600 bytes plus its
// args, info, result and output.
// Status, Cancel, Result and Job are O(1); List is O(jobs·log jobs).
package jobs
