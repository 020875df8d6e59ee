package remote_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/troupe-go/troupe/remote"
)

// TestShutdownResendsStreamEnd: a reader that missed the ErrClosed end
// frame of a stream whose node shuts down gets it again, as any lost
// frame: the next heartbeat tells it a frame is missing, and its gap
// brings the resend — for as long as the stop lasts (here, held by a
// served call). The reader is a bare NATS client, which drops the first
// end frame it receives. The end used to be sent once and the stream
// closed at once: no heartbeat, no resend, and a reader that missed it
// ended ErrStreamLost three heartbeats later.
func TestShutdownResendsStreamEnd(t *testing.T) {
	s := startServer(t)
	const hb = 100 * time.Millisecond
	srv := startNode(t, s.ClientURL(), remote.WithHeartbeat(hb))
	other := startNode(t, s.ClientURL())
	_, fd := exportHeldFeed(t, srv)
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	inbox := nc.NewInbox()
	sub, err := nc.SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	err = nc.PublishMsg(&nats.Msg{Subject: "troupe.feed.live", Reply: inbox, Data: []byte("{}"),
		Header: nats.Header{"Troupe-Stream": []string{"open"}, "Troupe-Timeout": []string{"10s"}}})
	if err != nil {
		t.Fatal(err)
	}
	next := func(within time.Duration) (kind byte, no uint64, payload []byte) {
		t.Helper()
		m, err := sub.NextMsg(within)
		if err != nil {
			t.Fatalf("waiting for a frame: %v", err)
		}
		if len(m.Data) < 2 {
			t.Fatalf("frame %q", m.Data)
		}
		no, k := binary.Uvarint(m.Data[1:])
		return m.Data[0], no, m.Data[1+k:]
	}
	kind, no, payload := next(10 * time.Second)
	if kind != 'o' || no != 0 {
		t.Fatalf("first frame %c %d; want o 0", kind, no)
	}
	_, k := binary.Uvarint(payload)
	ctrl := string(payload[k:])
	ack := func(kind byte, no uint64) {
		if err := nc.Publish(ctrl, binary.AppendUvarint([]byte{kind}, no)); err != nil {
			t.Fatal(err)
		}
	}
	ack('a', 1)

	// A served call holds the stop up until the test ends it.
	hold, release := context.WithCancel(context.Background())
	defer release()
	held := remote.Bind(other, "feed", Hold).Ask(hold, 1)
	<-fd.held
	stopped := make(chan error, 1)
	go func() { stopped <- srv.Shutdown(ctxTimeout(t, time.Minute)) }()

	// The end frame (frame 1), lost.
	for kind, no, _ = next(10 * time.Second); kind == 'h'; kind, no, _ = next(10 * time.Second) {
	}
	if kind != 'e' || no != 1 {
		t.Fatalf("frame %c %d; want the end (e 1)", kind, no)
	}
	// Within a few heartbeats: one that says frame 2 comes next; the gap
	// brings frame 1 again.
	for {
		kind, no, payload = next(10 * hb)
		if kind == 'h' && no == 2 {
			ack('g', 1)
			continue
		}
		if kind == 'e' && no == 1 {
			break
		}
		t.Fatalf("frame %c %d; want a heartbeat (h 2) or the end again (e 1)", kind, no)
	}
	var w struct{ Code string }
	if err := json.Unmarshal(payload, &w); err != nil || w.Code != remote.CodeClosed {
		t.Fatalf("end frame %s (%v); want code %s", payload, err, remote.CodeClosed)
	}
	ack('a', 2)
	release()
	if _, err := held.Await(ctxTimeout(t, 10*time.Second)); err == nil {
		t.Fatal("Hold: got no error; want its cancellation")
	}
	if err := <-stopped; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}
