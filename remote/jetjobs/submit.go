package jetjobs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-go/troupe/jobs"
)

// Submit stores r (create-if-absent: an id that exists returns its
// record, created false, having made sure that a job still queued has
// its message: submitted) and publishes its job message to its host's
// queue. A failed publish deletes the record again, so that nothing is
// left half-written (unpublished: the job may be submitted all the same,
// or ErrOutcomeUnknown). Errors: jobs.ErrUnknownHost, jobs.ErrUnknownProcedure
// (no node registered it), jobs.ErrQueueFull (the host's queue holds
// WithMaxQueued jobs, or the queue stream its bytes), jobs.ErrTooLarge
// (the job's record, with room for its running mark and an end without a
// value, would not fit the NATS server's max payload), jobs.ErrUnavailable,
// *OutcomeUnknownError (matching ErrOutcomeUnknown and jobs.ErrUnavailable: the job may run), ErrClosed (matching jobs.ErrClosed), ctx's.
// A connection that is down refuses at once. Cost: two round trips (the record, the message); the first job of a
// host, procedure or queue seen here costs two or three more.
func (b *Backend) Submit(ctx context.Context, r jobs.Record) (jobs.Record, bool, error) {
	if !b.nc.IsConnected() {
		// Refused before anything is sent: a request written while the
		// connection is down waits in its reconnect buffer and would be
		// sent after the caller was told it failed.
		return r, false, fmt.Errorf("%w: not connected to NATS (%s)", jobs.ErrUnavailable, b.nc.Status())
	}
	if err := b.knownProc(ctx, r.Host, r.Procedure); err != nil {
		return r, false, err
	}
	if err := b.listenEnds(ctx); err != nil {
		return r, false, err
	}
	key := tok(r.ID)
	job := encodeJob(&r)
	if limit := int(b.nc.MaxPayload()); len(job)+recordSlack > limit {
		return r, false, fmt.Errorf("%w: job %q: its record (%d bytes) and its end (%d bytes more) must fit the NATS server's max payload (%d bytes)",
			jobs.ErrTooLarge, r.ID, len(job), recordSlack, limit)
	}
	// The queue's concurrency is set only by a Submit that queues its
	// job, as in memory: one that finds its id's job (idempotent, or
	// jobs.ErrConflict) applies no option, and one refused leaves the
	// limit as it was: a queue's consumer that exists gets a new
	// concurrency only once the job's message is stored (later).
	var rev uint64
	for tries := 1; ; tries++ {
		var err error
		rev, err = b.jobsKV.Create(ctx, key, wrap(job, 0, 0))
		if errors.Is(err, jetstream.ErrKeyExists) {
			old, _, err := b.submitted(ctx, r.ID)
			if errors.Is(err, errGone) && tries < maxCreates {
				continue // taken back by its Submit, whose publish failed: create it
			}
			if errors.Is(err, errGone) {
				err = unavailable(err)
			}
			return old, false, err
		}
		if err != nil {
			return r, false, tooLarge(err)
		}
		break
	}
	later, err := b.ensureQueue(ctx, r.Host, r.Queue, r.Concurrency)
	if err != nil {
		return b.unpublished(r, rev, err) // nothing was published: taken back
	}
	msg := b.jobMsg(&r, job, rev)
	b.markFresh(key, rev)
	if _, err := b.publishJob(ctx, msg); err != nil {
		b.markFresh(key, 0)
		return b.unpublished(r, rev, err)
	}
	if later {
		// The job is queued whatever comes of this: if the consumer
		// cannot be reached, it keeps its concurrency, and the next
		// Submit here naming the queue sets it again.
		_ = b.setQueue(ctx, r.Host, r.Queue, r.Concurrency)
	}
	r.Gen = rev
	return r, true, nil
}

