package jetjobs

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// fakeJS is a JetStream of the publisher's two calls only, in memory (for
// a synctest bubble): an asynchronous publish fails, is stored, or is
// never answered, as its message id says (asyncs); a synchronous one is
// stored, or first waits for gate if its id is gated. It logs the items
// stored, and the synchronous publishes begun, by message id.
type fakeJS struct {
	jetstream.JetStream // nil: the calls the publisher does not make

	mu     sync.Mutex // guards the fields below
	asyncs map[string]string
	gated  string
	gate   chan struct{}
	stored []string // the items stored
	syncs  []string // the synchronous publishes begun
}

func (j *fakeJS) PublishMsgAsync(m *nats.Msg, _ ...jetstream.PublishOpt) (jetstream.PubAckFuture, error) {
	seq := m.Header.Get(jetstream.MsgIDHeader)
	f := fakeAck{msg: m, ok: make(chan *jetstream.PubAck, 1), err: make(chan error, 1)}
	j.mu.Lock()
	defer j.mu.Unlock()
	switch j.asyncs[seq] {
	case "fail":
		f.err <- errFlaky
	case "lost": // no answer ever
	default:
		j.stored = append(j.stored, seq)
		f.ok <- &jetstream.PubAck{}
	}
	return f, nil
}

func (j *fakeJS) PublishMsg(ctx context.Context, m *nats.Msg, _ ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	seq := m.Header.Get(jetstream.MsgIDHeader)
	j.mu.Lock()
	j.syncs = append(j.syncs, seq)
	gate := j.gate
	if seq != j.gated {
		gate = nil
	}
	j.mu.Unlock()
	if gate != nil {
		<-gate
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.stored = append(j.stored, seq)
	return &jetstream.PubAck{}, nil
}

// log returns copies of the items stored and the synchronous publishes begun.
func (j *fakeJS) log() (stored, syncs []string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return slices.Clone(j.stored), slices.Clone(j.syncs)
}

type fakeAck struct {
	msg *nats.Msg
	ok  chan *jetstream.PubAck
	err chan error
}

func (f fakeAck) Ok() <-chan *jetstream.PubAck { return f.ok }
func (f fakeAck) Err() <-chan error            { return f.err }
func (f fakeAck) Msg() *nats.Msg               { return f.msg }

// TestPublisherStop drives publishers as run does once the job's handler
// has returned — stop, then the last flush — and checks the handshake
// with the retry timer: a stop that comes while a retry flushes waits
// for it (no retry outlives stop), one that comes while an item's ack is
// late ends the retries (the item is the last flush's to send again,
// before the end marker), and every item is stored once.
func TestPublisherStop(t *testing.T) {
	t.Run("retry flushing", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			js := &fakeJS{asyncs: map[string]string{"job@1/0": "fail"}, gated: "job@1/0", gate: make(chan struct{})}
			b := &Backend{js: js, cfg: config{prefix: "jobs", lease: time.Second}}
			p := b.newPublisher("job", 1)
			p.emit("a") // its publish fails: the retry flushes, its publish waits at the gate
			time.Sleep(retryEvery)
			synctest.Wait()
			if _, syncs := js.log(); !slices.Equal(syncs, []string{"job@1/0"}) {
				t.Fatalf("after retryEvery: sent again %v; want [job@1/0] (the retry's flush)", syncs)
			}
			stopped := make(chan struct{})
			go func() {
				p.stop()
				close(stopped)
			}()
			synctest.Wait()
			select {
			case <-stopped:
				t.Fatal("stop returned while a retry was flushing")
			default:
			}
			close(js.gate)
			<-stopped
			if stored, _ := js.log(); !slices.Equal(stored, []string{"job@1/0"}) {
				t.Fatalf("once stopped: stored %v; want [job@1/0] (the retry's flush done)", stored)
			}
			p.flush()
			if stored, syncs := js.log(); !slices.Equal(stored, []string{"job@1/0"}) || len(syncs) != 1 {
				t.Fatalf("after the last flush: stored %v, sent again %v; want [job@1/0], once", stored, syncs)
			}
		})
	})
	t.Run("ack late", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			js := &fakeJS{asyncs: map[string]string{"job@1/1": "lost"}}
			b := &Backend{js: js, cfg: config{prefix: "jobs", lease: time.Second}}
			p := b.newPublisher("job", 1)
			p.emit("a")
			p.emit("b") // never answered
			p.emit("c")
			p.stop()
			time.Sleep(10 * ackWait) // a retry would find item 1 late, and send it again
			synctest.Wait()
			if stored, syncs := js.log(); !slices.Equal(stored, []string{"job@1/0", "job@1/2"}) || len(syncs) != 0 {
				t.Fatalf("stopped: stored %v, sent again %v; want [job@1/0 job@1/2], nothing (no retry)", stored, syncs)
			}
			p.flush() // the last: sends item 1 again after its ack's wait
			if stored, _ := js.log(); !slices.Equal(stored, []string{"job@1/0", "job@1/2", "job@1/1"}) {
				t.Fatalf("after the last flush: stored %v; want [job/0 job/2 job/1]", stored)
			}
		})
	})
}

// TestFlushLostAcks: the acks of a batch of items in flight never come
// (their stream's leader lost, as it is being elected). Before, the
// flush waited ackWait for each item's ack in turn, and sent an item
// again only while it had not tried for its deadline (a lease, at least
// 10 s): past the fifth item, the deadline had passed, and the items
// after it were dropped unsent, after a wait of ackWait each (256 items:
// 8.5 min of a stalled job). The items in flight were all sent before
// the flush: it now waits ackWait in all for their acks.
func TestFlushLostAcks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 20
		js := &fakeJS{asyncs: map[string]string{}}
		var want []string
		for i := range n {
			id := "job@1/" + strconv.Itoa(i)
			js.asyncs[id] = "lost"
			want = append(want, id)
		}
		b := &Backend{js: js, cfg: config{prefix: "jobs", lease: time.Second}}
		p := b.newPublisher("job", 1)
		for i := range n {
			p.emit(i)
		}
		p.stop() // as run does: stop, then the last flush
		start := time.Now()
		p.flush()
		took := time.Since(start)
		if stored, _ := js.log(); !slices.Equal(stored, want) {
			t.Errorf("after the flush: stored %v; want %v", stored, want)
		}
		if took > ackWait {
			t.Errorf("the flush took %v; want at most ackWait (%v)", took, ackWait)
		}
	})
}
