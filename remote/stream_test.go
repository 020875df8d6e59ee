package remote_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/remote"
	"github.com/troupe-go/troupe/remote/embedded"
)

// Feed streams lines: Tail sends n of them at once and ends cleanly (or
// with an error if n < 0), Live keeps its stream open for Push.
type Feed struct {
	live *actor.Out[string]
	sent int
	held chan struct{} // Hold reports here that it runs, if not nil
}

type TailReq struct {
	N    int
	Fail string // end with this error after N items
}

var (
	Tail = actor.NewStream("tail", func(f *Feed, c *actor.Ctx, r TailReq, out *actor.Out[string]) error {
		for i := range r.N {
			if err := out.Send(fmt.Sprintf("line %d", i)); err != nil {
				return err
			}
		}
		if r.Fail != "" {
			return &remote.CodedError{Code: "tail_failed", Err: errors.New(r.Fail)}
		}
		return out.Close(nil)
	}, actor.WithJournal(100_000, 64<<20))
	Short = actor.NewStream("short", func(f *Feed, c *actor.Ctx, n int, out *actor.Out[string]) error {
		for i := range n {
			_ = out.Send(fmt.Sprintf("line %d", i))
		}
		return nil // left open: readers wait for more
	}, actor.WithJournal(10, 1<<20))
	Live = actor.NewStream("live", func(f *Feed, c *actor.Ctx, _ struct{}, out *actor.Out[string]) error {
		f.live = out
		return nil
	})
	// Hold keeps its actor busy until its Context ends.
	Hold = actor.NewMethod("hold", func(f *Feed, c *actor.Ctx, _ int) (int, error) {
		if f.held != nil {
			f.held <- struct{}{}
		}
		<-c.Context().Done()
		return 0, c.Context().Err()
	})
	Push = actor.NewMethod("push", func(f *Feed, c *actor.Ctx, n int) (int, error) {
		for range n {
			if err := f.live.Send(fmt.Sprintf("line %d", f.sent)); err != nil {
				return f.sent, err
			}
			f.sent++
		}
		return f.sent, nil
	})
)

// feed exports a Feed on srv as "feed".
func feed(t *testing.T, srv *remote.Node) *actor.Ref[*Feed] {
	t.Helper()
	ref, err := actor.Spawn(srv.Runtime(), &Feed{})
	if err != nil {
		t.Fatal(err)
	}
	err = remote.Export(srv, "feed", ref, remote.ServeStream(Tail), remote.ServeStream(Short),
		remote.ServeStream(Live), remote.Serve(Push))
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// TestStreamCollected: a stream longer than the window, ended before the
// read, arrives whole from Collected, in sequence order, with the actor's
// sequence numbers, and io.EOF: the stream has ended and everything was
// returned.
func TestStreamCollected(t *testing.T) {
	s := startServer(t)
	srv, cli := startNode(t, s.ClientURL()), startNode(t, s.ClientURL())
	feed(t, srv)
	ctx := ctxTimeout(t, 30*time.Second)
	f, err := remote.BindStream(cli, "feed", Tail).Open(ctx, TailReq{N: 3000})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	items, err := f.Collected()
	if !errors.Is(err, io.EOF) {
		t.Fatalf("Collected: %v; want io.EOF", err)
	}
	if len(items) != 3000 {
		t.Fatalf("got %d items; want 3000", len(items))
	}
	for i, it := range items {
		if it.Seq != uint64(i) || it.V != fmt.Sprintf("line %d", i) {
			t.Fatalf("item %d = %+v; want seq %d line %d", i, it, i, i)
		}
	}
	if items, err := f.Collected(); len(items) != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("second Collected: got %d items, %v; want none, io.EOF (a local reader's)", len(items), err)
	}
	// Read again, a reader that ended cleanly yields nothing, as a local
	// one (it yielded ErrStreamClosed).
	if items, err := readAll(f); len(items) != 0 || err != nil {
		t.Fatalf("second read: got %d items, %v; want none, nil (a local reader's)", len(items), err)
	}
}

