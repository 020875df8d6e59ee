package jetjobs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-go/troupe/jobs"
)

// Running a job, and the rule for a node that dies while it runs one.
//
// A job message stays in its queue, unacknowledged, from its delivery to
// this node until the job's handler has really returned: it holds one of
// its queue consumer's MaxAckPending slots meanwhile, so a queue's
// concurrency holds across the cluster even for handlers that overrun a
// cancel. The node refreshes the message's lease (an in-progress ack) and
// rewrites the job's record (its retention) a third of a lease apart (of
// the retention age, if shorter).
//
// The runner marks the record running (compare-and-set from queued) with
// its start time and node before it runs the job. A job runs at most
// once (harp's rule): if its message comes again — its node died, or was
// cut off for longer than a lease — and the record says running, the job
// is failed with jobs.ErrWorkerLost by the node that gets it, and never
// run again. A record still queued (the first node died before marking
// it) runs; an ended one is acknowledged and dropped.

// Headers of output messages.
const (
	hdrSeq    = "Jobs-Seq"    // an item's number
	hdrEnd    = "Jobs-End"    // the end marker
	hdrGen    = "Jobs-Gen"    // the job's generation (see envelope), on its items, end marker, cancel requests
	hdrReason = "Jobs-Reason" // a dead letter's reason
	hdrFrom   = "Jobs-Subject"
)

// take is the queue consumers' handler: each job runs on a goroutine of
// its own, a runner — one idle since its last job if there is one, else
// a new one.
func (b *Backend) take(msg jetstream.Msg) {
	select {
	case b.handoff <- msg:
		return
	default:
	}
	b.mu.Lock()
	if b.stopped {
		b.mu.Unlock()
		_ = msg.Nak() // for another node
		return
	}
	b.work.Add(1)
	b.mu.Unlock()
	go b.runner(msg)
}

// runnerIdle is how long a runner waits for another job after its last.
// A runner kept keeps its stack, grown by its jobs (JSON, NATS requests,
// the job's own call): a new goroutine grows its stack again, copying it
// two or three times per job.
const runnerIdle = 100 * time.Millisecond

// runner handles msg, then the messages handed to it, until it has waited
// runnerIdle for one or the backend stops.
func (b *Backend) runner(msg jetstream.Msg) {
	defer b.work.Done()
	idle := time.NewTimer(runnerIdle)
	defer idle.Stop()
	for {
		b.handle(msg)
		idle.Reset(runnerIdle)
		select {
		case msg = <-b.handoff:
		case <-idle.C:
			return
		case <-b.stopping:
			return
		}
		b.mu.Lock()
		stopped := b.stopped
		b.mu.Unlock()
		if stopped { // handed over as the backend stopped
			_ = msg.Nak()
			return
		}
	}
}

// storeCtx bounds a store operation of a runner.
func (b *Backend) storeCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), b.cfg.lease)
}