// unpublished takes back the record of job r, created at rev, whose
// message's publish failed (err): a purge at that revision, bounded on
// its own (the caller's ctx may be what ended). If the purge fails, the
// record is read: found taken by a runner (or ended) at the job's
// generation, the message was stored after all, and the job is submitted
// (created, no error). Else, unless the server refused the message (or
// it was never sent), it may be stored and the job may run:
// ErrOutcomeUnknown. A record left queued without its message is not run
// unless its id is submitted again (submitted).
func (b *Backend) unpublished(r jobs.Record, rev uint64, err error) (jobs.Record, bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	perr := b.jobsKV.Purge(ctx, tok(r.ID), jetstream.LastRevision(rev))
	cancel()
	if perr == nil {
		return r, false, publishErr(&r, err)
	}
	cur, fate, _ := b.reread(context.Background(), r.ID, rev)
	switch fate {
	case recordWritten:
		// Taken (or cancelled since), or written again by a Submit of
		// its id that published its message (submitted): its message
		// was stored.
		return cur, true, nil
	case recordGone:
		// purged all the same (its answer lost)
		return r, false, publishErr(&r, err)
	}
	return r, false, publishFailed(r.ID, &r, err,
		fmt.Errorf("its message's publish failed (%w), and its record could not be taken back (%w)", err, perr))
}

// recordFate is what became of the record of a job created at a
// revision, as read again (reread).
type recordFate int

const (
	recordUnread    recordFate = iota // the read failed
	recordGone                        // not found, or of another generation: taken back
	recordWritten                     // taken, cancelled, ended, or written again since its creation: its message is stored
	recordAsCreated                   // still queued as created
)

// reread reads the record of job id, created at rev, again, for up to a
// second past ctx's end (ctx may be what ended), and tells what became
// of it. Its error is the read's (nil but for recordGone and
// recordUnread).
func (b *Backend) reread(ctx context.Context, id string, rev uint64) (jobs.Record, recordFate, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	cur, curRev, gen, err := b.get(ctx, id)
	switch {
	case errors.Is(err, jobs.ErrNotFound) || err == nil && gen != rev:
		return cur, recordGone, err
	case err != nil:
		return cur, recordUnread, err
	case cur.State != jobs.Queued || curRev != rev:
		return cur, recordWritten, nil
	}
	return cur, recordAsCreated, nil
}

// jobMsg is the message of job r (encoded: job) of generation rev. Its
// message id names the job and its generation: JetStream stores it once
// within the queue stream's duplicate window (dupWindow), however often
// it is published.
func (b *Backend) jobMsg(r *jobs.Record, job []byte, rev uint64) *nats.Msg {
	return &nats.Msg{Subject: b.runSubject(r.Host, r.Queue), Data: wrap(job, rev, 0), // its generation: rev
		Header: nats.Header{jetstream.MsgIDHeader: {r.ID + "@" + strconv.FormatUint(rev, 10)}}}
}

// publishWait bounds the publish of a job message: stored at all, it is
// stored within it (and clock skew) of its record's creation, which
// findJobMsg relies on.
const publishWait = 10 * time.Second

// publishJob publishes a job message, for up to publishWait.
func (b *Backend) publishJob(ctx context.Context, msg *nats.Msg) (*jetstream.PubAck, error) {
	ctx, cancel := context.WithTimeout(ctx, publishWait)
	defer cancel()
	return b.js.PublishMsg(ctx, msg)
}