// TestStreamPositions: Since and Recent place a remote reader as they place
// a local one; a reader behind the journal gets *actor.TruncatedError.
func TestStreamPositions(t *testing.T) {
	s := startServer(t)
	srv, cli := startNode(t, s.ClientURL()), startNode(t, s.ClientURL())
	feed(t, srv)
	ctx := ctxTimeout(t, 30*time.Second)
	tests := []struct {
		name  string
		opts  []actor.FollowOption
		first uint64
		count int
	}{
		{"from the start", nil, 0, 50},
		{"since 45", []actor.FollowOption{actor.Since(45)}, 45, 5},
		{"recent 3", []actor.FollowOption{actor.Recent(3)}, 47, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := remote.BindStream(cli, "feed", Tail).Open(ctx, TailReq{N: 50}, tt.opts...)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			items, err := readAll(f)
			if err != nil || len(items) != tt.count || items[0].Seq != tt.first {
				t.Fatalf("got %d items from %v, %v; want %d from %d", len(items), items[0].Seq, err, tt.count, tt.first)
			}
		})
	}
	t.Run("truncated", func(t *testing.T) {
		f, err := remote.BindStream(cli, "feed", Short).Open(ctx, 100, actor.Since(3))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		_, err = f.Collected()
		var te *actor.TruncatedError
		if !errors.As(err, &te) || te.Oldest != 90 || !errors.Is(err, actor.ErrTruncated) {
			t.Fatalf("got %v; want *actor.TruncatedError{Oldest: 90}", err)
		}
	})
	t.Run("bad options", func(t *testing.T) {
		_, err := remote.BindStream(cli, "feed", Tail).Open(ctx, TailReq{}, actor.Since(1), actor.Recent(1))
		if !errors.Is(err, remote.ErrInvalidOption) {
			t.Fatalf("Since and Recent: got %v; want ErrInvalidOption", err)
		}
		_, err = remote.BindStream(cli, "feed", Tail).Open(ctx, TailReq{}, actor.Recent(-1))
		if !errors.Is(err, remote.ErrInvalidOption) || !errors.Is(err, actor.ErrInvalidOption) {
			t.Fatalf("Recent(-1): got %v; want ErrInvalidOption, remote's and actor's", err)
		}
		_, err = remote.BindStream(cli, "feed", Tail).Follow(ctx, "x", actor.ReadTimeout(-1))
		if !errors.Is(err, remote.ErrInvalidOption) || !errors.Is(err, actor.ErrNegativeDuration) {
			t.Fatalf("ReadTimeout(-1): got %v; want ErrInvalidOption and ErrNegativeDuration", err)
		}
		_, err = remote.BindStream(cli, "feed", Tail).Open(ctx, TailReq{}, nil)
		if !errors.Is(err, remote.ErrInvalidOption) {
			t.Fatalf("a nil option: got %v; want ErrInvalidOption", err)
		}
	})
}

// TestStreamReadTimeout: actor.ReadTimeout bounds a remote reader's wait
// for each item, as a local reader's: neither the loop body's time nor
// the heartbeats that come meanwhile count; past it the reader ends with
// ErrTimeout and is closed. Without it, the same reader waits on.
func TestStreamReadTimeout(t *testing.T) {
	s := startServer(t)
	hb := remote.WithHeartbeat(20 * time.Millisecond)
	srv, cli := startNode(t, s.ClientURL(), hb), startNode(t, s.ClientURL(), hb)
	feed(t, srv)
	// No deadline: a read timeout that did not work would end the reader
	// with the watchdog's cancel, not ErrTimeout.
	ctx, cancel := context.WithCancel(context.Background())
	watchdog := time.AfterFunc(20*time.Second, cancel)
	t.Cleanup(func() { watchdog.Stop(); cancel() })
	const d = 300 * time.Millisecond
	f, err := remote.BindStream(cli, "feed", Short).Open(ctx, 2, actor.ReadTimeout(d))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	var got []uint64
	var end error
	start := time.Now()
	for it, err := range f.All() {
		if err != nil {
			end = err
			break
		}
		got = append(got, it.Seq)
		if it.Seq == 0 {
			time.Sleep(2 * d) // the body's time: item 1 is there after it
		}
	}
	if !slices.Equal(got, []uint64{0, 1}) {
		t.Fatalf("read %v before the end; want items 0 and 1", got)
	}
	if !errors.Is(end, remote.ErrTimeout) || !errors.Is(end, actor.ErrTimeout) {
		t.Fatalf("end: got %v; want ErrTimeout", end)
	}
	if el := time.Since(start); el < 3*d {
		t.Fatalf("ended %v after the first read; want the body's %v and a wait of %v", el, 2*d, d)
	}
	// Read again, the reader gives its end again, as a local one (it
	// gave ErrStreamClosed).
	if _, err := readAll(f); !errors.Is(err, remote.ErrTimeout) {
		t.Fatalf("a read after the timeout: got %v; want ErrTimeout again (a local reader's)", err)
	}

	// The same stream read without a timeout is still open after as long.
	g, err := remote.BindStream(cli, "feed", Short).Open(ctx, 2)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer g.Close()
	rctx, rcancel := context.WithCancel(ctx)
	defer rcancel()
	h, err := remote.BindStream(cli, "feed", Short).Follow(rctx, g.Ref(), actor.Since(2))
	if err != nil {
		t.Fatalf("Follow: %v", err)
	}
	time.AfterFunc(2*d, rcancel)
	_, err = readAll(h)
	if !errors.Is(err, context.Canceled) || errors.Is(err, remote.ErrTimeout) {
		t.Fatalf("a reader without a timeout: got %v; want its ctx's end", err)
	}
}

