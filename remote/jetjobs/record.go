package jetjobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
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
//
// Gen is the job's generation: the revision its record was created at
// (a stream sequence of the bucket's: never used twice). An id is free
// again once its record is past its retention age, so the id alone does
// not name one job: every message about a job carries its generation,
// and its readers drop those of another. A record as created has no Gen
// (its revision is its generation); every later write of it carries it.
// A job message's generation is its Rev. Output items and end markers
// carry it in the Jobs-Gen header (and in their message ids), cancel
// requests too; end notices are envelopes. A message without one (0)
// was written before generations: taken as any generation's.
type envelope struct {
	V   int         `json:"v"`
	Rev uint64      `json:"rev,omitempty"`
	Gen uint64      `json:"gen,omitempty"`
	Job jobs.Record `json:"job"`
}

// gen is the generation of the envelope's job, read at revision rev (a
// job message: its Rev).
func (e envelope) gen(rev uint64) uint64 {
	if e.Gen != 0 {
		return e.Gen
	}
	return rev
}

// encode returns the envelope of r at rev, of generation gen (0: none,
// a record as created).
func encode(r jobs.Record, rev, gen uint64) []byte { return wrap(encodeJob(&r), rev, gen) }

// encodeJob returns r's JSON, for wrap: a record encoded once serves
// several envelopes (its record and its job message; its record and its
// end notice).
func encodeJob(r *jobs.Record) []byte {
	if b, ok := appendJob(make([]byte, 0, 256+len(r.Args)+len(r.Info)+len(r.Value)), r); ok {
		return b
	}
	b, _ := json.Marshal(r) // a Record always encodes
	return b
}

// wrap returns the envelope of a record encoded by encodeJob, at rev, of
// generation gen: the bytes json.Marshal writes for envelope{version,
// rev, gen, record} (TestWrap).
func wrap(job []byte, rev, gen uint64) []byte {
	b := make([]byte, 0, len(job)+64)
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, version, 10)
	if rev != 0 {
		b = append(b, `,"rev":`...)
		b = strconv.AppendUint(b, rev, 10)
	}
	if gen != 0 {
		b = append(b, `,"gen":`...)
		b = strconv.AppendUint(b, gen, 10)
	}
	b = append(b, `,"job":`...)
	b = append(b, job...)
	return append(b, '}')
}

// decode reads an envelope; where names it in errors.
func decode(where string, data []byte) (envelope, error) {
	if e, ok := decodeFast(data); ok {
		if e.Job.ID == "" || e.Job.Host == "" || e.Job.Procedure == "" {
			return e, fmt.Errorf("%w: %s: a record without id, host or procedure", ErrMalformed, where)
		}
		return e, nil
	}
	return decodeJSON(where, data)
}