// submitted returns the job that has id already, for a Submit of its id
// again (created false). A job still queued as it was created (its record
// never written since) may have no message: a Submit whose publish failed,
// and whose purge of the record failed too (the store away), left it so,
// and it would never run. So its message is published again, with its
// message id: JetStream stores it only if it is not stored already,
// within the queue stream's duplicate window. A record older than half
// the window (by this node's clock; the window covers a record's whole
// life when the retention age is at most 2 minutes) is first looked for
// in the queue (findJobMsg). Once its message is stored, the record is
// written again as it is: a record queued but written since its creation
// has its message, and the Submit that created it, if its own publish
// failed meanwhile, finds its purge at the creation's revision refused,
// and the job queued (unpublished) — rather than take back the record of
// a job returned here. A rewrite that fails is followed by a read of the
// record: written again or taken, the job is returned; still as created
// (or unread), the job may run or be taken back: *OutcomeUnknownError.
// Errors: those of get, of its queue's consumer made if missing
// (jobs.ErrUnavailable), and of a publish the server refused
// (jobs.ErrQueueFull, jobs.ErrTooLarge, jobs.ErrUnavailable: the job stays
// queued without its message; submitting it again tries again);
// *OutcomeUnknownError if the publish failed otherwise (its answer lost:
// the message may be stored, and the job may run); errGone
// if the record is gone (taken back by the Submit that created it:
// Submit creates it again).
func (b *Backend) submitted(ctx context.Context, id string) (jobs.Record, bool, error) {
	old, rev, gen, at, err := b.getAt(ctx, id)
	if errors.Is(err, jobs.ErrNotFound) {
		return old, false, fmt.Errorf("%w: job %q", errGone, id)
	}
	if err != nil || old.State != jobs.Queued || gen != rev {
		return old, false, err // taken, ended, or handed back by its runner: its message is there
	}
	q := old
	q.Gen = 0
	job := encodeJob(&q)
	msg := b.jobMsg(&q, job, rev)
	window := dupWindow(b.cfg.age)
	if window < b.cfg.age && time.Since(at) > window/2 {
		found, err := b.findJobMsg(ctx, msg, at)
		if err != nil || found {
			return old, false, err
		}
	}
	// Its queue's consumer may be missing too (the Submit that created
	// it failed first at ensureQueue): made if so, with the job's
	// concurrency; one that exists is left as it is (this Submit queues
	// no job: it applies no option).
	if _, err := b.ensureQueue(ctx, old.Host, old.Queue, old.Concurrency); err != nil {
		return old, false, err
	}
	if _, err := b.publishJob(ctx, msg); err != nil {
		return old, false, publishFailed(id, &old, err,
			fmt.Errorf("its message was published again and the publish failed (%w): it may be stored", err))
	}
	_, err = b.jobsKV.Update(ctx, tok(id), wrap(job, 0, rev), rev)
	if err == nil {
		return old, false, nil
	}
	// Not written, written meanwhile (taken, cancelled, written again by
	// another Submit of its id, or taken back by the Submit that created
	// it: its message, published here, is then dead-lettered when it
	// comes up), or written with its answer lost: the record tells. Read
	// past ctx's end for a second, as unpublished does (reread).
	cur, fate, gerr := b.reread(ctx, id, rev)
	switch fate {
	case recordGone:
		return old, false, fmt.Errorf("%w: job %q", errGone, id)
	case recordWritten:
		return cur, false, nil // its message is stored, and the record can no longer be taken back
	case recordAsCreated:
		// Still as created: its message is stored, but the Submit that
		// created it may yet take it back. The job may run.
		return old, false, &OutcomeUnknownError{ID: id,
			Err: fmt.Errorf("its message was published, but its record could not be written again (%w)", err)}
	}
	return old, false, &OutcomeUnknownError{ID: id,
		Err: fmt.Errorf("its message was published, but its record could not be written again (%w), nor read (%w)", err, gerr)}
}

// errGone: a record found existing by Create was gone by the time it was
// read (taken back by the Submit that created it). Submit creates it
// again, up to maxCreates times.
var errGone = errors.New("jetjobs: the job's record went as it was read")

// maxCreates bounds a Submit's Creates of its record: each one after the
// first follows a record of its id that was taken back meanwhile.
const maxCreates = 3

// maxDupWindow caps the queue stream's duplicate window: the server keeps
// every message id for the window. A variable for the tests.
var maxDupWindow = 2 * time.Minute

