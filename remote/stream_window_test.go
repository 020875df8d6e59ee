package remote_test

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/troupe-go/troupe/remote"
)

// padded is JSON with every string padded to 32 KB.
type padded struct{}

const padSize = 32 << 10

func (padded) Name() string { return "padded" }
func (padded) Marshal(v any) ([]byte, error) {
	b, err := remote.JSON.Marshal(v)
	if _, ok := v.(string); ok {
		b = append(b, strings.Repeat(" ", padSize)...)
	}
	return b, err
}
func (padded) Unmarshal(d []byte, v any) error { return remote.JSON.Unmarshal(d, v) }

// TestStreamWindowBytes: the serving node keeps in flight no more bytes
// than a quarter of its reader's subscription's pending limit, so a
// reader that does not read (a paused one) is not sent more than its
// subscription holds: it drops nothing, and then reads every item, in
// order, once. The window counted frames only (256): items of 400 KB
// (WithMaxMessage 1 MB) put 100 MB in flight, over a reader's 64 MiB, and
// its subscription dropped frames (All could end "slow consumer"). Here
// the pending limit is 1 MiB and items are 32 KB, so 256 frames (8 MB)
// overrun it eightfold: no timing decides it. The test waits for the
// serving node's pump to wait for room in its window (it has sent all it
// may), then round-trips both nodes to their NATS server, so that every
// frame sent has reached the reader's subscription or been dropped by it.
// Heartbeats are long: no silence is noticed on a loaded machine.
func TestStreamWindowBytes(t *testing.T) {
	s := startServer(t)
	const (
		hb      = 10 * time.Second
		pending = 1 << 20
		total   = 400
	)
	full := make(chan struct{}, 1)
	srv := startNode(t, s.ClientURL(), remote.WithHeartbeat(hb), remote.WithCodecs(padded{}), remote.WithStreamPending(pending),
		remote.WithWindowFull(func() {
			select {
			case full <- struct{}{}:
			default:
			}
		}))
	cli := startNode(t, s.ClientURL(), remote.WithHeartbeat(hb), remote.WithStreamPending(pending))
	feed(t, srv)
	ctx := ctxTimeout(t, 60*time.Second)
	f, err := remote.BindStream(cli, "feed", Tail, remote.WithCodec(padded{})).Open(ctx, TailReq{N: total})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	select {
	case <-full:
	case <-ctx.Done():
		t.Fatal("the serving node's window never filled")
	}
	inFlight := remote.InFlight(srv)
	if err := srv.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := cli.Flush(); err != nil {
		t.Fatal(err)
	}
	msgs, bytes, dropped := remote.FollowPending(f)
	t.Logf("in flight %d bytes; the reader's subscription holds %d frames, %d bytes, dropped %d", inFlight, msgs, bytes, dropped)
	if dropped > 0 {
		t.Fatalf("the reader's subscription (pending limit %d bytes) dropped %d frames: %d bytes were in flight", pending, dropped, inFlight)
	}
	if inFlight > pending/4 {
		t.Fatalf("%d bytes in flight; want at most %d (a quarter of the reader's pending limit)", inFlight, pending/4)
	}
	readLines(t, f, total, nil)
}

// TestStreamPausedReaderHeartbeats: a reader that pauses, its window of
// frames waiting unread, is not sent a heartbeat per heartbeat for as long
// as it pauses: its keepalive says it has frames waiting, and the serving
// node sends none until it reads again. Each heartbeat took a place in the
// reader's subscription (4 windows: 1024 messages), so a reader paused for
// 768 heartbeats after a full window (26 min at the default 2 s) dropped
// them and All ended "slow consumer, messages dropped". Here the limit is
// 300 messages (a window and 44), heartbeats are 10 ms and the test waits
// for 300 of the reader's control messages (its keepalives, one per
// heartbeat) while it reads nothing; the silence bounds are a minute, so
// no load makes either side give up on the other.
func TestStreamPausedReaderHeartbeats(t *testing.T) {
	s := startServer(t)
	const (
		hb    = 10 * time.Millisecond
		total = 2000
	)
	var controls atomic.Int64
	srv := startNode(t, s.ClientURL(), remote.WithHeartbeat(hb), remote.WithSilence(time.Minute),
		remote.WithDropControl(func([]byte) bool { controls.Add(1); return false }))
	cli := startNode(t, s.ClientURL(), remote.WithHeartbeat(hb), remote.WithSilence(time.Minute), remote.WithStreamPendingMsgs(300))
	feed(t, srv)
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	var beats atomic.Int64
	sub, err := nc.Subscribe("_INBOX.>", func(m *nats.Msg) {
		if len(m.Data) > 1 && m.Data[0] == 'h' {
			beats.Add(1)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = sub.SetPendingLimits(-1, -1)
	_ = nc.Flush()
	ctx := ctxTimeout(t, 60*time.Second)
	f, err := remote.BindStream(cli, "feed", Tail).Open(ctx, TailReq{N: total})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	for controls.Load() < 300 {
		select {
		case <-ctx.Done():
			t.Fatalf("%d control messages from the reader; want 300", controls.Load())
		case <-time.After(hb):
		}
	}
	if err := srv.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := cli.Flush(); err != nil {
		t.Fatal(err)
	}
	msgs, _, dropped := remote.FollowPending(f)
	t.Logf("%d heartbeats; the reader's subscription holds %d frames, dropped %d", beats.Load(), msgs, dropped)
	if dropped > 0 {
		t.Fatalf("the paused reader's subscription dropped %d frames (%d heartbeats sent)", dropped, beats.Load())
	}
	readLines(t, f, total, nil)
}

// bigPadded is JSON with every string padded to bigPad bytes.
type bigPadded struct{}

const bigPad = 200 << 10

func (bigPadded) Name() string { return "bigpadded" }
func (bigPadded) Marshal(v any) ([]byte, error) {
	b, err := remote.JSON.Marshal(v)
	if _, ok := v.(string); ok {
		b = append(b, strings.Repeat(" ", bigPad)...)
	}
	return b, err
}
func (bigPadded) Unmarshal(d []byte, v any) error { return remote.JSON.Unmarshal(d, v) }

// TestStreamItemOverWindow: an item too large for the serving node's
// window (a quarter of a reader's pending limit) ends the stream with
// ErrTooLarge, as one over WithMaxMessage does, rather than go alone. A
// frame over the window broke what the window's bound is for — that a
// reader's subscription holds a window and its resend —: with
// WithMaxMessage over 16 MiB, a frame and its resend after a gap
// overran the reader's 64 MiB and it dropped them. Here the pending limit
// is 128 KiB (a window of 32 KiB) and the item 200 KB, under
// WithMaxMessage: the frame alone overruns the reader's subscription,
// which drops it, and the stream ended 'slow consumer'.
func TestStreamItemOverWindow(t *testing.T) {
	s := startServer(t)
	const pending = 128 << 10
	srv := startNode(t, s.ClientURL(), remote.WithCodecs(bigPadded{}), remote.WithStreamPending(pending),
		remote.WithMaxMessage(512<<10))
	cli := startNode(t, s.ClientURL(), remote.WithStreamPending(pending), remote.WithMaxMessage(512<<10))
	feed(t, srv)
	ctx := ctxTimeout(t, 15*time.Second)
	f, err := remote.BindStream(cli, "feed", Tail, remote.WithCodec(bigPadded{})).Open(ctx, TailReq{N: 1})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer f.Close()
	for it, err := range f.All() {
		if !errors.Is(err, remote.ErrTooLarge) {
			t.Fatalf("got %d bytes, %v; want ErrTooLarge", len(it.V), err)
		}
	}
}
