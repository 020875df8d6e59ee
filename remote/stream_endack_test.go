package remote_test

import (
	"encoding/binary"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/troupe-go/troupe/remote"
)

// TestStreamEndAckLost: a reader that got every item and the end of a
// stream, but whose acknowledgement of the end was lost, is no dead letter:
// the serving node drops the stream without a refusal. It used to keep it
// for three heartbeats and then report ReasonLate "stream reader went
// silent", though nothing was lost. A reader that went silent with items
// unacknowledged is still reported: those may really be lost.
func TestStreamEndAckLost(t *testing.T) {
	// Long enough that no reader seems silent under load before its end.
	const hb = 200 * time.Millisecond
	// gone waits until srv serves no stream (its keeper has given up or
	// seen the end acknowledged: a refusal, if any, is reported by then).
	gone := func(t *testing.T, srv *remote.Node) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for remote.ServedStreams(srv) > 0 {
			if time.Now().After(deadline) {
				t.Fatal("the served stream was never dropped")
			}
			time.Sleep(hb / 4)
		}
	}

	t.Run("follow", func(t *testing.T) {
		s := startServer(t)
		rs := newRefusals()
		var dropped atomic.Int32
		// Frames: 0 open, 1-5 the items, 6 the end: the end's ack says 7.
		drop := func(data []byte) bool {
			if len(data) < 2 || data[0] != 'a' {
				return false
			}
			no, _ := binary.Uvarint(data[1:])
			return no == 7 && dropped.Add(1) == 1
		}
		srv := startNode(t, s.ClientURL(), remote.WithHeartbeat(hb), remote.WithRefusalHook(rs.hook), remote.WithDropControl(drop))
		cli := startNode(t, s.ClientURL(), remote.WithHeartbeat(hb))
		feed(t, srv)
		f, err := remote.BindStream(cli, "feed", Tail).Open(ctxTimeout(t, 30*time.Second), TailReq{N: 5})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		items, err := readAll(f)
		if err != nil || len(items) != 5 {
			t.Fatalf("All: %d items, %v; want 5, nil", len(items), err)
		}
		gone(t, srv)
		if dropped.Load() == 0 {
			t.Fatal("the end's ack was never sent")
		}
		rs.mu.Lock()
		defer rs.mu.Unlock()
		if len(rs.got) > 0 {
			t.Fatalf("refusals %+v; want none (the reader got every item and the end)", rs.got)
		}
	})

	// bare opens Tail of 5 items with a bare NATS reader, which acks up to
	// frame ackTo (6: every item) and never again.
	bare := func(t *testing.T, ackTo uint64) []remote.Refusal {
		s := startServer(t)
		rs := newRefusals()
		srv := startNode(t, s.ClientURL(), remote.WithHeartbeat(hb), remote.WithRefusalHook(rs.hook))
		feed(t, srv)
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
		err = nc.PublishMsg(&nats.Msg{Subject: "troupe.feed.tail", Reply: inbox, Data: []byte(`{"N":5}`),
			Header: nats.Header{"Troupe-Stream": []string{"open"}, "Troupe-Timeout": []string{"10s"}}})
		if err != nil {
			t.Fatal(err)
		}
		var ctrl string
		for {
			m, err := sub.NextMsg(10 * time.Second)
			if err != nil {
				t.Fatalf("waiting for a frame: %v", err)
			}
			no, k := binary.Uvarint(m.Data[1:])
			switch m.Data[0] {
			case 'o':
				_, j := binary.Uvarint(m.Data[1+k:]) // the stream's id
				ctrl = string(m.Data[1+k+j:])
			case 'h':
				continue
			}
			if no+1 == ackTo {
				if err := nc.Publish(ctrl, binary.AppendUvarint([]byte{'a'}, ackTo)); err != nil {
					t.Fatal(err)
				}
			}
			if m.Data[0] == 'z' {
				break
			}
		}
		_ = sub.Unsubscribe()
		gone(t, srv)
		rs.mu.Lock()
		defer rs.mu.Unlock()
		return append([]remote.Refusal(nil), rs.got...)
	}

	t.Run("items acked", func(t *testing.T) {
		if got := bare(t, 6); len(got) > 0 {
			t.Fatalf("refusals %+v; want none (every item acknowledged)", got)
		}
	})
	t.Run("items unacked", func(t *testing.T) {
		got := bare(t, 1)
		if len(got) != 1 || got[0].Reason != remote.ReasonLate {
			t.Fatalf("refusals %+v; want one, %s (items may be lost)", got, remote.ReasonLate)
		}
		if got[0].Name != "feed" || got[0].Method != "tail" {
			t.Fatalf("refusal of name %q, method %q; want the export's name and its method, feed and tail", got[0].Name, got[0].Method)
		}
	})
}
