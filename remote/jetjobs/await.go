package jetjobs

import (
	"context"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/troupe-go/troupe/jobs"
)

// Await returns job id's record once it has ended. One subscription of
// the backend's to the end notices, which carry the ended record, wakes
// every waiter of a job; a waiter also reads the record again each second
// without one (a notice lost with a node). Errors: those of Lookup,
// ctx's, ErrClosed (matching jobs.ErrClosed) once the backend is closed. Cost: a round trip at the start — none for a job submitted
// through this backend (the subscription was listening before it was
// queued, so its notice cannot have been missed).
//
// The job is the one of generation gen (a record's Gen), or if gen is 0
// the one id names as Await begins (for a job submitted here: the one
// submitted); the end notices of another job of the same id (an earlier
// one, past its retention; a newer one) are not its end, and a record
// that has become another job's is jobs.ErrNotFound. The record returned
// has its Gen set.
func (b *Backend) Await(ctx context.Context, id string, gen uint64) (jobs.Record, error) {
	key := tok(id)
	fresh := b.freshGen(key) // 0: not submitted here, or ended
	if gen == 0 {
		gen = fresh // 0: not known yet
	}
	listening := gen != 0 && gen == fresh // its notice cannot have been missed
	for first := true; ; first = false {
		ch, known, err := b.waitEnd(key, gen)
		switch {
		case err != nil:
			return jobs.Record{}, err
		case known != nil:
			return *known, nil
		}
		var r jobs.Record
		if !first || !listening {
			r, _, gen, err = b.getGen(ctx, id, gen)
			if err != nil || r.State.Terminal() {
				b.unwait(key, ch)
				return r, err
			}
		}
		t := time.NewTimer(recheck)
		select {
		case end := <-ch: // the notice carries the record
			t.Stop()
			if end.gen == 0 || end.gen == gen {
				if end.rec.Gen == 0 {
					end.rec.Gen = gen
				}
				return end.rec, nil
			}
			continue // another job's, of the same id (gen was not known as it came): read again
		case <-t.C:
		case <-ctx.Done():
		}
		t.Stop()
		b.unwait(key, ch)
		if ctx.Err() != nil {
			return r, ctx.Err()
		}
	}
}

// Bounds of the notices kept for jobs submitted here: past them, the
// entries are dropped and Await reads the record instead.
const (
	maxFresh = 100_000
	maxEnded = 4096
)

// listenEnds subscribes to the end notices, once; the first time it also
// waits until the server has the subscription. Called by Submit before a
// job is queued, so that the job's end notice cannot be missed.
func (b *Backend) listenEnds(ctx context.Context) error {
	b.mu.Lock()
	if b.endSub != nil {
		b.mu.Unlock()
		return nil
	}
	if b.closed {
		b.mu.Unlock()
		return ErrClosed
	}
	sub, err := b.nc.Subscribe(b.cfg.prefix+".end.*", b.onEnd)
	if err != nil {
		b.mu.Unlock()
		return unavailable(err)
	}
	b.endSub = sub
	b.mu.Unlock()
	fctx, cancel := context.WithTimeout(ctx, b.cfg.lease)
	defer cancel()
	if err := b.nc.FlushWithContext(fctx); err != nil {
		return unavailable(err)
	}
	return nil
}

// markFresh records that job key, of generation gen, is queued by this
// backend, with the end notices listened to (0: forget it, its submit
// failed). An end kept for key is dropped: it was a job of the same id
// whose record has gone past its retention, and the new job's first
// Await must not get it.
func (b *Backend) markFresh(key string, gen uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.ended, key)
	if gen == 0 {
		delete(b.fresh, key)
		return
	}
	if len(b.fresh) >= maxFresh {
		clear(b.fresh)
	}
	b.fresh[key] = gen
}

// freshGen is the generation of job key if it was queued here and its
// end notice has not come yet, else 0.
func (b *Backend) freshGen(key string) uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.fresh[key]
}

// endNotice is an end notice's record and generation (0: none given).
type endNotice struct {
	rec jobs.Record
	gen uint64
}

// waitEnd returns a channel that gets the next end notice of job key of
// generation gen (0: of any) — or the record itself if the notice came
// already (a job submitted here) — subscribing to the notices on first
// use.
func (b *Backend) waitEnd(key string, gen uint64) (chan endNotice, *jobs.Record, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, nil, ErrClosed
	}
	if r, ok := b.ended[key]; ok && (gen == 0 || r.Gen == 0 || r.Gen == gen) {
		delete(b.ended, key)
		return nil, &r, nil
	}
	if b.endSub == nil {
		sub, err := b.nc.Subscribe(b.cfg.prefix+".end.*", b.onEnd)
		if err != nil {
			return nil, nil, unavailable(err)
		}
		b.endSub = sub
	}
	ch := make(chan endNotice, 1)
	if b.endWait[key] == nil {
		b.endWait[key] = map[chan endNotice]uint64{}
	}
	b.endWait[key][ch] = gen
	return ch, nil, nil
}

func (b *Backend) unwait(key string, ch chan endNotice) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if w := b.endWait[key]; w != nil {
		delete(w, ch)
		if len(w) == 0 {
			delete(b.endWait, key)
		}
	}
}

// onEnd wakes the waiters of the job a notice is about: those of its
// generation (or of any).
func (b *Backend) onEnd(m *nats.Msg) {
	key := m.Subject[strings.LastIndexByte(m.Subject, '.')+1:]
	env, err := decode(m.Subject, m.Data)
	if err != nil || !env.Job.State.Terminal() {
		return // a notice of another version: its waiters read the record at their recheck
	}
	n := endNotice{rec: env.Job, gen: env.Gen}
	n.rec.Gen = env.Gen
	same := func(gen uint64) bool { return gen == 0 || n.gen == 0 || gen == n.gen }
	var woken []chan endNotice
	b.mu.Lock()
	w := b.endWait[key]
	for ch, gen := range w {
		if same(gen) {
			woken = append(woken, ch)
			delete(w, ch)
		}
	}
	if len(w) == 0 {
		delete(b.endWait, key)
	}
	if gen, ok := b.fresh[key]; ok && same(gen) {
		delete(b.fresh, key)
		if len(woken) == 0 { // kept for its first Await
			if len(b.ended) >= maxEnded {
				clear(b.ended)
			}
			b.ended[key] = n.rec
		}
	}
	b.mu.Unlock()
	for _, ch := range woken {
		ch <- n
	}
}