// TestStreamReadTimeoutWithFramesWaiting: a read that begins with its
// timeout's bound already passed and a heartbeat waiting reads the
// heartbeat, then ends with ErrTimeout. Before the fix such a read
// waited on a bound already passed, which kept NextMsgWithContext from
// reading the waiting frame: it spun for ever.
func TestStreamReadTimeoutWithFramesWaiting(t *testing.T) {
	s := startServer(t)
	opts := []remote.Option{remote.WithHeartbeat(10 * time.Millisecond), remote.WithSilence(time.Minute)}
	srv, cli := startNode(t, s.ClientURL(), opts...), startNode(t, s.ClientURL(), opts...)
	feed(t, srv)
	ctx := ctxTimeout(t, 30*time.Second)
	f, err := remote.BindStream(cli, "feed", Short).Open(ctx, 1)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	ended := make(chan error, 1)
	go func() {
		for it, err := range f.All() {
			if err != nil {
				ended <- err
				return
			}
			if it.Seq != 0 {
				continue
			}
			// The body pauses until a heartbeat waits unread, then the
			// next read's timeout is over as soon as it begins.
			deadline := time.Now().Add(10 * time.Second)
			for {
				if msgs, _, _ := remote.FollowPending(f); msgs > 0 || time.Now().After(deadline) {
					break
				}
				time.Sleep(time.Millisecond)
			}
			remote.SetFollowTimeout(f, time.Nanosecond)
		}
		ended <- nil
	}()
	select {
	case err := <-ended:
		if !errors.Is(err, remote.ErrTimeout) {
			t.Fatalf("end: got %v; want ErrTimeout", err)
		}
	case <-time.After(15 * time.Second):
		f.Close()
		t.Fatal("the read past its timeout, with a frame waiting, did not end")
	}
}

// TestStreamErrors: a handler's error ends the remote stream as it ends a
// local one: before any item Open fails, after some it is the last pair.
func TestStreamErrors(t *testing.T) {
	s := startServer(t)
	srv, cli := startNode(t, s.ClientURL()), startNode(t, s.ClientURL())
	feed(t, srv)
	ctx := ctxTimeout(t, 30*time.Second)
	b := remote.BindStream(cli, "feed", Tail)
	_, err := b.Open(ctx, TailReq{Fail: "no log"})
	var re *remote.Error
	if !errors.As(err, &re) || re.Code != "tail_failed" || re.Message != "no log" {
		t.Fatalf("Open of a failing stream: got %v; want *remote.Error tail_failed", err)
	}
	f, err := b.Open(ctx, TailReq{N: 3, Fail: "disk gone"})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	items, err := f.Collected()
	if len(items) != 3 || !errors.As(err, &re) || re.Code != "tail_failed" || re.Message != "disk gone" {
		t.Fatalf("got %d items, %v; want 3 then *remote.Error tail_failed", len(items), err)
	}
	if _, err := remote.BindStream(cli, "nowhere", Tail).Open(ctx, TailReq{}); !errors.Is(err, remote.ErrNotFound) {
		t.Fatalf("Open of an unexported stream: got %v; want ErrNotFound", err)
	}
}

