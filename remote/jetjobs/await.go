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
// ctx's. Cost: a round trip at the start.
func (b *Backend) Await(ctx context.Context, id string) (jobs.Record, error) {
	key := tok(id)
	for {
		ch, err := b.waitEnd(key)
		if err != nil {
			return jobs.Record{}, err
		}
		r, err := b.Lookup(ctx, id)
		if err != nil || r.State.Terminal() {
			b.unwait(key, ch)
			return r, err
		}
		t := time.NewTimer(recheck)
		select {
		case end := <-ch: // the notice carries the record
			t.Stop()
			return end, nil
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

// waitEnd returns a channel closed at the next end notice of job key,
// subscribing to the notices on first use.
func (b *Backend) waitEnd(key string) (chan jobs.Record, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	if b.endSub == nil {
		sub, err := b.nc.Subscribe(b.cfg.prefix+".end.*", b.onEnd)
		if err != nil {
			return nil, unavailable(err)
		}
		b.endSub, b.endWait = sub, map[string]map[chan jobs.Record]struct{}{}
	}
	ch := make(chan jobs.Record, 1)
	if b.endWait[key] == nil {
		b.endWait[key] = map[chan jobs.Record]struct{}{}
	}
	b.endWait[key][ch] = struct{}{}
	return ch, nil
}

func (b *Backend) unwait(key string, ch chan jobs.Record) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if w := b.endWait[key]; w != nil {
		delete(w, ch)
		if len(w) == 0 {
			delete(b.endWait, key)
		}
	}
}

// onEnd wakes the waiters of the job a notice is about.
func (b *Backend) onEnd(m *nats.Msg) {
	key := m.Subject[strings.LastIndexByte(m.Subject, '.')+1:]
	env, err := decode(m.Subject, m.Data)
	if err != nil || !env.Job.State.Terminal() {
		return // a notice of another version: its waiters read the record at their recheck
	}
	b.mu.Lock()
	w := b.endWait[key]
	delete(b.endWait, key)
	b.mu.Unlock()
	for ch := range w {
		ch <- env.Job
	}
}