// handle runs the job of msg, or settles it.
func (b *Backend) handle(msg jetstream.Msg) {
	host, queue, ok := b.parseRun(msg.Subject())
	env, err := decode(msg.Subject(), msg.Data())
	switch {
	case !ok:
		err = fmt.Errorf("%w: subject %q", ErrMalformed, msg.Subject())
	case err == nil && (env.Job.Host != host || env.Job.Queue != queue):
		err = fmt.Errorf("%w: job %q of %s/%s on subject %q", ErrMalformed, env.Job.ID, env.Job.Host, env.Job.Queue, msg.Subject())
	}
	if err != nil {
		b.deadLetter(msg, err)
		return
	}
	// Registered before the record says running, so that a cancel request
	// that follows the mark at once finds the job (onCancel).
	gen := env.gen(env.Rev)
	jctx, rj, ok := b.register(env.Job.ID, gen, msg)
	if !ok {
		rj.redelivered(msg) // its consumer's leader changed: the run goes on here
		return
	}
	defer b.unregister(env.Job.ID, gen, rj) // from here on, rj.delivery(): the latest
	ctx, cancel := b.storeCtx()
	defer cancel()
	now := time.Now().Round(0) // as stored
	// A job whose procedure is not registered here is not marked: it is
	// put back for a node serving host that has it (some node registered
	// it: Submit checked), once its record is read and found queued. One
	// running on a node that died gets the lost rule here all the same.
	here := b.runsHere(host, env.Job.Procedure)
	mark := func(c *jobs.Record) bool {
		if c.State != jobs.Queued || !here {
			return false
		}
		c.State, c.Started, c.Node = jobs.Running, now, b.cfg.node
		return true
	}
	from, fromRev := env.Job, env.Rev
	if !here {
		from, fromRev = jobs.Record{}, 0 // the record as stored, not as in the message
	}
	r, rev, _, _, ok, err := b.change(ctx, env.Job.ID, gen, from, fromRev, mark)
	// The mark's answer lost (the store away for a moment): it may be
	// stored all the same. Find out here, reading the record again
	// storeRetry apart for up to a lease, the message's lease kept: put
	// back, the message could come to another node serving the host,
	// which would take the mark for that of a node that stopped renewing
	// its lease, and fail the job, never run, as lost.
	for err != nil && errors.Is(err, jobs.ErrUnavailable) && pause(ctx, storeRetry) {
		_ = rj.delivery().InProgress()
		r, rev, _, _, ok, err = b.change(ctx, env.Job.ID, gen, jobs.Record{}, 0, mark)
		if err == nil && !ok && b.ranHere(&r, now) {
			ok = true // its own mark, stored though its answer was lost
		}
	}
	unsure, had := b.takeMark(env.Job.ID)
	switch {
	case err != nil && errors.Is(err, jobs.ErrUnavailable):
		b.putMark(env.Job.ID, now) // the mark may be stored all the same
	case err == nil && !ok && had && b.ranHere(&r, unsure):
		// This node's own mark, stored though its answer was lost: the
		// job never ran. Run it now, not fail it as lost.
		ok = true
	}
	if err == nil && !ok && !here && r.State == jobs.Queued {
		_ = rj.delivery().NakWithDelay(elsewhereDelay) // for a node that has its procedure
		return
	}
	if err == nil && !ok && r.State == jobs.Running {
		// Started by a delivery before this one. Lost if its node has not
		// rewritten the record for a lease; else (a consumer's leader
		// changed, and redelivered early) not yet: look again later. A
		// read that fails says nothing of its node: later too.
		_, _, written, werr := b.lastWrite(ctx, tok(r.ID))
		switch {
		case werr != nil && errors.Is(werr, jobs.ErrUnavailable):
			_ = rj.delivery().NakWithDelay(b.cfg.lease / 3) // the store is away: later
			return
		case werr == nil && time.Since(written) < b.cfg.lease:
			// Looked at again once a lease has passed since that write,
			// when its job is lost unless written again meanwhile; not
			// sooner than a tenth of a lease (clocks differ).
			_ = rj.delivery().NakWithDelay(max(b.cfg.lease-time.Since(written), b.cfg.lease/10))
			return
		}
		node, started := r.Node, r.Started // that run's (a node's name may be another's too)
		var data []byte
		r, _, _, data, ok, err = b.change(ctx, r.ID, gen, r, rev, func(c *jobs.Record) bool {
			if c.State != jobs.Running || c.Node != node || !c.Started.Equal(started) {
				return false
			}
			c.State, c.Ended = jobs.Failed, time.Now()
			c.Error = jobs.Remote(fmt.Errorf("%w: node %s stopped renewing its lease", jobs.ErrWorkerLost, c.Node))
			return true
		})
		if err == nil && ok {
			b.announceEnd(r, gen, data)
			_ = rj.delivery().Ack()
			return
		}
		if err == nil && !r.State.Terminal() {
			// That run went meanwhile: handed back (queued: it runs when
			// its message comes again), or marked by another run, which
			// keeps the message's lease. Acknowledged, the one message of
			// the job would be gone while it has not ended.
			if r.State == jobs.Queued {
				_ = rj.delivery().Nak()
			} else {
				_ = rj.delivery().NakWithDelay(b.cfg.lease / 2)
			}
			return
		}
	}
	switch {
	case err != nil && errors.Is(err, jobs.ErrUnavailable):
		_ = rj.delivery().NakWithDelay(b.cfg.lease / 3) // the store is away: later
		return
	case err != nil:
		b.deadLetter(rj.delivery(), err) // its record is gone (retention) or unreadable
		return
	case !ok: // ended: cancelled while queued, or ended before its ack was lost
		if b.markedHere(&r, now) || had && b.markedHere(&r, unsure) {
			// Ended (cancelled) under this node's own mark, whose answer
			// was lost: never run, so no item can follow the marker, and
			// the node that cancelled it left the marker to this one.
			b.endOutput(r.ID, gen, r.State)
		}
		_ = rj.delivery().Ack()
		return
	}
	b.run(jctx, rj, &tracked{b: b, id: r.ID, gen: gen, rec: r, rev: rev})
}