// TestStreamLive: a reader follows a stream as it grows, breaks out of
// All, and the serving node detaches its reader; a node that closes ends
// its streams with ErrClosed.
func TestStreamLive(t *testing.T) {
	s := startServer(t)
	srv, cli := startNode(t, s.ClientURL()), startNode(t, s.ClientURL())
	feed(t, srv)
	ctx := ctxTimeout(t, 30*time.Second)
	open := func() *remote.Follow[string] {
		f, err := remote.BindStream(cli, "feed", Live).Open(ctx, struct{}{})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return f
	}
	push := remote.Bind(cli, "feed", Push)
	f := open()
	if _, err := push.Call(ctx, 10); err != nil {
		t.Fatal(err)
	}
	got := 0
	for it, err := range f.All() {
		if err != nil {
			t.Fatalf("All: %v", err)
		}
		if it.Seq != uint64(got) {
			t.Fatalf("item %d has seq %d", got, it.Seq)
		}
		got++
		if got == 5 {
			break
		}
	}
	if err := f.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// A second reader of a new stream, ended by the serving node's Close.
	f2 := open()
	if _, err := push.Call(ctx, 1); err != nil {
		t.Fatal(err)
	}
	_ = srv.Close()
	items, err := f2.Collected()
	if !errors.Is(err, remote.ErrClosed) {
		t.Fatalf("after the serving node closed: %d items, %v; want ErrClosed", len(items), err)
	}
}

