package remote_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/remote"
)

// wantLines checks that items are lines from..to-1 with their sequence
// numbers.
func wantLines(t *testing.T, what string, items []actor.Item[string], from, to int) {
	t.Helper()
	if len(items) != to-from {
		t.Fatalf("%s: got %d items %v; want %d, %d to %d", what, len(items), items, to-from, from, to-1)
	}
	for i, it := range items {
		if n := from + i; it.Seq != uint64(n) || it.V != fmt.Sprintf("line %d", n) {
			t.Fatalf("%s: item %d = %+v; want seq %d line %d", what, i, it, n, n)
		}
	}
}

// TestStreamCollectedLive: Collected on a live stream, one that has items
// and does not end, returns them at once with a nil error, as a local
// reader's does (harp's stream: what is there now, without waiting); a
// second Collected returns only the items that came since, none if none
// did; more than a window of items waiting is returned whole. It used to
// read the stream to its end: on a stream that never ends it waited until
// its ctx ended (here, 20 seconds), then returned the ctx's end.
func TestStreamCollectedLive(t *testing.T) {
	s := startServer(t)
	srv, cli := startNode(t, s.ClientURL()), startNode(t, s.ClientURL())
	feed(t, srv)
	ctx := ctxTimeout(t, 20*time.Second)
	f, err := remote.BindStream(cli, "feed", Live).Open(ctx, struct{}{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer f.Close()
	push := remote.Bind(cli, "feed", Push)
	if _, err := push.Call(ctx, 10); err != nil {
		t.Fatal(err)
	}
	items, err := f.Collected()
	if err != nil {
		t.Fatalf("Collected on a live stream: %v (%d items); want its 10 items and nil", err, len(items))
	}
	wantLines(t, "first Collected", items, 0, 10)

	items, err = f.Collected()
	if err != nil || len(items) != 0 {
		t.Fatalf("Collected with nothing new: %v, %v; want none, nil", items, err)
	}

	if _, err := push.Call(ctx, 5); err != nil {
		t.Fatal(err)
	}
	items, err = f.Collected()
	if err != nil {
		t.Fatalf("second Collected: %v", err)
	}
	wantLines(t, "second Collected", items, 10, 15)

	// More than a window (256 frames) waits on the serving node.
	if _, err := push.Call(ctx, 1000); err != nil {
		t.Fatal(err)
	}
	items, err = f.Collected()
	if err != nil {
		t.Fatalf("Collected of 1000 items: %v", err)
	}
	wantLines(t, "Collected of 1000 items", items, 15, 1015)

	// All goes on from there.
	if _, err := push.Call(ctx, 1); err != nil {
		t.Fatal(err)
	}
	for it, err := range f.All() {
		if err != nil || it.Seq != 1015 {
			t.Fatalf("All after Collected: %+v, %v; want item 1015", it, err)
		}
		break
	}
}

// TestStreamCollectedEnd: after a clean end, Collected returns the items
// left, then io.EOF (errors.Is), as a local reader's; later calls return
// io.EOF again. After an error end, the items left and the stream's
// error. With a reader placed past the stream's end, io.EOF alone.
func TestStreamCollectedEnd(t *testing.T) {
	s := startServer(t)
	srv, cli := startNode(t, s.ClientURL()), startNode(t, s.ClientURL())
	feed(t, srv)
	ctx := ctxTimeout(t, 20*time.Second)
	b := remote.BindStream(cli, "feed", Tail)

	f, err := b.Open(ctx, TailReq{N: 5}) // it has ended when Open returns
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	items, err := f.Collected()
	if !errors.Is(err, io.EOF) {
		t.Fatalf("Collected of an ended stream: %v; want io.EOF", err)
	}
	wantLines(t, "Collected of an ended stream", items, 0, 5)
	for range 2 {
		if items, err := f.Collected(); len(items) != 0 || !errors.Is(err, io.EOF) {
			t.Fatalf("Collected after the end: %v, %v; want none, io.EOF", items, err)
		}
	}

	// Part read with All, the rest with Collected.
	f, err = b.Open(ctx, TailReq{N: 5})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	for it, err := range f.All() {
		if err != nil {
			t.Fatal(err)
		}
		if it.Seq == 1 {
			break
		}
	}
	if items, err := f.Collected(); len(items) != 0 || !errors.Is(err, remote.ErrStreamClosed) {
		t.Fatalf("Collected after a break out of All: %v, %v; want ErrStreamClosed, as a local reader's", items, err)
	}

	f, err = b.Open(ctx, TailReq{N: 3, Fail: "disk gone"})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	items, err = f.Collected()
	var re *remote.Error
	if !errors.As(err, &re) || re.Code != "tail_failed" {
		t.Fatalf("Collected of a failed stream: %v; want its *remote.Error", err)
	}
	wantLines(t, "Collected of a failed stream", items, 0, 3)
	if _, err := f.Collected(); !errors.As(err, &re) || re.Code != "tail_failed" {
		t.Fatalf("Collected after the error: %v; want it again", err)
	}

	f, err = b.Open(ctx, TailReq{N: 5}, actor.Since(100))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if items, err := f.Collected(); len(items) != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("Collected past the end: %v, %v; want none, io.EOF", items, err)
	}
}

// TestStreamCollectedPositions: Collected after a Since or Recent placement
// returns from that position on a live stream, nothing while the reader
// is placed past what the stream holds, then the items from its position.
func TestStreamCollectedPositions(t *testing.T) {
	s := startServer(t)
	srv, cli := startNode(t, s.ClientURL()), startNode(t, s.ClientURL())
	feed(t, srv)
	ctx := ctxTimeout(t, 20*time.Second)
	g, err := remote.BindStream(cli, "feed", Live).Open(ctx, struct{}{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer g.Close()
	push := remote.Bind(cli, "feed", Push)
	if _, err := push.Call(ctx, 10); err != nil {
		t.Fatal(err)
	}
	follow := func(opts ...actor.FollowOption) *remote.Follow[string] {
		t.Helper()
		f, err := remote.BindStream(cli, "feed", Live).Follow(ctx, g.Ref(), opts...)
		if err != nil {
			t.Fatalf("Follow: %v", err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	since, recent, past := follow(actor.Since(7)), follow(actor.Recent(2)), follow(actor.Since(20))
	items, err := since.Collected()
	if err != nil {
		t.Fatalf("Since(7): %v", err)
	}
	wantLines(t, "Since(7)", items, 7, 10)
	items, err = recent.Collected()
	if err != nil {
		t.Fatalf("Recent(2): %v", err)
	}
	wantLines(t, "Recent(2)", items, 8, 10)
	if items, err := past.Collected(); err != nil || len(items) != 0 {
		t.Fatalf("Since(20) with 10 items: %v, %v; want none, nil", items, err)
	}
	if _, err := push.Call(ctx, 15); err != nil {
		t.Fatal(err)
	}
	items, err = past.Collected()
	if err != nil {
		t.Fatalf("Since(20) with 25 items: %v", err)
	}
	wantLines(t, "Since(20) with 25 items", items, 20, 25)
	items, err = since.Collected()
	if err != nil {
		t.Fatalf("Since(7) again: %v", err)
	}
	wantLines(t, "Since(7) again", items, 10, 25)
}

// TestStreamCollectedReadTimeout: a reader's read timeout bounds its waits
// for items, and Collected does not wait for any beyond what the stream
// holds: on an idle stream it returns at once, however long past the
// read timeout, with a nil error.
func TestStreamCollectedReadTimeout(t *testing.T) {
	s := startServer(t)
	srv, cli := startNode(t, s.ClientURL()), startNode(t, s.ClientURL())
	feed(t, srv)
	ctx := ctxTimeout(t, 20*time.Second)
	const d = 50 * time.Millisecond
	f, err := remote.BindStream(cli, "feed", Short).Open(ctx, 3, actor.ReadTimeout(d))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer f.Close()
	time.Sleep(3 * d) // the read timeout passes with nobody reading: no read waited
	items, err := f.Collected()
	if err != nil {
		t.Fatalf("Collected: %v", err)
	}
	wantLines(t, "Collected", items, 0, 3)
	time.Sleep(3 * d)
	if items, err := f.Collected(); err != nil || len(items) != 0 {
		t.Fatalf("Collected on the idle stream: %v, %v; want none, nil", items, err)
	}
}

// TestStreamCollectedLostQuestion: a Collected whose question to the
// serving node is lost asks again after a heartbeat, and returns what
// the stream holds.
func TestStreamCollectedLostQuestion(t *testing.T) {
	s := startServer(t)
	hb := remote.WithHeartbeat(20 * time.Millisecond)
	var dropped atomic.Int32
	drop := remote.WithDropControl(func(data []byte) bool {
		return len(data) > 0 && data[0] == 'm' && dropped.Add(1) == 1
	})
	quiet := remote.WithSilence(10 * time.Second)
	srv, cli := startNode(t, s.ClientURL(), hb, drop, quiet), startNode(t, s.ClientURL(), hb, quiet)
	feed(t, srv)
	ctx := ctxTimeout(t, 20*time.Second)
	f, err := remote.BindStream(cli, "feed", Short).Open(ctx, 3)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer f.Close()
	items, err := f.Collected()
	if err != nil {
		t.Fatalf("Collected: %v", err)
	}
	wantLines(t, "Collected", items, 0, 3)
	if dropped.Load() < 2 {
		t.Fatalf("%d questions; want the lost one and another", dropped.Load())
	}
}

// TestStreamCollectedServerGone: a serving node that closes while a
// Collected waits for its answer ends it with ErrClosed, after the items
// it sent; one that vanishes, with ErrStreamLost; one that lives but
// never answers (a node that does not know the question), with
// ErrTimeout after the node's call timeout. Never a hang; the reader is
// closed, and a later Collected returns the same end.
func TestStreamCollectedServerGone(t *testing.T) {
	t.Run("closed", func(t *testing.T) {
		s := startServer(t)
		var asked atomic.Int32
		drop := remote.WithDropControl(func(data []byte) bool {
			if len(data) > 0 && data[0] == 'm' {
				asked.Add(1)
				return true // never answered
			}
			return false
		})
		srv, cli := startNode(t, s.ClientURL(), drop), startNode(t, s.ClientURL())
		feed(t, srv)
		ctx := ctxTimeout(t, 30*time.Second)
		f, err := remote.BindStream(cli, "feed", Short).Open(ctx, 3)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		type result struct {
			items []actor.Item[string]
			err   error
		}
		done := make(chan result, 1)
		go func() {
			items, err := f.Collected()
			done <- result{items, err}
		}()
		for deadline := time.Now().Add(10 * time.Second); asked.Load() == 0; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				_ = srv.Close()
				t.Fatalf("Collected never asked the serving node (it ended with %v)", (<-done).err)
			}
		}
		_ = srv.Close()
		res := <-done
		if !errors.Is(res.err, remote.ErrClosed) {
			t.Fatalf("Collected as its serving node closed: %v, %v; want ErrClosed", res.items, res.err)
		}
		wantLines(t, "Collected as its serving node closed", res.items, 0, 3)
		if _, err := f.Collected(); !errors.Is(err, remote.ErrClosed) {
			t.Fatalf("Collected after: %v; want ErrClosed again", err)
		}
	})

	// A fake serving node, a bare NATS client: it opens the stream and
	// sends heartbeats until stopped, and answers no question.
	fake := func(t *testing.T, url string, hb time.Duration) (asked <-chan struct{}, vanish func()) {
		t.Helper()
		nc, err := nats.Connect(url)
		if err != nil {
			t.Fatal(err)
		}
		ctrl := nc.NewInbox()
		q := make(chan struct{}, 100)
		_, err = nc.Subscribe(ctrl, func(m *nats.Msg) {
			if len(m.Data) > 0 && m.Data[0] == 'm' {
				select {
				case q <- struct{}{}:
				default:
				}
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		stop := make(chan struct{})
		beating := make(chan struct{})
		_, err = nc.Subscribe("troupe.feed.live", func(m *nats.Msg) {
			open := binary.AppendUvarint([]byte{'o', 0}, 1)
			_ = nc.Publish(m.Reply, append(open, ctrl...))
			go func() {
				defer close(beating)
				tk := time.NewTicker(hb)
				defer tk.Stop()
				for {
					select {
					case <-stop:
						return
					case <-tk.C:
						_ = nc.Publish(m.Reply, binary.AppendUvarint([]byte{'h'}, 1))
					}
				}
			}()
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := nc.Flush(); err != nil {
			t.Fatal(err)
		}
		var once atomic.Bool
		vanish = func() {
			if once.CompareAndSwap(false, true) {
				close(stop)
				<-beating
				nc.Close()
			}
		}
		t.Cleanup(vanish)
		return q, vanish
	}

	t.Run("vanished", func(t *testing.T) {
		s := startServer(t)
		const hb = 50 * time.Millisecond
		cli := startNode(t, s.ClientURL(), remote.WithHeartbeat(hb), remote.WithSilence(time.Second), remote.WithCallTimeout(time.Minute))
		asked, vanish := fake(t, s.ClientURL(), hb)
		ctx := ctxTimeout(t, 30*time.Second)
		f, err := remote.BindStream(cli, "feed", Live).Open(ctx, struct{}{})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		done := make(chan error, 1)
		go func() {
			_, err := f.Collected()
			done <- err
		}()
		select {
		case <-asked:
		case err := <-done:
			t.Fatalf("Collected returned before the serving node vanished: %v", err)
		}
		vanish()
		if err := <-done; !errors.Is(err, remote.ErrStreamLost) {
			t.Fatalf("Collected as its serving node vanished: %v; want ErrStreamLost", err)
		}
	})

	t.Run("no answer", func(t *testing.T) {
		s := startServer(t)
		const hb = 20 * time.Millisecond
		cli := startNode(t, s.ClientURL(), remote.WithHeartbeat(hb), remote.WithSilence(time.Minute), remote.WithCallTimeout(500*time.Millisecond))
		asked, _ := fake(t, s.ClientURL(), hb)
		// No deadline: the call timeout ends the wait, not the watchdog's
		// cancel.
		ctx, cancel := context.WithCancel(context.Background())
		watchdog := time.AfterFunc(20*time.Second, cancel)
		defer func() { watchdog.Stop(); cancel() }()
		f, err := remote.BindStream(cli, "feed", Live).Open(ctx, struct{}{})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		if _, err := f.Collected(); !errors.Is(err, remote.ErrTimeout) {
			t.Fatalf("Collected never answered: %v; want ErrTimeout", err)
		}
		if len(asked) < 2 {
			t.Fatalf("asked %d times; want the question asked again after a heartbeat", len(asked))
		}
		if _, err := f.Collected(); !errors.Is(err, remote.ErrTimeout) {
			t.Fatalf("Collected after: %v; want ErrTimeout again", err)
		}
	})
}
