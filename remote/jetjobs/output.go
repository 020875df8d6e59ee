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

// Lookup returns job id's record. Errors: jobs.ErrNotFound (never
// submitted, or past its retention), *VersionError, jobs.ErrUnavailable.
// One round trip.
func (b *Backend) Lookup(ctx context.Context, id string) (jobs.Record, error) {
	r, _, err := b.get(ctx, id)
	return r, err
}

// Output reads job id's output with an ordered consumer of its subject,
// from its first item kept, and calls yield with each item until the end
// marker (nil), yield's false (nil) or ctx's end. The ordered consumer
// resumes after its server restarts from the last sequence it delivered:
// no item is lost or repeated. If the end marker never comes (the node
// that ended the job died in between), the job's ended record ends the
// output after two idle rechecks. Errors: jobs.ErrNotFound (no record
// any more), jobs.ErrUnavailable, ctx's.
func (b *Backend) Output(ctx context.Context, id string, yield func(jobs.OutputItem) bool) error {
	subj := b.outSubject(id)
	lastRead := uint64(0) // the stream sequence of the last message read
	cons, err := b.out.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{subj}})
	if err != nil {
		return unavailable(err)
	}
	it, err := cons.Messages(jetstream.PullExpiry(pullExpiry)) // short pulls: a lost server is noticed soon
	if err != nil {
		return unavailable(err)
	}
	defer it.Stop()
	// Items come in order but for one sent again after a failed publish:
	// those ahead of the next number wait here (a few, briefly).
	next := uint64(0)
	ahead := map[uint64][]byte{}
	deliver := func(seq uint64, v []byte) bool {
		if seq < next {
			return true // stored twice
		}
		if seq > next {
			ahead[seq] = v
			if len(ahead) <= maxInFlight {
				return true
			}
			seq = min(slices.Min(slices.Collect(maps.Keys(ahead))), seq) // give up on the gap
			v = ahead[seq]
		}
		delete(ahead, seq)
		next = seq + 1
		if !yield(jobs.OutputItem{Seq: seq, Value: v}) {
			return false
		}
		for {
			w, ok := ahead[next]
			if !ok {
				return true
			}
			delete(ahead, next)
			if !yield(jobs.OutputItem{Seq: next, Value: w}) {
				return false
			}
			next++
		}
	}
	flushAhead := func() {
		keys := slices.Sorted(maps.Keys(ahead))
		for _, k := range keys {
			if !yield(jobs.OutputItem{Seq: k, Value: ahead[k]}) {
				return
			}
		}
	}
	idleEnded := 0
	for {
		wctx, cancel := context.WithTimeout(ctx, recheck)
		msg, err := it.Next(jetstream.NextContext(wctx))
		cancel()
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, jetstream.ErrMsgIteratorClosed):
			return unavailable(err)
		case err != nil: // nothing for a while
			r, lerr := b.Lookup(ctx, id)
			if errors.Is(lerr, jobs.ErrNotFound) {
				return lerr
			}
			if lerr == nil && r.State.Terminal() {
				// Ended, and nothing came: done if the subject holds
				// nothing past what was read (its end marker was never
				// written); else the consumer is catching up.
				last, gerr := b.out.GetLastMsgForSubject(ctx, subj)
				if gerr == nil && last.Sequence > lastRead {
					continue
				}
				if idleEnded++; idleEnded >= 2 {
					flushAhead()
					return nil
				}
			}
			continue
		}
		idleEnded = 0
		if md, err := msg.Metadata(); err == nil {
			lastRead = md.Sequence.Stream
		}
		h := msg.Headers()
		if h.Get(hdrEnd) != "" {
			flushAhead()
			return nil
		}
		seq, perr := strconv.ParseUint(h.Get(hdrSeq), 10, 64)
		if perr != nil {
			continue // not an item of ours
		}
		if !deliver(seq, msg.Data()) {
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
			if (f.Queue == "" || r.Queue == f.Queue) && (f.Host == "" || r.Host == f.Host) &&
				(f.Procedure == "" || r.Procedure == f.Procedure) {
				out = append(out, r)
			}
		}
	}
}
