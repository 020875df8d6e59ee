package jetjobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-go/troupe/jobs"
)

// version is the format of records and job messages this code writes and
// reads. A reader meeting another refuses it (*VersionError): a newer
// writer may have changed what the fields mean.
const version = 1

// envelope is a record as stored in the jobs bucket, and a job message as
// published to its queue (which also carries the record's revision at
// submission, so that a runner can mark it running without reading it).
type envelope struct {
	V   int         `json:"v"`
	Rev uint64      `json:"rev,omitempty"`
	Job jobs.Record `json:"job"`
}

func encode(r jobs.Record, rev uint64) []byte {
	b, _ := json.Marshal(envelope{V: version, Rev: rev, Job: r}) // a Record always encodes
	return b
}

// decode reads an envelope; where names it in errors.
func decode(where string, data []byte) (envelope, error) {
	var e envelope
	var probe struct {
		V *int `json:"v"`
	}
	if err := json.Unmarshal(data, &probe); err != nil || probe.V == nil {
		return e, fmt.Errorf("%w: %s: no version", ErrMalformed, where)
	}
	if *probe.V != version {
		return e, &VersionError{Key: where, Version: *probe.V}
	}
	if err := json.Unmarshal(data, &e); err != nil {
		return e, fmt.Errorf("%w: %s: %w", ErrMalformed, where, err)
	}
	if e.Job.ID == "" || e.Job.Host == "" || e.Job.Procedure == "" {
		return e, fmt.Errorf("%w: %s: a record without id, host or procedure", ErrMalformed, where)
	}
	return e, nil
}

// unavailable wraps a store error that is not a refusal.
func unavailable(err error) error {
	if errors.Is(err, jobs.ErrUnavailable) {
		return err
	}
	return fmt.Errorf("%w: %w", jobs.ErrUnavailable, err)
}

// get reads job id's record and its revision. Errors: jobs.ErrNotFound,
// *VersionError, ErrMalformed, jobs.ErrUnavailable.
func (b *Backend) get(ctx context.Context, id string) (jobs.Record, uint64, error) {
	data, rev, _, err := b.leaderGet(ctx, tok(id))
	if err != nil {
		if errors.Is(err, jobs.ErrNotFound) {
			err = fmt.Errorf("%w: %q", jobs.ErrNotFound, id)
		}
		return jobs.Record{}, 0, err
	}
	env, err := decode("job "+id, data)
	if err != nil {
		return jobs.Record{}, 0, err
	}
	return env.Job, rev, nil
}

// leaderGet reads the last value of key in the jobs bucket from its
// stream's leader. A KeyValue's Get is a direct get, which any replica may
// answer: right after a write, a follower may not have it yet, and a job
// that has ended would still look running. Errors: jobs.ErrNotFound (no
// such key, or deleted), jobs.ErrUnavailable.
func (b *Backend) leaderGet(ctx context.Context, key string) ([]byte, uint64, time.Time, error) {
	req, _ := json.Marshal(struct {
		LastBySubject string `json:"last_by_subj"`
	}{"$KV." + b.cfg.prefix + "_jobs." + key})
	msg, err := b.nc.RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET.KV_"+b.cfg.prefix+"_jobs", req)
	if err != nil {
		return nil, 0, time.Time{}, unavailable(err)
	}
	var resp struct {
		Message *struct {
			Seq  uint64    `json:"seq"`
			Time time.Time `json:"time"`
			Hdrs []byte    `json:"hdrs"`
			Data []byte    `json:"data"`
		} `json:"message"`
		Error *struct {
			Code        int    `json:"code"`
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return nil, 0, time.Time{}, unavailable(err)
	}
	switch {
	case resp.Error != nil && resp.Error.Code == 404:
		return nil, 0, time.Time{}, jobs.ErrNotFound
	case resp.Error != nil:
		return nil, 0, time.Time{}, unavailable(fmt.Errorf("jetjobs: get: %s", resp.Error.Description))
	case resp.Message == nil:
		return nil, 0, time.Time{}, unavailable(errors.New("jetjobs: get: an empty answer"))
	case bytes.Contains(resp.Message.Hdrs, []byte("KV-Operation")): // a delete or purge marker
		return nil, 0, time.Time{}, jobs.ErrNotFound
	}
	return resp.Message.Data, resp.Message.Seq, resp.Message.Time, nil
}

// change applies f to job id's record with compare-and-set, starting
// from r at revision rev if rev is not 0 (else reading it), reading it
// again after each conflict, until f declines (false: the record is
// returned as it is) or the write succeeds. It returns the record and its
// revision. f must allow only what the job machine allows from the state
// it sees.
func (b *Backend) change(ctx context.Context, id string, r jobs.Record, rev uint64, f func(*jobs.Record) bool) (jobs.Record, uint64, bool, error) {
	for {
		if rev == 0 {
			var err error
			if r, rev, err = b.get(ctx, id); err != nil {
				return r, 0, false, err
			}
		}
		next := r
		if !f(&next) {
			return r, rev, false, nil
		}
		nrev, err := b.jobsKV.Update(ctx, tok(id), encode(next, 0), rev)
		if err == nil {
			return next, nrev, true, nil
		}
		if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return r, 0, false, unavailable(err)
		}
		rev = 0 // another writer came first: read it again
	}
}

// tracked is the record of a job run here as this node last wrote or
// read it, so that its next change needs no read first. Safe for
// concurrent use (the lease keeper, the end).
type tracked struct {
	b   *Backend
	id  string
	mu  sync.Mutex // guards rec and rev; held across a change
	rec jobs.Record
	rev uint64
}

func (t *tracked) change(ctx context.Context, f func(*jobs.Record) bool) (jobs.Record, bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r, rev, ok, err := t.b.change(ctx, t.id, t.rec, t.rev, f)
	t.rec, t.rev = r, rev // rev 0 after an error: read it again next time
	return r, ok, err
}