// TestStreamReconnect: frames lost while the reader's NATS server is down
// are sent again once its connection is back: every item arrives, in
// order, once.
func TestStreamReconnect(t *testing.T) {
	ctx := ctxTimeout(t, 60*time.Second)
	servers, err := embedded.Cluster(ctx, 2, embedded.WithoutJetStream())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range servers {
		t.Cleanup(s.Shutdown)
	}
	hb := remote.WithHeartbeat(100 * time.Millisecond)
	srv := startNode(t, servers[0].ClientURL(), hb)
	cli := startNode(t, servers[1].ClientURL()+","+servers[0].ClientURL(), hb,
		remote.WithNATSOptions(nats.DontRandomize(), nats.ReconnectWait(10*time.Millisecond)))
	ref := feed(t, srv)
	waitServed(t, cli, "feed") // interest crosses the route asynchronously
	f, err := remote.BindStream(cli, "feed", Live).Open(ctx, struct{}{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	const total = 3000
	go func() {
		for i := 0; i < total; i += 10 {
			if _, err := Push.Call(ctx, ref, 10); err != nil {
				return
			}
			if i == total/3 {
				servers[1].Shutdown() // the reader's server dies mid-stream
			}
			time.Sleep(100 * time.Microsecond)
		}
	}()
	readLines(t, f, total, nil)
}

// readLines reads f's first n items, which must be "line 0", "line 1", …
// in sequence order, calling after (if not nil) with the count read after
// each; it fails t on an error or a short stream.
func readLines(t *testing.T, f *remote.Follow[string], n uint64, after func(read uint64)) {
	t.Helper()
	next := uint64(0)
	for it, err := range f.All() {
		if err != nil {
			t.Fatalf("after %d items: %v", next, err)
		}
		if it.Seq != next || it.V != fmt.Sprintf("line %d", next) {
			t.Fatalf("got %+v; want seq %d", it, next)
		}
		if next++; after != nil {
			after(next)
		}
		if next == n {
			return
		}
	}
	t.Fatalf("got %d items; want %d", next, n)
}

// TestStreamPausedReader: a reader that stops reading for ten heartbeats
// is not flooded: the serving node sends its window once and then only
// heartbeats (no resend while the reader reports nothing missing), so
// the reader's subscription drops nothing (no ReasonDropped), and every
// item still arrives, in order, once. The serving node used to resend the
// whole window at every heartbeat without progress, which overflowed the
// reader's pending limit (4 windows) within four heartbeats: All ended
// with "slow consumer, messages dropped". And a reader resumed after
// three heartbeats got ErrStreamLost, its frames waiting unread.
func TestStreamPausedReader(t *testing.T) {
	s := startServer(t)
	const hb = 50 * time.Millisecond
	rs := newRefusals()
	srv := startNode(t, s.ClientURL(), remote.WithHeartbeat(hb))
	cli := startNode(t, s.ClientURL(), remote.WithHeartbeat(hb), remote.WithRefusalHook(rs.hook))
	feed(t, srv)
	// Count the item frames on the wire, resends included.
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	var frames atomic.Int64
	sub, err := nc.Subscribe("_INBOX.>", func(m *nats.Msg) {
		if len(m.Data) > 1 && m.Data[0] == 'i' {
			frames.Add(1)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = sub.SetPendingLimits(-1, -1)
	_ = nc.Flush()
	ctx := ctxTimeout(t, 60*time.Second)
	const total = 2000
	f, err := remote.BindStream(cli, "feed", Tail).Open(ctx, TailReq{N: total})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	readLines(t, f, total, func(read uint64) {
		if read == 1 {
			time.Sleep(10 * hb) // the reader pauses
		}
	})
	_ = nc.Flush()
	rs.mu.Lock()
	dropped := 0
	for _, r := range rs.got {
		if r.Reason == remote.ReasonDropped {
			dropped++
		}
	}
	rs.mu.Unlock()
	// A window's worth of resends is tolerated (a frame the machine's load
	// made look lost); the old keeper resent a window per heartbeat.
	if resent := frames.Load() - total; dropped != 0 || resent > 256 {
		t.Fatalf("got %d ReasonDropped refusals and %d frames resent; want 0 and at most 256", dropped, resent)
	}
}

// TestStreamBindErrors: a bad stream binding fails every Open with its
// sentinel.
func TestStreamBindErrors(t *testing.T) {
	s := startServer(t)
	cli := startNode(t, s.ClientURL())
	var nilStream *actor.Stream[*Feed, TailReq, string]
	ctx := ctxTimeout(t, 5*time.Second)
	tests := []struct {
		name string
		b    *remote.StreamBinding[TailReq, string]
		want error
	}{
		{"nil node", remote.BindStream(nil, "feed", Tail), remote.ErrNilNode},
		{"nil stream", remote.BindStream(cli, "feed", nilStream), remote.ErrNilRef},
		{"bad name", remote.BindStream(cli, "a b", Tail), remote.ErrInvalidName},
		{"nil option", remote.BindStream(cli, "feed", Tail, nil), remote.ErrInvalidOption},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.b.Open(ctx, TailReq{}); !errors.Is(err, tt.want) {
				t.Fatalf("got %v; want %v", err, tt.want)
			}
		})
	}
	var f *remote.Follow[string]
	if err := f.Close(); !errors.Is(err, actor.ErrNilStream) {
		t.Fatalf("nil Close: got %v; want ErrNilStream", err)
	}
}

// TestStreamFollowRef: a reader's Ref lets a reader on another node attach
// to the running stream and resume where the first one stopped.
func TestStreamFollowRef(t *testing.T) {
	s := startServer(t)
	srv, cli, cli2 := startNode(t, s.ClientURL()), startNode(t, s.ClientURL()), startNode(t, s.ClientURL())
	feed(t, srv)
	ctx := ctxTimeout(t, 30*time.Second)
	f, err := remote.BindStream(cli, "feed", Live).Open(ctx, struct{}{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	push := remote.Bind(cli, "feed", Push)
	if _, err := push.Call(ctx, 3); err != nil {
		t.Fatal(err)
	}
	var last uint64
	n := 0
	for it, err := range f.All() {
		if err != nil {
			t.Fatal(err)
		}
		last, n = it.Seq, n+1
		if n == 3 {
			break
		}
	}
	ref := f.Ref()
	if _, err := push.Call(ctx, 4); err != nil {
		t.Fatal(err)
	}
	g, err := remote.BindStream(cli2, "feed", Live).Follow(ctx, ref, actor.Since(last+1))
	if err != nil {
		t.Fatalf("Follow(%q): %v", ref, err)
	}
	if g.ID() != f.ID() {
		t.Fatalf("followed stream %d; want %d", g.ID(), f.ID())
	}
	want := last + 1
	for it, err := range g.All() {
		if err != nil {
			t.Fatal(err)
		}
		if it.Seq != want || it.V != fmt.Sprintf("line %d", want) {
			t.Fatalf("got %+v; want seq %d", it, want)
		}
		if want++; want == 7 {
			break
		}
	}
	tests := []struct {
		name string
		ref  string
		want error
	}{
		{"malformed", "no-hash", remote.ErrBadRequest},
		{"unknown id", ref[:strings.LastIndexByte(ref, '#')] + "#999999", remote.ErrNotFound},
		{"gone node", "_INBOX.nobody.f#1", remote.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := remote.BindStream(cli2, "feed", Live).Follow(ctx, tt.ref); !errors.Is(err, tt.want) {
				t.Fatalf("Follow(%q): got %v; want %v", tt.ref, err, tt.want)
			}
		})
	}
}

// TestCloseStreamOpening: Close cancels a stream still opening — queued at
// its actor behind a served call — with the calls it serves, and its
// reader is told ErrClosed. The stop used to wait for the opening streams
// before it cancelled the served calls: the open waited out the runtime's
// call timeout behind the call, and its reader got ErrTimeout.
func TestCloseStreamOpening(t *testing.T) {
	s := startServer(t)
	srv, cli := startNode(t, s.ClientURL()), startNode(t, s.ClientURL())
	ref, fd := exportHeldFeed(t, srv)
	ctx := ctxTimeout(t, time.Hour)
	held := remote.Bind(cli, "feed", Hold).Ask(ctx, 1)
	<-fd.held
	opened := make(chan error, 1)
	go func() {
		_, err := remote.BindStream(cli, "feed", Live).Open(ctx, struct{}{})
		opened <- err
	}()
	for ref.Queued() < 1 { // the open waits behind Hold
		time.Sleep(time.Millisecond)
	}
	if err := srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := held.Await(ctxTimeout(t, 10*time.Second)); !errors.Is(err, remote.ErrClosed) {
		t.Fatalf("call: got %v; want ErrClosed", err)
	}
	if err := <-opened; !errors.Is(err, remote.ErrClosed) {
		t.Fatalf("Open: got %v; want ErrClosed", err)
	}
}

// TestCancelBeforeFollow: a cancel that reaches the serving node before
// the follow request it names (as TestCancelBeforeCall, for
// StreamBinding.Follow) drops the follow before a reader is attached: no
// frame is sent, and it is reported. Before, onFollow did not look for
// early cancels: the stream ran for a reader long gone until it was
// dropped for its silence.
func TestCancelBeforeFollow(t *testing.T) {
	s := startServer(t)
	rs := newRefusals()
	srv, cli := startNode(t, s.ClientURL(), remote.WithRefusalHook(rs.hook)), startNode(t, s.ClientURL())
	feed(t, srv)
	ctx := ctxTimeout(t, 30*time.Second)
	f, err := remote.BindStream(cli, "feed", Live).Open(ctx, struct{}{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer func() { _ = f.Close() }()
	subj, id, _ := strings.Cut(f.Ref(), "#")
	inbox, sub := cancelledInbox(t, srv, cli)
	m := &nats.Msg{Subject: subj, Reply: inbox, Header: nats.Header{
		"Troupe-Stream": {"follow"}, "Troupe-Stream-Id": {id}, "Troupe-Export": {"feed.live"},
		"Troupe-Timeout": {"10000000000"}}}
	if err := cli.Conn().PublishMsg(m); err != nil {
		t.Fatal(err)
	}
	if r := rs.wait(t); r.Reason != remote.ReasonCancelled || r.Method != "live" {
		t.Fatalf("refusal %+v; want cancelled, live", r)
	}
	if frame, err := sub.NextMsg(100 * time.Millisecond); err == nil {
		t.Fatalf("got a frame %q; want none (the reader gave up)", frame.Data)
	}
}

// bang is JSON behind a '!': what JSON alone cannot decode.
type bang struct{}

func (bang) Name() string { return "bang" }
func (bang) Marshal(v any) ([]byte, error) {
	b, err := remote.JSON.Marshal(v)
	return append([]byte{'!'}, b...), err
}
func (bang) Unmarshal(d []byte, v any) error {
	if len(d) == 0 || d[0] != '!' {
		return errors.New("bang: no '!'")
	}
	return remote.JSON.Unmarshal(d[1:], v)
}

// TestStreamCodec: a stream binding's codec (WithCodec) is the one the
// serving node decodes the request and encodes the items with. BindStream
// did not name it on the wire, so the serving node used JSON: Open failed
// with ErrBadRequest.
func TestStreamCodec(t *testing.T) {
	s := startServer(t)
	srv := startNode(t, s.ClientURL(), remote.WithCodecs(bang{}))
	cli := startNode(t, s.ClientURL())
	feed(t, srv)
	ctx := ctxTimeout(t, 10*time.Second)
	f, err := remote.BindStream(cli, "feed", Tail, remote.WithCodec(bang{})).Open(ctx, TailReq{N: 3})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	items, err := readAll(f)
	if err != nil || len(items) != 3 || items[2].V != "line 2" {
		t.Fatalf("got %v, %v; want 3 lines", items, err)
	}
}

// fatLines is JSON with every string padded to 5000 bytes.
type fatLines struct{}

func (fatLines) Name() string { return "fat-lines" }
func (fatLines) Marshal(v any) ([]byte, error) {
	b, err := remote.JSON.Marshal(v)
	if _, ok := v.(string); ok {
		b = append(b, strings.Repeat(" ", 5000)...)
	}
	return b, err
}
func (fatLines) Unmarshal(d []byte, v any) error { return remote.JSON.Unmarshal(d, v) }

// TestStreamItemTooLarge: an item over the server's maximum payload, or
// over the serving node's WithMaxMessage, ends the remote stream with
// ErrTooLarge after the items before it. Its frame could not be
// published: the reader reported the gap, the resend failed too, and the
// stream stalled for ever — heartbeats kept it alive.
func TestStreamItemTooLarge(t *testing.T) {
	for _, tt := range []struct {
		name string
		srv  []embedded.Option
		node []remote.Option
	}{
		{"server max payload", []embedded.Option{embedded.WithMaxPayload(4096)}, nil},
		{"node max message", nil, []remote.Option{remote.WithMaxMessage(4096)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, tt.srv...)
			hb := remote.WithHeartbeat(20 * time.Millisecond)
			srv := startNode(t, s.ClientURL(), append(tt.node, hb, remote.WithCodecs(fatLines{}))...)
			cli := startNode(t, s.ClientURL(), hb)
			feed(t, srv)
			ctx := ctxTimeout(t, 10*time.Second)
			f, err := remote.BindStream(cli, "feed", Tail, remote.WithCodec(fatLines{})).Open(ctx, TailReq{N: 3})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			items, err := f.Collected()
			if len(items) != 0 || !errors.Is(err, remote.ErrTooLarge) {
				t.Fatalf("got %d items, %v; want 0 and ErrTooLarge", len(items), err)
			}
		})
	}
}

// TestFollowBadRef: a ref that names no subject a follow can be sent to
// (control characters; longer than a server takes on a control line,
// which would cost the node its connection) is ErrBadRequest, and the
// node's connection stays up.
func TestFollowBadRef(t *testing.T) {
	s := startServer(t)
	srv, cli := startNode(t, s.ClientURL()), startNode(t, s.ClientURL())
	feed(t, srv)
	ctx := ctxTimeout(t, 30*time.Second)
	var reconnects atomic.Int32
	cli.Conn().SetReconnectHandler(func(*nats.Conn) { reconnects.Add(1) })
	cli.Conn().SetDisconnectErrHandler(func(*nats.Conn, error) { reconnects.Add(1) })
	for _, ref := range []string{"_INBOX.x\r\nPING.f#1", "_INBOX.x\n.f#1", "_INBOX." + strings.Repeat("a", 8<<10) + ".f#1"} {
		if _, err := remote.BindStream(cli, "feed", Live).Follow(ctx, ref); !errors.Is(err, remote.ErrBadRequest) {
			t.Errorf("Follow(%.40q): got %v; want ErrBadRequest", ref, err)
		}
	}
	if _, err := remote.Bind(cli, "feed", Push).Call(ctx, 0); err != nil {
		t.Fatalf("a call after the bad refs: %v", err)
	}
	if k := reconnects.Load(); k != 0 {
		t.Fatalf("the node's connection dropped %d times", k)
	}
}