// register records job id of generation gen as running here, under a
// context that onCancel cancels, unless it is already (false: that
// job's). The caller unregisters it.
func (b *Backend) register(id string, gen uint64, msg jetstream.Msg) (context.Context, *runningJob, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	key := runKey{id, gen}
	if rj := b.running[key]; rj != nil {
		return nil, rj, false
	}
	jctx, cancel := context.WithCancelCause(context.Background())
	rj := &runningJob{cancel: cancel, msg: msg}
	b.running[key] = rj
	return jctx, rj, true
}

// unregister forgets job id's run rj, and cancels its context.
func (b *Backend) unregister(id string, gen uint64, rj *runningJob) {
	b.mu.Lock()
	if key := (runKey{id, gen}); b.running[key] == rj {
		delete(b.running, key)
	}
	b.mu.Unlock()
	rj.cancel(nil)
}

// runKey names a job running here: its id and generation.
type runKey struct {
	id  string
	gen uint64
}

// run runs the job of record t, marked running here, registered as rj
// under jctx.
func (b *Backend) run(jctx context.Context, rj *runningJob, t *tracked) {
	r := t.rec
	started := r.Started // this run's mark's: the record is this run's while it says so
	cancel := rj.cancel
	keep := b.keepLease(jctx, rj, t)
	pub := b.newPublisher(r.ID, t.gen)
	var end jobs.State // the job's end as stored; set before endedc closes
	stored := true     // the end is in the store (or nothing can be: no record)
	endedc := make(chan struct{})
	ended := func(r jobs.Record) {
		pub.flush() // the items so far, stored before the record says ended
		end, stored = b.finish(t, r, started)
		close(endedc)
	}
	err := b.x.Run(jctx, r, pub.emit, ended)
	switch {
	case errors.Is(err, jobs.ErrClosed): // this dispatcher is stopping: hand it back
		// Queued again, for another node; written again while the store
		// is away (for up to a lease): a record left running here, never
		// run, would be failed as lost by the node that gets the message.
		// A job that ended under this run's mark meanwhile (a cancel,
		// whose node leaves the end marker to the runner) gets its
		// marker here: its handler never ran, so no item can follow it.
		ctx, cancelStore := b.storeCtx()
		var now jobs.Record
		var err error
		for {
			now, _, _, err = t.change(ctx, func(c *jobs.Record) bool {
				if !b.ranHere(c, r.Started) { // read again (an answer lost): maybe another's mark
					return false
				}
				c.State, c.Started, c.Node = jobs.Queued, time.Time{}, ""
				return true
			})
			if err == nil || !errors.Is(err, jobs.ErrUnavailable) || !pause(ctx, storeRetry) {
				break
			}
		}
		cancelStore()
		cancel(nil)
		keep.stop()
		pub.stop()
		if err == nil && now.State.Terminal() && b.markedHere(&now, r.Started) {
			b.endOutput(r.ID, t.gen, now.State)
			_ = rj.delivery().Ack() // it has ended
			return
		}
		_ = rj.delivery().Nak()
		return
	case err != nil: // not runnable here: its procedure, its args
		r.State, r.Ended, r.Error = jobs.Failed, time.Now(), jobs.Remote(err)
		ended(r)
	}
	// The end marker, once the handler has returned: no item can follow
	// it. Ended may still run on a watchdog's goroutine; an item sent as
	// the job was cancelled may have come after its flush.
	<-endedc
	pub.stop()
	pub.flush()
	// With its end not stored, the record still says running here:
	// acknowledged, its message would never come back, and the job would
	// never settle. Left unacknowledged, it comes back a lease after its
	// last refresh, and the node that gets it fails the job as lost (and
	// ends its output: a marker written here would name an end not stored).
	// A record that another run has marked is that run's: its message
	// and its output too.
	if stored {
		b.endOutput(r.ID, t.gen, end)
	}
	cancel(nil)
	keep.stop()
	if stored {
		_ = rj.delivery().Ack()
	}
}

