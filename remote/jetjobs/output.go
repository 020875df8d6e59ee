package jetjobs

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-go/troupe/jobs"
)

// recheck is how long Await and Output wait for news before they read the
// job's record again (a notice lost with a node, or an end marker never
// written, costs at most this).
const recheck = time.Second

// gapWait is how long Output waits for a missing item (sent again after
// a failed publish: within two acks' waits while the stream is there)
// before it gives up on it (dropped by the stream's limits: it never
// comes).
const gapWait = 3 * ackWait

// Lookup returns job id's record, its Gen set. Errors: jobs.ErrNotFound (never
// submitted, or past its retention), *VersionError, ErrMalformed,
// jobs.ErrUnavailable.
// One round trip.
func (b *Backend) Lookup(ctx context.Context, id string) (jobs.Record, error) {
	r, _, _, err := b.get(ctx, id)
	return r, err
}

// Output reads job id's output with an ordered consumer of its subject,
// from its first item kept, and calls yield with each item until the end
// marker (nil), yield's false (nil) or ctx's end. The ordered consumer
// resumes after its server restarts from the last sequence it delivered:
// no item is lost or repeated. If the end marker never comes (the node
// that ended the job died in between; a cancelled job's runner died or
// its handler overran the cancel: only the runner ends a running job's
// output), the job's ended record ends the output after two idle
// rechecks. The job is the one of generation gen (a record's Gen), or if
// gen is 0 the one id names as Output begins (its record is read first):
// the items and end marker of an earlier job of the same id
// (past its retention, though its output may outlast its record for a
// moment) are skipped, by their generation. caughtUp is called once the
// messages of the output's subject stored as Output began (up to the
// last one's stream sequence, read first) have been read and their items
// yielded (a gap among them given up at once: see catchUp), or, if some were dropped meanwhile by the
// stream's limits, once nothing more is stored; at once if there were
// none. Errors: jobs.ErrNotFound (no record, or that of a newer job of
// the same id), jobs.ErrUnavailable, ctx's.
func (b *Backend) Output(ctx context.Context, id string, gen uint64, caughtUp func(), yield func(jobs.OutputItem) bool) error {
	_, _, gen, err := b.getGen(ctx, id, gen)
	if err != nil {
		return err
	}
	subj := b.outSubject(id)
	target := uint64(0) // the stream sequence of the last message stored now (0: none)
	if last, err := b.out.GetLastMsgForSubject(ctx, subj); err == nil {
		target = last.Sequence
	} else if !errors.Is(err, jetstream.ErrMsgNotFound) {
		return unavailable(err)
	}
	lastRead := uint64(0) // the stream sequence of the last message read
	var it jetstream.MessagesContext
	// open (re)opens the reader after the last message read: nats.go's
	// ordered consumer resets itself after most faults, but not all (a
	// server lost at a bad time can leave it stuck).
	open := func() error {
		if it != nil {
			it.Stop()
			it = nil
		}
		cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{subj}}
		if lastRead > 0 {
			cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, lastRead+1
		}
		octx, cancel := context.WithTimeout(ctx, recheck)
		defer cancel()
		cons, err := b.out.OrderedConsumer(octx, cfg)
		if err != nil {
			return unavailable(err)
		}
		if it, err = cons.Messages(jetstream.PullExpiry(pullExpiry)); err != nil { // short pulls: a lost server is noticed soon
			return unavailable(err)
		}
		return nil
	}
	if err := open(); err != nil {
		return err
	}
	defer func() {
		if it != nil {
			it.Stop()
		}
	}()
	// Items come in order but for one sent again after a failed publish:
	// those ahead of the next number wait here (a few, briefly). A gap
	// is given up (its items come as nil to the dispatcher) once
	// maxInFlight items wait behind it, or the first has waited gapWait:
	// an item dropped by the stream's limits never comes.
	next := uint64(0)
	ahead := map[uint64][]byte{}
	var heldSince time.Time // when the oldest wait in ahead began
	drain := func() bool {  // yields the items from next on held ahead
		for {
			w, ok := ahead[next]
			if !ok {
				if len(ahead) > 0 {
					heldSince = time.Now()
				}
				return true
			}
			delete(ahead, next)
			if !yield(jobs.OutputItem{Seq: next, Value: w}) {
				return false
			}
			next++
		}
	}
	skip := func() bool { // gives up the gap before the first item ahead
		next = slices.Min(slices.Collect(maps.Keys(ahead)))
		return drain()
	}
	deliver := func(seq uint64, v []byte) bool {
		if seq < next {
			return true // stored twice
		}
		if seq == next {
			ahead[seq] = v
			return drain()
		}
		if len(ahead) == 0 {
			heldSince = time.Now()
		}
		ahead[seq] = v
		if len(ahead) <= maxInFlight && time.Since(heldSince) < gapWait {
			return true
		}
		return skip()
	}
	// Once the messages stored as Output began are read, a gap among
	// their items is given up at once (the dispatcher places its readers
	// then, and a gap waited for would delay it by gapWait): its items
	// were dropped by the stream's limits, or (rarely) are being sent
	// again after a failed publish, and then come as nil.
	caught := false
	catchUp := func(nothingMore bool) bool { // calls caughtUp once the target is read and its items yielded
		if caught || (lastRead < target && !nothingMore) {
			return true
		}
		for len(ahead) > 0 {
			if !skip() {
				return false
			}
		}
		caught = true
		caughtUp()
		return true
	}
	catchUp(false)
	flushAhead := func() {
		keys := slices.Sorted(maps.Keys(ahead))
		for _, k := range keys {
			if !yield(jobs.OutputItem{Seq: k, Value: ahead[k]}) {
				return
			}
		}
	}
	idleEnded, behind := 0, 0
	for {
		if it == nil { // a reopen failed: the server is away
			t := time.NewTimer(recheck / 4)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			}
			_ = open()
			continue
		}
		wctx, cancel := context.WithTimeout(ctx, recheck)
		msg, err := it.Next(jetstream.NextContext(wctx))
		timedOut := wctx.Err() != nil
		cancel()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil && !timedOut: // the reader broke: open it again
			_ = open()
			continue
		case err != nil && len(ahead) > 0 && time.Since(heldSince) >= gapWait: // nothing for a while, a gap
			if !skip() {
				return nil
			}
			if !catchUp(false) {
				return nil
			}
			continue
		case err != nil: // nothing for a while
			// More stored than read: the reader is stuck; if it stays
			// so, open it again.
			last, gerr := b.out.GetLastMsgForSubject(ctx, subj)
			if gerr == nil && last.Sequence > lastRead {
				if behind++; behind >= 2 {
					behind = 0
					_ = open()
				}
				continue
			}
			// Nothing more stored (what was has been read, or dropped by
			// the stream's limits): caught up; done once the job has ended
			// (its end marker was never written).
			if !catchUp(gerr == nil || errors.Is(gerr, jetstream.ErrMsgNotFound)) {
				return nil
			}
			r, _, _, lerr := b.getGen(ctx, id, gen)
			if errors.Is(lerr, jobs.ErrNotFound) {
				return lerr
			}
			if lerr == nil && r.State.Terminal() {
				if idleEnded++; idleEnded >= 2 {
					flushAhead()
					return nil
				}
			}
			continue
		}
		idleEnded, behind = 0, 0
		if md, err := msg.Metadata(); err == nil {
			lastRead = md.Sequence.Stream
		}
		h := msg.Headers()
		if g := h.Get(hdrGen); g != "" && g != strconv.FormatUint(gen, 10) {
			if !catchUp(false) {
				return nil
			}
			continue // an earlier job's, of the same id
		}
		if h.Get(hdrEnd) != "" {
			flushAhead()
			return nil
		}
		seq, perr := strconv.ParseUint(h.Get(hdrSeq), 10, 64)
		if perr != nil {
			if !catchUp(false) {
				return nil
			}
			continue // not an item of ours
		}
		if !deliver(seq, msg.Data()) || !catchUp(false) {
			return nil
		}
	}
}

// List returns the records f selects by queue, host and procedure (the
// dispatcher filters states and applies the limit): it reads the whole
// bucket with one watcher. O(jobs retained).
func (b *Backend) List(ctx context.Context, f jobs.Filter) ([]jobs.Record, error) {
	w, err := b.jobsKV.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, unavailable(err)
	}
	defer func() { _ = w.Stop() }()
	var out []jobs.Record
	for {
		select {
		case <-ctx.Done():
			return nil, unavailable(ctx.Err())
		case e, ok := <-w.Updates():
			if !ok {
				return nil, unavailable(fmt.Errorf("jetjobs: list: watcher stopped"))
			}
			if e == nil {
				return out, nil
			}
			env, err := decode(e.Key(), e.Value())
			if err != nil {
				continue // a record of another version is not listed
			}
			r := env.Job
			r.Gen = env.gen(e.Revision())
			if (f.Queue == "" || r.Queue == f.Queue) && (f.Host == "" || r.Host == f.Host) &&
				(f.Procedure == "" || r.Procedure == f.Procedure) {
				out = append(out, r)
			}
		}
	}
}
