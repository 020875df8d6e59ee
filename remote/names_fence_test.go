package remote_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-go/troupe/remote"
)

// awayKV is a names bucket the node loses sight of while away is set: its
// requests time out, its watch sees nothing (as for a node cut off from
// JetStream, though not from the callers that reach its exports).
type awayKV struct {
	jetstream.KeyValue
	away atomic.Bool
	stop chan struct{} // ends the watch's forwarder
}

func (a *awayKV) wrap(kv jetstream.KeyValue) jetstream.KeyValue {
	a.KeyValue = kv
	return a
}

func (a *awayKV) Update(ctx context.Context, key string, value []byte, rev uint64) (uint64, error) {
	if a.away.Load() {
		return 0, nats.ErrTimeout
	}
	return a.KeyValue.Update(ctx, key, value, rev)
}

func (a *awayKV) Get(ctx context.Context, key string) (jetstream.KeyValueEntry, error) {
	if a.away.Load() {
		return nil, nats.ErrTimeout
	}
	return a.KeyValue.Get(ctx, key)
}

func (a *awayKV) WatchAll(ctx context.Context, opts ...jetstream.WatchOpt) (jetstream.KeyWatcher, error) {
	w, err := a.KeyValue.WatchAll(ctx, opts...)
	if err != nil {
		return nil, err
	}
	aw := &awayWatcher{KeyWatcher: w, ch: make(chan jetstream.KeyValueEntry)}
	go aw.forward(a)
	return aw, nil
}

// awayWatcher holds back what its bucket's watch sees while the bucket is
// away; its forwarder ends with the real watcher's channel, or the test
// (stop).
type awayWatcher struct {
	jetstream.KeyWatcher
	ch chan jetstream.KeyValueEntry
}

func (w *awayWatcher) Updates() <-chan jetstream.KeyValueEntry { return w.ch }

func (w *awayWatcher) forward(a *awayKV) {
	defer close(w.ch)
	var held []jetstream.KeyValueEntry
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		var out chan jetstream.KeyValueEntry
		var next jetstream.KeyValueEntry
		if len(held) > 0 && !a.away.Load() {
			out, next = w.ch, held[0]
		}
		select {
		case e, ok := <-w.KeyWatcher.Updates():
			if !ok {
				return
			}
			held = append(held, e)
		case out <- next:
			held = held[1:]
		case <-tick.C: // away may have changed
		case <-a.stop:
			return
		}
	}
}

// TestClaimFencedByLease: a node whose keeper cannot refresh its claim
// (the names bucket out of its reach) gives the name up once its lease
// may have run out — when the key has expired and another node may take
// it — rather than serve it for as long as the bucket is away, alongside
// the node that claims it next.
func TestClaimFencedByLease(t *testing.T) {
	s := startServer(t)
	rs := newRefusals()
	a := &awayKV{stop: make(chan struct{})}
	const lease = 1500 * time.Millisecond
	n1 := startNode(t, s.ClientURL(), remote.WithName("n1"), remote.WithLease(lease),
		remote.WithNamesKV(a.wrap), remote.WithRefusalHook(rs.hook))
	t.Cleanup(func() { close(a.stop) }) // before n1's Close
	n2 := startNode(t, s.ClientURL(), remote.WithName("n2"), remote.WithLease(lease))
	ctx := ctxTimeout(t, 30*time.Second)
	ref := spawn(t, n1)
	if err := remote.Claim(ctx, n1, "fenced", ref, remote.Serve(Deposit)); err != nil {
		t.Fatal(err)
	}
	a.away.Store(true)
	// The key expires a lease after n1's last refresh: n2 then takes it.
	for {
		err := remote.Claim(ctx, n2, "fenced", spawn(t, n2), remote.Serve(Deposit))
		if err == nil {
			break
		}
		if !errors.Is(err, remote.ErrNameTaken) || ctx.Err() != nil {
			t.Fatalf("Claim on n2: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case <-ref.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("n1 still serves the name 10 s after n2 claimed it (its lease ran out without a refresh)")
	}
	if r := rs.wait(t); r.Reason != remote.ReasonNameLost || r.Name != "fenced" {
		t.Fatalf("refusal %+v; want name_lost for \"fenced\"", r)
	}
	a.away.Store(false)
}