// dupWindow is the queue stream's duplicate window for a retention age.
func dupWindow(age time.Duration) time.Duration { return min(age, maxDupWindow) }

// scanMargin is the clock skew allowed between the servers that lead the
// jobs bucket and the queue stream, for findJobMsg.
const scanMargin = 10 * time.Second

// findJobMsg reports whether job message msg, whose record was created at
// at (the store's clock), is in the queue stream: it reads the messages of
// msg's subject stored from scanMargin before at to publishWait and
// scanMargin after it, one request each, for one with msg's message id.
// Cost: the jobs of its host and queue submitted about then and still in
// the queue. Errors: jobs.ErrUnavailable.
func (b *Backend) findJobMsg(ctx context.Context, msg *nats.Msg, at time.Time) (bool, error) {
	want := msg.Header.Get(jetstream.MsgIDHeader)
	from, until := at.Add(-scanMargin), at.Add(publishWait+scanMargin)
	var seq uint64
	for {
		req := map[string]any{"next_by_subj": msg.Subject}
		if seq == 0 {
			req["start_time"] = from
		} else {
			req["seq"] = seq + 1
		}
		m, err := b.streamGet(ctx, b.cfg.prefix+"_queue", req)
		switch {
		case errors.Is(err, jobs.ErrNotFound):
			return false, nil
		case err != nil:
			return false, err
		case m.Time.After(until):
			return false, nil
		}
		if hdr, err := nats.DecodeHeadersMsg(m.Hdrs); err == nil && hdr.Get(jetstream.MsgIDHeader) == want {
			return true, nil
		}
		seq = m.Seq
	}
}

// recordSlack is the room a submitted job's record keeps under the
// server's max payload for what it gains on its way: its message's
// revision, the running mark (start, node) and an end without a value
// (a cancel, a failure and its error). A result that does not fit is
// finish's.
const recordSlack = 1024

// tooLarge is unavailable, but for a message over the server's max
// payload (its limit lowered since Submit looked): jobs.ErrTooLarge.
func tooLarge(err error) error {
	if errors.Is(err, nats.ErrMaxPayload) {
		return fmt.Errorf("%w: %w", jobs.ErrTooLarge, err)
	}
	return unavailable(err)
}

// refusedPub reports whether err, a job message's publish error, says
// that the message was not stored: the server refused it, or it was
// never sent. Any other failure (a timeout, a connection that dropped)
// may have lost only the answer.
func refusedPub(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) || errors.Is(err, nats.ErrMaxPayload) || errors.Is(err, jetstream.ErrNoStreamResponse)
}

// publishErr is the error of job r's message's publish that failed
// (err): jobs.ErrQueueFull if the queue stream refused it over one of its
// limits (queueFull), else as tooLarge.
func publishErr(r *jobs.Record, err error) error {
	if why, ok := queueFull(err); ok {
		return fmt.Errorf("%w: %s/%s: %s", jobs.ErrQueueFull, r.Host, r.Queue, why)
	}
	return tooLarge(err)
}

// publishFailed is the error of job id's (r's) message's publish that
// failed (err): as publishErr if the message was not stored
// (refusedPub), else *OutcomeUnknownError of id with why (its answer
// lost: the message may be stored, and the job may run).
func publishFailed(id string, r *jobs.Record, err, why error) error {
	if refusedPub(err) {
		return publishErr(r, err)
	}
	return &OutcomeUnknownError{ID: id, Err: why}
}