// ranHere reports whether c says running on this node from started: a
// run of this node's, marked at started. The node's name alone does not
// say it: another node may have been started under the same name
// (WithNode; a node restarted while its old process lingers, as
// remote.WithName allows), and the job handed back and marked by it.
func (b *Backend) ranHere(c *jobs.Record, started time.Time) bool {
	return c.State == jobs.Running && b.markedHere(c, started)
}

// markedHere reports whether c bears this node's mark of started, in
// whatever state (see ranHere): a record ended under that mark keeps it.
func (b *Backend) markedHere(c *jobs.Record, started time.Time) bool {
	return c.Node == b.cfg.node && c.Started.Equal(started)
}

// maxMarks bounds the marks kept whose outcome is unknown: past it, they
// are forgotten (such a job is failed as lost, as before its mark).
const maxMarks = 1024

// putMark records that this node marked job id running, starting at
// started, and does not know whether the mark was stored.
func (b *Backend) putMark(id string, started time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.marks) >= maxMarks {
		clear(b.marks)
	}
	b.marks[id] = started
}

// takeMark returns and forgets the start of job id's mark of unknown
// outcome, if there is one.
func (b *Backend) takeMark(id string) (time.Time, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	started, ok := b.marks[id]
	delete(b.marks, id)
	return started, ok
}

// runningJob is a job running here, or being marked running (registered
// first, so that a cancel request that follows the mark finds it): its
// cancel and its message's latest delivery (the one to refresh and
// acknowledge).
type runningJob struct {
	cancel context.CancelCauseFunc
	mu     sync.Mutex // guards msg
	msg    jetstream.Msg
}

func (rj *runningJob) delivery() jetstream.Msg {
	rj.mu.Lock()
	defer rj.mu.Unlock()
	return rj.msg
}

func (rj *runningJob) redelivered(msg jetstream.Msg) {
	rj.mu.Lock()
	rj.msg = msg
	rj.mu.Unlock()
	_ = msg.InProgress()
}

// finish stores the end of a job run here, marked at started — unless it
// has ended already (a cancel from another node came first: the first
// end stands), or another run has marked it since (its end is that
// run's to store: false) — and announces it. It returns the end stored,
// and whether it is stored: a store that is away is tried again,
// storeRetry apart, for up to a lease (false after that: r's state; true
// also if the record is gone or unreadable, as nothing can be stored
// then). An end whose result or
// error would make the record exceed the server's max payload is stored
// as a failure with jobs.ErrTooLarge. The end marker is run's,
// after the handler has returned.
func (b *Backend) finish(t *tracked, r jobs.Record, started time.Time) (jobs.State, bool) {
	ctx, cancel := b.storeCtx()
	defer cancel()
	r.Node = b.cfg.node
	shrunk := false // r's result or error replaced by ErrTooLarge
	for {
		next, data, ok, err := t.change(ctx, func(c *jobs.Record) bool {
			if !b.ranHere(c, started) { // ended, or another run's
				return false
			}
			c.State, c.Ended, c.Value, c.Error, c.Node = r.State, r.Ended, r.Value, r.Error, r.Node
			return true
		})
		switch {
		case err == nil && ok:
			b.notifyEnd(next.ID, data)
			return next.State, true
		case err == nil:
			return next.State, next.State.Terminal()
		case errors.Is(err, nats.ErrMaxPayload) && !shrunk:
			// Its result (or error) makes the record too large to store
			// (Submit kept room for an end without one): the job fails.
			size := len(r.Value)
			if r.Error != nil {
				size += len(r.Error.Error())
			}
			r.State, r.Value, shrunk = jobs.Failed, nil, true
			r.Error = jobs.Remote(fmt.Errorf("%w: the job's end (a result or error of %d bytes) does not fit the NATS server's max payload (%d bytes)",
				jobs.ErrTooLarge, size, b.nc.MaxPayload()))
			continue
		case !errors.Is(err, jobs.ErrUnavailable):
			return r.State, true
		}
		if !pause(ctx, storeRetry) {
			return r.State, false
		}
	}
}

