package jetjobs

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/troupe-go/troupe/remote/embedded"
)

// TestAsyncAcksTimeOut: an asynchronous publish whose ack never comes
// (here a plain subscriber takes the message and never answers, as a
// stream whose leader is lost would not) is failed and forgotten after
// asyncAckTimeout, instead of staying among the connection's pending acks
// until a reconnect (past 4,000 of them, every asynchronous publish
// stalls and fails).
func TestAsyncAcksTimeOut(t *testing.T) {
	s, err := embedded.Start(context.Background())
	if err != nil {
		t.Fatalf("embedded.Start: %v", err)
	}
	defer s.Shutdown()
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatalf("nats.Connect: %v", err)
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := New(ctx, nc, WithNode("a"), WithMemoryStorage())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer func() { _ = b.Close() }()
	sub, err := nc.SubscribeSync("silent.x")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	const n = 10
	acks := make([]<-chan error, 0, n)
	for range n {
		f, err := b.js.PublishAsync("silent.x", []byte("item"))
		if err != nil {
			t.Fatal(err)
		}
		acks = append(acks, f.Err())
	}
	if got := b.js.PublishAsyncPending(); got != n {
		t.Fatalf("pending acks after %d publishes: got %d", n, got)
	}
	giveUp := time.After(asyncAckTimeout + 10*time.Second)
	for i, ack := range acks {
		select {
		case err := <-ack:
			if err == nil {
				t.Fatalf("publish %d: acked by nobody", i)
			}
		case <-giveUp:
			t.Fatalf("publish %d: no outcome %v after it was sent; %d acks still pending", i, asyncAckTimeout+10*time.Second, b.js.PublishAsyncPending())
		}
	}
	if got := b.js.PublishAsyncPending(); got != 0 {
		t.Fatalf("pending acks once they timed out: got %d; want 0", got)
	}
}
