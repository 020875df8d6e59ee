package jetjobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

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
	e, err := b.jobsKV.Get(ctx, tok(id))
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return jobs.Record{}, 0, fmt.Errorf("%w: %q", jobs.ErrNotFound, id)
	case err != nil:
		return jobs.Record{}, 0, unavailable(err)
	}
	env, err := decode("job "+id, e.Value())
	if err != nil {
		return jobs.Record{}, 0, err
	}
	return env.Job, e.Revision(), nil
}

// change applies f to job id's record with compare-and-set, reading it
// again after each conflict, until f declines (false: the record is
// returned as it is) or the write succeeds. f must allow only what the
// job machine allows from the state it sees.
func (b *Backend) change(ctx context.Context, id string, r jobs.Record, rev uint64, f func(*jobs.Record) bool) (jobs.Record, bool, error) {
	for {
		if rev == 0 {
			var err error
			if r, rev, err = b.get(ctx, id); err != nil {
				return r, false, err
			}
		}
		next := r
		if !f(&next) {
			return r, false, nil
		}
		_, err := b.jobsKV.Update(ctx, tok(id), encode(next, 0), rev)
		if err == nil {
			return next, true, nil
		}
		if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return r, false, unavailable(err)
		}
		rev = 0 // another writer came first: read it again
	}
}