// pause waits for d, and reports whether ctx is still live then.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return ctx.Err() == nil
	case <-ctx.Done():
		return false
	}
}

// storeRetry is how long finish waits before it writes a job's end again
// after the store could not be reached.
const storeRetry = 100 * time.Millisecond

// announceEnd ends the output of a job of generation gen that no runner
// will end (a queued job cancelled, a running one failed as lost) and
// wakes those who await it. Called by whoever wrote its end, with the
// envelope it wrote.
func (b *Backend) announceEnd(r jobs.Record, gen uint64, data []byte) {
	b.endOutput(r.ID, gen, r.State)
	b.notifyEnd(r.ID, data)
}

// endOutput writes the end marker of job id of generation gen, naming its
// end. Only one writer
// per job: its runner, after its last item is stored (run); or, for a
// job that has none, whoever ended it (announceEnd). A marker written
// while a runner still sends would hide its last items from followers,
// who stop at the marker.
func (b *Backend) endOutput(id string, gen uint64, end jobs.State) {
	g := strconv.FormatUint(gen, 10)
	m := &nats.Msg{Subject: b.outSubject(id), Header: nats.Header{hdrEnd: {string(end)}, hdrGen: {g},
		jetstream.MsgIDHeader: {id + "@" + g + "/end"}}}
	// Published without a reply subject: the output stream stores it
	// (once: its message id) and sends no ack, which nobody read — the
	// marker is not awaited (its items were, by the flush before it).
	// One that is lost (its stream away, or without a leader) or never
	// written (its runner died) is made up for by Output, which ends the
	// idle output of an ended job.
	_ = b.nc.PublishMsg(m)
}

// notifyEnd wakes those who await job id, with the envelope of its end
// as stored.
func (b *Backend) notifyEnd(id string, data []byte) {
	_ = b.nc.Publish(b.endSubject(id), data)
}

// deadLetter moves a job message that cannot run to the dead-letter
// stream, with why, and takes it out of its queue: a bad message is
// skipped once, never redelivered in a loop.
func (b *Backend) deadLetter(msg jetstream.Msg, why error) {
	reason := "malformed"
	switch {
	case errors.Is(why, ErrVersion):
		reason = "version"
	case errors.Is(why, jobs.ErrNotFound):
		reason = "not_found"
	}
	ctx, cancel := b.storeCtx()
	defer cancel()
	dl := &nats.Msg{Subject: b.deadSubject(reason), Data: msg.Data(),
		Header: nats.Header{hdrReason: []string{why.Error()}, hdrFrom: []string{msg.Subject()}}}
	if _, err := b.js.PublishMsg(ctx, dl); err != nil {
		_ = msg.NakWithDelay(b.cfg.lease) // the dead-letter stream is away: later
		return
	}
	_ = msg.Term()
}

// onCancel serves the cancel requests for the jobs running here: the
// job's id, its generation in the Jobs-Gen header. A request without one
// (from a node of before generations) cancels the runs of any generation.
func (b *Backend) onCancel(m *nats.Msg) {
	id := string(m.Data)
	var gen uint64
	if m.Header != nil {
		gen, _ = strconv.ParseUint(m.Header.Get(hdrGen), 10, 64)
	}
	var rjs []*runningJob
	b.mu.Lock()
	for key, rj := range b.running {
		if key.id == id && (gen == 0 || key.gen == gen) {
			rjs = append(rjs, rj)
		}
	}
	b.mu.Unlock()
	reply := []byte("0")
	for _, rj := range rjs {
		rj.cancel(jobs.ErrCancelled)
		reply = []byte("1")
	}
	_ = m.Respond(reply)
}