// knownProc checks that some node registered host's procedure.
func (b *Backend) knownProc(ctx context.Context, host, proc string) error {
	key := procKey(host, proc)
	b.mu.Lock()
	ok, forgot := b.known[key], b.forgot
	b.mu.Unlock()
	if ok {
		return nil
	}
	_, err := b.procs.Get(ctx, key)
	switch {
	case err == nil:
		b.mu.Lock()
		if b.forgot == forgot { // else a failed Serve here may have taken back what it read (unrecord)
			b.known[key] = true
		}
		b.mu.Unlock()
		return nil
	case !errors.Is(err, jetstream.ErrKeyNotFound):
		return unavailable(err)
	}
	lister, err := b.procs.ListKeysFiltered(ctx, tok(host)+".*")
	if err != nil {
		return unavailable(err)
	}
	found := false
	for range lister.Keys() {
		found = true
	}
	_ = lister.Stop()
	if !found {
		return fmt.Errorf("%w: %q", jobs.ErrUnknownHost, host)
	}
	return fmt.Errorf("%w: %q on %s", jobs.ErrUnknownProcedure, proc, host)
}

// ensureQueue makes sure that host's queue has its consumer (the cap
// every node shares: MaxAckPending = concurrency), recorded for the nodes
// that serve host: it makes one that is missing. A job without a queue
// goes to host's consumer without a cap. A consumer that exists with
// another concurrency is left as it is: later says so, and the caller
// sets it (setQueue) once its job is queued, so that a Submit refused
// leaves the limit as it was. Cost: none if this node last set this
// concurrency; else two or three round trips.
func (b *Backend) ensureQueue(ctx context.Context, host, queue string, concurrency int) (later bool, _ error) {
	key := queueKey(host, queue)
	if queue == "" {
		concurrency = -1
	}
	b.mu.Lock()
	have, ok := b.ensured[key]
	b.mu.Unlock()
	if ok && have == concurrency {
		return false, nil
	}
	if queue != "" {
		c, err := b.queue.Consumer(ctx, consumerName(host, queue))
		switch {
		case err == nil:
			if info := c.CachedInfo(); info != nil && info.Config.MaxAckPending != concurrency {
				return true, nil
			}
		case !errors.Is(err, jetstream.ErrConsumerNotFound):
			return false, unavailable(fmt.Errorf("queue %s/%s: %w", host, queue, err))
		}
	}
	return false, b.setQueue(ctx, host, queue, concurrency)
}

// setQueue makes or updates the consumer of host's queue with
// concurrency (-1: no cap), and records it for the nodes serving host.
func (b *Backend) setQueue(ctx context.Context, host, queue string, concurrency int) error {
	_, err := b.queue.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable: consumerName(host, queue), FilterSubject: b.runSubject(host, queue),
		AckPolicy: jetstream.AckExplicitPolicy, AckWait: b.cfg.lease, MaxAckPending: concurrency,
		MaxDeliver: -1, DeliverPolicy: jetstream.DeliverAllPolicy,
	})
	if err != nil {
		return unavailable(fmt.Errorf("queue %s/%s: %w", host, queue, err))
	}
	key := queueKey(host, queue)
	if _, err := b.queues.Put(ctx, key, []byte(strconv.Itoa(concurrency))); err != nil {
		return unavailable(err)
	}
	b.mu.Lock()
	b.ensured[key] = concurrency
	b.mu.Unlock()
	return nil
}

// storeFailed is the JetStream error code of a message its stream did not
// store (the server's JSStreamStoreFailedF); its description says why.
const storeFailed jetstream.ErrorCode = 10077

// fullReasons are the descriptions of a storeFailed that mean the queue
// stream is full (its limits discard new messages), each with what is
// full in Submit's words.
var fullReasons = map[string]string{
	"maximum messages per subject exceeded": "holds its max queued jobs (WithMaxQueued)",
	"maximum bytes exceeded":                "the queue stream holds its max bytes (WithRetention)",
	"maximum messages exceeded":             "the queue stream holds its max messages",
}

// queueFull reports whether err, a job message's publish error, is the
// queue stream's refusal of a message over one of its limits, and which.
func queueFull(err error) (string, bool) {
	var apiErr *jetstream.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode != storeFailed {
		return "", false
	}
	why, ok := fullReasons[apiErr.Description]
	return why, ok
}
