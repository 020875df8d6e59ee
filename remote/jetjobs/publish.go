package jetjobs

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// publisher sends a running job's output items to its subject: published
// asynchronously (no round trip per item), each with a message id made of
// the job's id and the item's number, so that one sent again is stored
// once. Items whose publish failed (a stream leader being elected) are
// sent again, in order, at the next flush: so an item may land after a
// later one, and readers put them back in order (see Output). A flush
// runs every maxInFlight items and before the job's end is written.
type publisher struct {
	b   *Backend
	id  string
	out string

	mu      sync.Mutex // guards seq and pending
	seq     uint64
	pending []sent
}

type sent struct {
	msg *nats.Msg
	ack jetstream.PubAckFuture // nil: not sent yet
}

const maxInFlight = 256

func (b *Backend) newPublisher(id string) *publisher {
	return &publisher{b: b, id: id, out: b.outSubject(id)}
}

// emit publishes v as the next item. Called on the job's goroutine.
func (p *publisher) emit(v any) {
	data, err := json.Marshal(v)
	if err != nil {
		data = []byte("null") // an item that does not encode travels as null
	}
	p.mu.Lock()
	seq := strconv.FormatUint(p.seq, 10)
	p.seq++
	m := &nats.Msg{Subject: p.out, Data: data, Header: nats.Header{hdrSeq: []string{seq},
		jetstream.MsgIDHeader: []string{p.id + "/" + seq}}}
	ack, err := p.b.js.PublishMsgAsync(m)
	if err != nil {
		ack = nil
	}
	p.pending = append(p.pending, sent{m, ack})
	full := len(p.pending) >= maxInFlight
	p.mu.Unlock()
	if full {
		p.flush()
	}
}

// flush waits for the items in flight and sends again those that failed
// or whose ack has not come within ackWait, each until it is stored or
// the flush has tried for a lease (at least 10 s).
func (p *publisher) flush() {
	p.mu.Lock()
	defer p.mu.Unlock()
	deadline := time.Now().Add(max(p.b.cfg.lease, 10*time.Second))
	for _, s := range p.pending {
		if s.ack != nil {
			t := time.NewTimer(ackWait)
			select {
			case <-s.ack.Ok():
				t.Stop()
				continue
			case <-s.ack.Err():
			case <-t.C:
			}
			t.Stop()
		}
		for time.Now().Before(deadline) {
			ctx, cancel := context.WithTimeout(context.Background(), ackWait)
			_, err := p.b.js.PublishMsg(ctx, s.msg)
			cancel()
			if err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	p.pending = p.pending[:0]
}

// ackWait bounds the wait for one item's ack before it is sent again.
const ackWait = 2 * time.Second
