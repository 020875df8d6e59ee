package jetjobs

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// publisher sends a running job's output items to its subject: published
// asynchronously (no round trip per item), each with a message id made of
// the job's id, its generation and the item's number, so that one sent
// again is stored once (and an item of a newer job of the same id is
// not taken for one sent again). Items whose publish failed (a stream leader being elected) are
// sent again, in order, at the next flush: so an item may land after a
// later one, and readers put them back in order (see Output). A flush
// runs every maxInFlight items, before the next item once one has failed
// (readers hold back the items after a gap: a slow job's would wait for
// its end), on a timer once one has failed or its ack is ackWait late
// (retry: a job that goes quiet would hold its followers until its next
// item or end), and before the job's end is written.
type publisher struct {
	b   *Backend
	id  string
	gen string // the job's generation
	out string

	mu      sync.Mutex // guards seq, pending and acked
	seq     uint64
	pending []sent
	acked   int // pending[:acked] are stored

	tmu     sync.Mutex  // guards the fields below; never held with mu
	timer   *time.Timer // retry's, made at the first item
	armed   bool        // timer set
	stopped bool
	oldest  *nats.Msg      // the first item in flight at retry's last look,
	since   time.Time      // and since when
	busy    sync.WaitGroup // the retries in progress
}

type sent struct {
	msg *nats.Msg
	ack jetstream.PubAckFuture // nil: not sent yet
}

const maxInFlight = 256

func (b *Backend) newPublisher(id string, gen uint64) *publisher {
	return &publisher{b: b, id: id, gen: strconv.FormatUint(gen, 10), out: b.outSubject(id)}
}

// emit publishes v as the next item, after the items whose publish failed
// (sent again: flush). Called on the job's goroutine.
func (p *publisher) emit(v any) {
	data, err := json.Marshal(v)
	if err != nil {
		data = []byte("null") // an item that does not encode travels as null (so does one over the max payload)
	}
	p.mu.Lock()
	if p.failedLocked() {
		p.mu.Unlock()
		p.flush()
		p.mu.Lock()
	}
	seq := strconv.FormatUint(p.seq, 10)
	p.seq++
	m := &nats.Msg{Subject: p.out, Data: data, Header: nats.Header{hdrSeq: []string{seq}, hdrGen: []string{p.gen},
		jetstream.MsgIDHeader: []string{p.id + "@" + p.gen + "/" + seq}}}
	ack, err := p.b.js.PublishMsgAsync(m)
	if errors.Is(err, nats.ErrMaxPayload) { // too large ever to be stored: as one that does not encode
		m.Data = []byte("null")
		ack, err = p.b.js.PublishMsgAsync(m)
	}
	if err != nil {
		ack = nil
	}
	p.pending = append(p.pending, sent{m, ack})
	full := len(p.pending) >= maxInFlight
	p.mu.Unlock()
	if full {
		p.flush()
		return
	}
	p.arm()
}

// retryEvery is how often a publisher with items in flight looks at their
// acks when its job sends none (retry).
const retryEvery = 100 * time.Millisecond

// arm sets the retry timer, unless it is set or the publisher stopped.
func (p *publisher) arm() {
	p.tmu.Lock()
	defer p.tmu.Unlock()
	if p.armed || p.stopped {
		return
	}
	p.armed = true
	if p.timer == nil {
		p.timer = time.AfterFunc(retryEvery, p.retry)
		return
	}
	p.timer.Reset(retryEvery)
}

// retry runs on the timer's goroutine: it flushes if an item in flight
// has failed, or the first one's ack is ackWait late; else, with items
// still in flight, it sets the timer again. An item sent meanwhile sets
// it too.
func (p *publisher) retry() {
	p.tmu.Lock()
	if p.stopped {
		p.tmu.Unlock()
		return
	}
	p.armed = false
	p.busy.Add(1) // before stop's Wait: stopped is set under tmu
	p.tmu.Unlock()
	defer p.busy.Done()
	p.mu.Lock()
	failed := p.failedLocked()
	var first *nats.Msg
	if p.acked < len(p.pending) {
		first = p.pending[p.acked].msg
	}
	p.mu.Unlock()
	now := time.Now()
	p.tmu.Lock()
	if first != p.oldest {
		p.oldest, p.since = first, now
	}
	late := first != nil && now.Sub(p.since) >= ackWait
	p.tmu.Unlock()
	switch {
	case failed || late:
		p.flush()
	case first != nil:
		p.arm()
	}
}

// stop ends the retries and waits for those in progress. The runner calls
// it once its job's handler has returned, before the last flush.
func (p *publisher) stop() {
	p.tmu.Lock()
	p.stopped = true
	if p.timer != nil {
		p.timer.Stop()
	}
	p.tmu.Unlock()
	p.busy.Wait()
}

// failedLocked reports whether an item in flight is known to have failed
// (its ack is then dropped: flush sends it again at once). It looks at the
// acks in order, up to the first not yet come, and counts those received
// (an ack future gives its outcome once): amortized O(1) per item.
func (p *publisher) failedLocked() bool {
	for ; p.acked < len(p.pending); p.acked++ {
		s := &p.pending[p.acked]
		if s.ack == nil {
			return true
		}
		select {
		case <-s.ack.Ok():
		case <-s.ack.Err():
			s.ack = nil
			return true
		default:
			return false
		}
	}
	return false
}

// flush waits for the items in flight and sends again those that failed
// or whose ack has not come within ackWait (of the flush's start: all
// were sent before it), each until it is stored or the flush has tried
// for a lease (at least 10 s).
func (p *publisher) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	ackBy, deadline := now.Add(ackWait), now.Add(max(p.b.cfg.lease, 10*time.Second))
	for _, s := range p.pending[p.acked:] { // those before are stored
		if s.ack != nil && ackedBy(s.ack, ackBy) {
			continue
		}
		for time.Now().Before(deadline) {
			ctx, cancel := context.WithTimeout(context.Background(), ackWait)
			_, err := p.b.js.PublishMsg(ctx, s.msg)
			cancel()
			if err == nil {
				break
			}
			if errors.Is(err, nats.ErrMaxPayload) {
				s.msg.Data = []byte("null")
				continue
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	p.pending, p.acked = p.pending[:0], 0
}

// ackWait bounds the wait for an item's ack before it is sent again.
const ackWait = 2 * time.Second

// asyncAckTimeout is how long nats.go keeps waiting for an asynchronous
// publish's ack before it fails it (ErrAsyncPublishTimeout) and forgets
// it. Without it, an ack that never comes (its stream's leader lost) stays
// in the connection's pending acks until a reconnect, and past their limit
// (4,000) every asynchronous publish stalls 200 ms and fails: each item
// would then be sent synchronously. Longer than ackWait: by then flush has
// sent the item again.
const asyncAckTimeout = 2 * ackWait

// ackedBy reports whether ack says its item is stored, by the time by at
// the latest: false if it says failed, or has not come by then.
func ackedBy(ack jetstream.PubAckFuture, by time.Time) bool {
	select {
	case <-ack.Ok():
		return true
	case <-ack.Err():
		return false
	default:
	}
	t := time.NewTimer(time.Until(by))
	defer t.Stop()
	select {
	case <-ack.Ok():
		return true
	case <-ack.Err():
		return false
	case <-t.C:
		return false
	}
}
