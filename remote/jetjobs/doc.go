// Package jetjobs keeps the jobs of troupe's dispatcher (package jobs) on
// NATS JetStream, so that dispatchers on several machines share them:
// harp's dispatcher (HarpCaller) and its agents (harpd) as nodes. Any
// node submits; a node where the job's host and procedure are registered
// runs it; any
// node follows, cancels or finds it by id; a node's death loses no job.
//
//	b, err := jetjobs.New(ctx, node.Conn(), jetjobs.WithNode(node.ID()), jetjobs.WithReplicas(3))
//	d, err := jobs.New(rt, jobs.WithBackend(b)) // then as in memory: Register, Submit, Handler, …
//
// Code written against jobs runs unchanged; what differs is listed in
// the jobs package doc (Backends): values and items are JSON, reads ask
// the store, a dead worker's job fails with jobs.ErrWorkerLost.
//
// # Layout
//
// For a prefix p (WithPrefix, default "jobs"):
//
//	stream p_queue   work queue: one message per job on p.run.<host>.<queue>
//	stream p_out     each job's output items on p.out.<id>, then its end marker
//	stream p_dead    dead letters on p.dead.<reason>
//	bucket p_jobs    each job's record (state, times, outcome), versioned
//	bucket p_procs   host.procedure → the node that registered it
//	bucket p_queues  host.queue → concurrency, watched by the nodes serving host
//
// Names are base64url-encoded into subject tokens, so any job id fits.
//
// # Queues
//
// A (host, queue) pair is a durable pull consumer of the queue stream
// with AckWait = the lease and MaxAckPending = the queue's concurrency:
// the server never has more of its messages delivered and unacknowledged
// than that, whichever nodes pull them, and a message stays
// unacknowledged until its job's handler has really returned — so the
// cap holds cluster-wide, also for handlers that overrun a cancel. The
// cap is per host: a queue whose jobs go to two hosts runs up to its
// concurrency on each. Jobs without a queue go to their host's consumer
// without a cap. A Submit naming a queue with another concurrency than
// the one this node last set updates the consumer once its job is
// queued: one refused, or one that finds its id's job (idempotent, or
// jobs.ErrConflict), leaves the limit as it was, as in memory. WithMaxQueued bounds
// the messages of each pair (jobs.ErrQueueFull beyond, cluster-wide), and
// WithRetention's bytes those of all pairs together (jobs.ErrQueueFull
// too). Every node serving a host consumes all its queues: one that has
// not registered the job's procedure (registered on another node: Submit
// refuses a procedure no node has registered, jobs.ErrUnknownProcedure)
// leaves the job queued and puts its message back, to come again a
// second later, to whichever node serving the host asks first.
//
// A job whose procedure no live node has (only nodes since stopped or
// dead registered it: the procedure bucket keeps a registration for
// good, so Submit accepts such jobs) waits so, queued, until a node that
// registers the procedure serves its host: its message comes back every
// second to a node serving the host, which reads its record (one
// request). Meanwhile its message holds one of its queue's places
// (JetStream counts a message put back against MaxAckPending): in a
// queue of concurrency 1 every job behind it waits, as a queue's jobs
// start in order, and in a queue of concurrency n, n such jobs stop it.
// A job without a queue holds no other job back. Such a job shows as
// queued (no start time, no node) in Lookup, List and the HTTP face
// while its queue stands still. The operator either starts a node that
// registers the procedure, or cancels the job (from any node): its place
// is freed at its next delivery, within a second, and the jobs behind it
// start.
//
// # Records
//
// A job's record is created with KV Create (an id that exists returns its
// job: idempotent submits, or jobs.ErrConflict), then its message is
// published, with the job's id and generation as its message id
// (Nats-Msg-Id): the queue stream stores a message id once within its
// duplicate window (the retention age, at most 2 minutes). A Submit that
// finds its id's job still queued as created makes sure that its message
// is in the queue (a Submit that failed may have left the record without
// it, see Bad input): it publishes the message again, which the stream
// drops if it has it; past half the window (by the submitting node's
// clock) it first looks for the message among those of its host and
// queue stored within seconds of the record (one request each), and
// publishes it only if it is not there; with its message stored, it
// writes the record again as it is, so that the Submit that created it,
// if its own publish fails meanwhile, finds the job queued rather than
// take it back (both callers get the job). If that write fails, it reads
// the record: written again (its answer lost) or taken, it returns the
// job; still as created (or unreadable), the job may run or yet be taken
// back, and it returns an *OutcomeUnknownError (see Bad input). A job whose message may be
// gone thus runs once it is submitted again, and has one message. If the
// message's publish again is refused (not stored), the Submit returns its
// error (jobs.ErrQueueFull, jobs.ErrUnavailable), and the job stays
// queued; if it fails otherwise (its answer lost: the message may be
// stored, and the job may run), an *OutcomeUnknownError. The record is changed only by
// compare-and-set at the last revision, each change one the job machine
// allows: queued → running by the node that got its message, running →
// an end by that node, queued or running → cancelled by any node, running
// → failed (worker lost) by the rule below. The first end stands. Records
// are read from the bucket's stream leader (a direct get may be answered
// by a replica that has not seen the last write). A record or message of
// another format version is refused with a *VersionError.
//
// # Node death: the delivery rule
//
// A job runs at most once (harp's rule). The node running a job refreshes
// its message's lease (an in-progress ack) and rewrites its record a
// third of a lease apart (WithLease, default 30 s; of the retention age
// if shorter). If the node dies, the message comes back after the lease
// to a node serving the host; that node finds the record running on
// another node and not rewritten for a lease (or puts the message back
// until a lease has passed since its last write), and fails the job with
// jobs.ErrWorkerLost, about a lease after that node's last write — it is not run again (a node that cannot read the
// record then puts the message back for later).
// A record still queued (the node died before marking it) runs; an ended
// one is dropped; one that a live node marked running though the answer
// to its mark was lost runs: that node reads the record again, keeping
// the message, until it finds its mark (its start time) or the record
// still queued (for up to a lease while its store is away; past that,
// when the message comes back to it). A node that cannot store the
// end of a job it ran (its store away for a lease, though tried again)
// leaves the job's message unacknowledged: the job is failed as lost the
// same way, never left running. Jobs waiting in the queue are in the
// stream: a dispatcher node's death loses none, and any node serves them
// over its HTTP face. Until a node serving the host comes back, a dead
// node's running job stays "running".
//
// Clocks: "not rewritten for a lease" is the node's clock against the
// time the NATS server leading the jobs bucket stored the record. The
// rule assumes every node's clock within a few seconds of the servers'
// (NTP), and at most a third of a lease ahead: a node whose clock is two
// thirds of a lease or more ahead takes a live node's record, rewritten a
// third of a lease ago, for a lease old, and fails its job as lost when
// its message comes back early (a queue consumer's leader changing). Keep
// WithLease well above the nodes' skew: the default 30 s allows about
// 10 s. Submit's look for a job's message past half the duplicate window
// (see Records) assumes the servers' clocks within 10 s of each other.
//
// # Output
//
// The running node publishes each output item to p.out.<id> (as JSON;
// one that does not encode, or is over the NATS server's max payload,
// as null) with its number and a message id (asynchronously; items whose ack fails or does
// not come are sent again, in order, before the next item once one is
// known to have failed, a tenth of a second after that if the job sends
// no next item (2 s after its ack was due if it never comes), and before
// the end is written), then,
// once the handler has returned, the end marker. Only the runner writes
// a running job's marker, after its last item is stored, also when
// another node ended the job (a cancel), and also if it never ran its
// handler (its dispatcher stopping as the job starts, its mark's answer
// lost): readers stop at the marker, and
// one written while items are in flight would hide them. A job with no
// runner gets its marker from whoever ends it: a cancel of a queued job,
// the node that fails a job as lost. If the marker never comes (the node
// that ended the job died first; a cancelled job's runner died or its
// handler overruns the cancel), a reader ends by the job's ended record
// after two idle seconds (two rechecks of a second). Follow reads the
// output with an ordered consumer from the first item: the dispatcher
// mirrors it into a local actor stream, so Since, Recent, Collected and
// read timeouts behave as in memory, and several readers on one node
// cost one consumer. Output tells the dispatcher when it has read what
// was stored as it began (up to the subject's last stream sequence then):
// a reader of a new mirror is placed from then on, so that Recent counts
// from the stored end. An ordered consumer whose server
// goes away resumes from the last sequence it delivered (and is opened
// again from there if it stays behind what is stored); items re-sent out
// of order are put back in order; missing ones (dropped by the output
// stream's limits) come as nil, once 256 items or 6 s have waited
// behind them (an item sent again comes within that while its stream is
// there). A Follow from item n replays the stored
// items from 0 into the local mirror (O(n) once per mirror).
//
// # Cancel and watchdogs
//
// Cancel changes the record first, then asks the running node
// (p.cancel.<node>, core request) to cancel the handler's context; a
// node that missed the request finds the record ended at its next lease
// refresh and cancels the handler then. A follower of a cancelled job
// sees every item its handler sent before it saw the cancel, then the
// end, written by the runner once the handler has returned; if the
// runner is dead or its handler overruns the cancel, the follower ends
// by the record instead, after two idle seconds (see Output). Max
// exec and read timeouts run on the node that runs the job, from the
// start time in its record; if that node dies, the lease takes over.
//
// # Retention
//
// WithRetention bounds every stream by bytes, and all but the queue
// stream by age: a job is found by id until its record is older than the
// age, then jobs.ErrNotFound, and a Submit with its id makes a new job.
// A job is told from an earlier one of the same id by its generation,
// the revision its record was created at: every later write of its
// record carries it ("gen" in the record's envelope; a job message's
// "rev"), and so do its output items and end marker (the Jobs-Gen
// header, and their message ids), its end notices and the cancel
// requests for it. A runner, follower or waiter drops what is of
// another generation: a node still running the earlier job (its record
// gone while its store was away) never writes over the new job's
// record, and a follower of the new job never reads the earlier job's
// output or its end. What was written without a generation is taken as
// any generation's. Each record returned has its generation in
// jobs.Record.Gen, and Await, Cancel and Output take the generation of
// the job meant (0: the one the id names as they begin): a *jobs.Job
// kept past its job's retention gets jobs.ErrNotFound from its Result,
// Follow and Cancel, and never acts on a newer job of its id. A running job's record and message are kept
// however long it runs: its node rewrites its record a third of the lease
// or of the age apart, whichever is shorter, and its message stays in the
// queue stream until the job has ended (messages leave it by their ack,
// or their term when dead-lettered). Keep the age above the longest a job
// waits in its queue: a job whose record is dropped while it waits is
// dead-lettered when it comes up.
//
// The bytes refuse new work; they never lose an accepted job's end. The
// queue stream past its bytes refuses a Submit (jobs.ErrQueueFull); the
// output and dead-letter streams drop their oldest messages first (an
// output item dropped comes as nil, see Output); the procedure and queue
// buckets refuse a new registration or queue. The records bucket is bound
// by age only: JetStream buckets refuse writes past their bytes rather
// than drop old entries, and a job's running mark and end are larger than
// its submit record, so a full bucket would leave an accepted job
// "running" for good. The records take about (jobs submitted per age) ×
// (300 bytes + argument + result); a NATS account that requires every
// stream to have a byte limit refuses New.
//
// # Bad input
//
// A job message that does not decode, names another host or queue than
// its subject, is of another version, or whose record is gone is moved to
// p_dead with its reason and terminated: skipped once, never redelivered
// in a loop. A records bucket that is not there (deleted, not yet
// restored) is a store that is away, not a record gone: the message is
// put back for later, and Lookup returns jobs.ErrUnavailable. Submit on a node whose connection is down fails at once with
// jobs.ErrUnavailable, before anything is sent (nats.go would send a
// buffered request after its caller gave up); a Submit whose message
// cannot be published deletes its record again (a purge at its revision).
// If that fails too, the record is read: taken by a runner (or ended),
// the message was stored after all and the Submit succeeds; else, unless
// the server refused the message (jobs.ErrQueueFull, jobs.ErrTooLarge;
// then it will not run unless its id is submitted again, see Records),
// the job may run, and the Submit returns an *OutcomeUnknownError
// (matching ErrOutcomeUnknown and jobs.ErrUnavailable), whose ID names
// it (also an id the dispatcher drew): submit its id again to find out
// (and have it run), or look it up and cancel it. A Submit whose record's
// Create was stored but whose answer was lost leaves the record queued
// without a message: it runs only once submitted again. A job whose record,
// with a kilobyte to spare for its running mark and an end, exceeds the
// server's max payload is refused with jobs.ErrTooLarge: accepted, it
// could neither run nor be cancelled. A result or error that would make
// a job's end exceed it fails the job with jobs.ErrTooLarge instead.
//
// # Goroutines and shutdown
//
// A Backend runs, once its dispatcher has attached it: per host served, a
// watcher of the host's queues and a pull consumer per queue (nats.go's);
// per job running here, the goroutine that runs it (kept for 100 ms
// after it, for the next job) and, while it refreshes the job's lease (a
// third of a lease apart) or looks at the acks of its output items in
// flight (a tenth of a second apart), a timer's; the subscriptions for cancel
// requests and end notices. The
// dispatcher's stop calls Stop (the consumers drain; messages delivered
// meanwhile go back at once) and, once its jobs have ended, Close, which
// waits for them all. Close the NATS connection after the dispatcher, and
// the server last.
//
// # Costs
//
// Measured in bench_test.go (one embedded server, in process, on a
// shared 2-CPU VM): submit on one node → run on another → result of an
// empty job about 0.25 ms (bench/RESULTS.md, run of 2026-12-05 07:12Z):
// Create and Publish on submit; two compare-and-sets, an end marker (no
// ack) and an end notice on the runner; the waiter reads nothing for a
// job submitted through its own backend. The time is the NATS round
// trips' and the server's: the records' JSON takes a few µs (a fast
// path, codec.go). 10,000 jobs of 1 ms from 3 nodes through one queue of
// concurrency 8 at about 3,300 jobs/s, never more than 8 running; a
// job's output followed from another node at about 70,000 items/s.
// Every node listening for end notices gets every job's (one small
// message per job per node).
package jetjobs