// decodeJSON is decode with encoding/json: one pass for an envelope of
// this version; one that does not decode is probed for its version,
// which decides the error (a *VersionError before ErrMalformed).
func decodeJSON(where string, data []byte) (envelope, error) {
	var in struct {
		V   *int        `json:"v"`
		Rev uint64      `json:"rev,omitempty"`
		Gen uint64      `json:"gen,omitempty"`
		Job jobs.Record `json:"job"`
	}
	err := json.Unmarshal(data, &in)
	if err != nil { // the version decides which error
		var probe struct {
			V *int `json:"v"`
		}
		if json.Unmarshal(data, &probe) != nil {
			probe.V = nil
		}
		in.V = probe.V
	}
	e := envelope{Rev: in.Rev, Gen: in.Gen, Job: in.Job}
	if in.V != nil {
		e.V = *in.V
	}
	switch {
	case in.V == nil:
		return envelope{}, fmt.Errorf("%w: %s: no version", ErrMalformed, where)
	case *in.V != version:
		return envelope{}, &VersionError{Key: where, Version: *in.V}
	case err != nil:
		return e, fmt.Errorf("%w: %s: %w", ErrMalformed, where, err)
	case e.Job.ID == "" || e.Job.Host == "" || e.Job.Procedure == "":
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

// get reads job id's record, its revision and its generation. Errors:
// jobs.ErrNotFound, *VersionError, ErrMalformed, jobs.ErrUnavailable.
func (b *Backend) get(ctx context.Context, id string) (jobs.Record, uint64, uint64, error) {
	r, rev, gen, _, err := b.getAt(ctx, id)
	return r, rev, gen, err
}

// getAt is get, and the time its record was written (the store's clock).
func (b *Backend) getAt(ctx context.Context, id string) (jobs.Record, uint64, uint64, time.Time, error) {
	data, rev, at, err := b.leaderGet(ctx, tok(id))
	if err != nil {
		if errors.Is(err, jobs.ErrNotFound) {
			err = fmt.Errorf("%w: %q", jobs.ErrNotFound, id)
		}
		return jobs.Record{}, 0, 0, time.Time{}, err
	}
	env, err := decode("job "+id, data)
	if err != nil {
		return jobs.Record{}, 0, 0, time.Time{}, err
	}
	r := env.Job
	r.Gen = env.gen(rev)
	return r, rev, r.Gen, at, nil
}

// getGen is get for the job of generation gen (0: whichever job id names):
// a record of another generation is jobs.ErrNotFound (the job's record
// went past its retention, and its id names a newer job).
func (b *Backend) getGen(ctx context.Context, id string, gen uint64) (jobs.Record, uint64, uint64, error) {
	r, rev, g, err := b.get(ctx, id)
	if err == nil && gen != 0 && g != gen {
		return jobs.Record{}, 0, 0, fmt.Errorf("%w: %q of generation %d (its id names a newer job, of generation %d)", jobs.ErrNotFound, id, gen, g)
	}
	return r, rev, g, err
}

// leaderGet reads the last value of key in the jobs bucket from its
// stream's leader. A KeyValue's Get is a direct get, which any replica may
// answer: right after a write, a follower may not have it yet, and a job
// that has ended would still look running. Errors: jobs.ErrNotFound (no
// such key, or deleted), jobs.ErrUnavailable.
func (b *Backend) leaderGet(ctx context.Context, key string) ([]byte, uint64, time.Time, error) {
	m, err := b.streamGet(ctx, "KV_"+b.cfg.prefix+"_jobs", map[string]string{"last_by_subj": "$KV." + b.cfg.prefix + "_jobs." + key})
	switch {
	case err != nil:
		return nil, 0, time.Time{}, err
	case bytes.Contains(m.Hdrs, []byte("KV-Operation")): // a delete or purge marker
		return nil, 0, time.Time{}, jobs.ErrNotFound
	}
	return m.Data, m.Seq, m.Time, nil
}

// storedMsg is a message as its stream's leader gives it (streamGet).
type storedMsg struct {
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
	Hdrs []byte    `json:"hdrs"`
	Data []byte    `json:"data"`
}

// streamGet asks stream's leader for the message that req (a JetStream
// message get request) names. Errors: jobs.ErrNotFound (no such message),
// jobs.ErrUnavailable (also a stream that is not there: a bucket deleted,
// or not yet restored, is a store that is away, not a job never
// submitted — a runner that took it for one would dead-letter the jobs
// whose messages come up meanwhile).
func (b *Backend) streamGet(ctx context.Context, stream string, req any) (storedMsg, error) {
	data, _ := json.Marshal(req)
	msg, err := b.nc.RequestWithContext(ctx, "$JS.API.STREAM.MSG.GET."+stream, data)
	if err != nil {
		return storedMsg{}, unavailable(err)
	}
	var resp struct {
		Message *storedMsg `json:"message"`
		Error   *struct {
			Code        int                 `json:"code"`
			ErrCode     jetstream.ErrorCode `json:"err_code"` // a stream not found is a 404 too
			Description string              `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return storedMsg{}, unavailable(err)
	}
	switch {
	case resp.Error != nil && resp.Error.Code == 404 && resp.Error.ErrCode == jetstream.JSErrCodeStreamNotFound:
		return storedMsg{}, unavailable(fmt.Errorf("jetjobs: get: stream %s: %s", stream, resp.Error.Description))
	case resp.Error != nil && resp.Error.Code == 404:
		return storedMsg{}, jobs.ErrNotFound
	case resp.Error != nil:
		return storedMsg{}, unavailable(fmt.Errorf("jetjobs: get: %s", resp.Error.Description))
	case resp.Message == nil:
		return storedMsg{}, unavailable(errors.New("jetjobs: get: an empty answer"))
	}
	return *resp.Message, nil
}

// change applies f to the record of job id of generation gen (0: whichever
// job id names; its generation is returned), with compare-and-set,
// starting from r at revision rev if rev is not 0 (else reading it),
// reading it again after each conflict, until f declines (false: the
// record is returned as it is) or the write succeeds. It returns the
// record, its revision, its generation and, if it wrote it (ok), its
// envelope as stored (an end notice sends the same bytes). A record of
// another generation than gen is jobs.ErrNotFound: the job is gone. f must
// allow only what the job machine allows from the state it sees.
func (b *Backend) change(ctx context.Context, id string, gen uint64, r jobs.Record, rev uint64, f func(*jobs.Record) bool) (_ jobs.Record, _, _ uint64, data []byte, ok bool, _ error) {
	key := tok(id)
	for {
		if rev == 0 {
			var err error
			if r, rev, gen, err = b.getGen(ctx, id, gen); err != nil {
				return r, 0, gen, nil, false, err
			}
		}
		next := r
		if !f(&next) {
			return r, rev, gen, nil, false, nil
		}
		data := encode(next, 0, gen)
		nrev, err := b.jobsKV.Update(ctx, key, data, rev)
		if err == nil {
			return next, nrev, gen, data, true, nil
		}
		if !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return r, 0, gen, nil, false, unavailable(err)
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
	gen uint64     // the job's generation: a record of another is not its
	mu  sync.Mutex // guards rec and rev; held across a change
	rec jobs.Record
	rev uint64
}

func (t *tracked) change(ctx context.Context, f func(*jobs.Record) bool) (jobs.Record, []byte, bool, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	r, rev, _, data, ok, err := t.b.change(ctx, t.id, t.gen, t.rec, t.rev, f)
	t.rec, t.rev = r, rev // rev 0 after an error: read it again next time
	return r, data, ok, err
}
