package remote_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/remote"
	"github.com/troupe-go/troupe/remote/embedded"
)

// Seq records the order casts arrive in.
type Seq struct {
	got  []int
	done chan struct{}
	want int
}

var (
	Note = actor.NewMethod("note", func(s *Seq, c *actor.Ctx, n int) (struct{}, error) {
		s.got = append(s.got, n)
		if len(s.got) == s.want {
			close(s.done)
		}
		return struct{}{}, nil
	})
	Notes = actor.NewMethod("notes", func(s *Seq, c *actor.Ctx, _ struct{}) ([]int, error) {
		return append([]int(nil), s.got...), nil
	})
)

// TestCastOrder: many casts from one binding — batched on the way — all
// arrive, in the order they were made.
func TestCastOrder(t *testing.T) {
	s := startServer(t)
	srv := startNode(t, s.ClientURL())
	cli := startNode(t, s.ClientURL())
	const total = 20000
	seq := &Seq{done: make(chan struct{}), want: total}
	ref, err := actor.Spawn(srv.Runtime(), seq)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Export(srv, "seq", ref, remote.Serve(Note), remote.Serve(Notes)); err != nil {
		t.Fatal(err)
	}
	b := remote.Bind(cli, "seq", Note)
	for i := range total {
		if err := b.Cast(i); err != nil {
			t.Fatalf("Cast %d: %v", i, err)
		}
	}
	select {
	case <-seq.done:
	case <-time.After(30 * time.Second):
	}
	got, err := remote.Bind(cli, "seq", Notes).Call(ctxTimeout(t, 10*time.Second), struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != total {
		t.Fatalf("received %d casts; want %d", len(got), total)
	}
	for i, v := range got {
		if v != i {
			t.Fatalf("cast %d arrived as number %d; want send order", v, i)
		}
	}
}

// TestShutdownFlushesCasts: casts queued just before a graceful Shutdown
// are published before the connection closes.
func TestShutdownFlushesCasts(t *testing.T) {
	s := startServer(t)
	srv := startNode(t, s.ClientURL())
	cli := startNode(t, s.ClientURL())
	const total = 5000
	seq := &Seq{done: make(chan struct{}), want: total}
	ref, err := actor.Spawn(srv.Runtime(), seq)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Export(srv, "seq", ref, remote.Serve(Note)); err != nil {
		t.Fatal(err)
	}
	b := remote.Bind(cli, "seq", Note, remote.WithHeader("Tenant", "t1")) // the batch carries headers too
	for i := range total {
		if err := b.Cast(i); err != nil {
			t.Fatalf("Cast %d: %v", i, err)
		}
	}
	if err := cli.Shutdown(ctxTimeout(t, 10*time.Second)); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	select {
	case <-seq.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("received %d casts after Shutdown; want %d", len(seq.got), total)
	}
	if err := b.Cast(1); !errors.Is(err, remote.ErrClosed) {
		t.Fatalf("Cast after Shutdown: got %v; want ErrClosed", err)
	}
}

// TestMalformedBatch: a batch whose framing or count is wrong is refused
// and reported; its well-formed frames before the damage are delivered.
func TestMalformedBatch(t *testing.T) {
	rs := newRefusals()
	_, cli, _, _ := pair(t, remote.WithRefusalHook(rs.hook))
	tests := []struct {
		name  string
		count string
		body  []byte
	}{
		{"bad count", "x", []byte{1, '1'}},
		{"zero count", "0", []byte{1, '1'}},
		{"short frame", "2", []byte{1, '1', 9, '2'}},
		{"trailing bytes", "1", []byte{1, '1', 0xff}},
		{"bad json", "1", []byte{1, '{'}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &nats.Msg{Subject: "troupe.acct.deposit", Data: tt.body, Header: nats.Header{"Troupe-Batch": {tt.count}}}
			if err := cli.Conn().PublishMsg(m); err != nil {
				t.Fatal(err)
			}
			if r := rs.wait(t); r.Reason != remote.ReasonMalformed || !errors.Is(r.Err, remote.ErrBadRequest) {
				t.Fatalf("refusal %+v; want malformed with ErrBadRequest", r)
			}
		})
	}
	// A good frame before a damaged one still runs: "short frame" and
	// "trailing bytes" each delivered a deposit of 1 (queued before the
	// call below, so counted by it).
	bal, err := remote.Bind(cli, "acct", Balance).Call(ctxTimeout(t, 10*time.Second), struct{}{})
	if err != nil || bal != 2 {
		t.Fatalf("balance = %d, %v; want 2, nil", bal, err)
	}
}

// TestCastBatchMaxPayload: casts that each fit the server's maximum
// payload all arrive, however the binding batches them (batches of up to
// 64 KiB over a server whose maximum is 4 KiB lost 48 casts of 50).
func TestCastBatchMaxPayload(t *testing.T) {
	s := startServer(t, embedded.WithMaxPayload(4096))
	srv := startNode(t, s.ClientURL())
	rf := newRefusals()
	cli := startNode(t, s.ClientURL(), remote.WithRefusalHook(rf.hook))
	_, a := export(t, srv, "acct")
	b := remote.Bind(cli, "acct", Echo)
	const total = 50
	msg := strings.Repeat("x", 3000)
	for i := range total {
		if err := b.Cast(msg); err != nil {
			t.Fatalf("Cast %d: %v", i, err)
		}
	}
	deadline := time.Now().Add(20 * time.Second)
	for a.hits.Load() < total && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := a.hits.Load(); got != total {
		rf.mu.Lock()
		t.Fatalf("received %d casts; want %d (refusals on the caster: %v)", got, total, rf.got)
	}
}

// TestCastBatchOverServingLimit: a serving node holds a batch of casts to
// its WithMaxMessage cast by cast, not as a whole: casts that each fit
// arrive although their batch (up to 64 KiB, the sender's own limit) is
// larger; one cast over the limit in a batch is refused alone. Before,
// every batch over 1 KiB was refused whole: 111 of the 500 arrived.
func TestCastBatchOverServingLimit(t *testing.T) {
	s := startServer(t)
	rs := newRefusals()
	srv := startNode(t, s.ClientURL(), remote.WithMaxMessage(1024), remote.WithRefusalHook(rs.hook))
	cli := startNode(t, s.ClientURL())
	_, a := export(t, srv, "acct")
	b := remote.Bind(cli, "acct", Echo)
	const total = 500
	for i := range total + 1 {
		msg := strings.Repeat("x", 100)
		if i == total/2 {
			msg = strings.Repeat("y", 2000) // over the serving node's limit
		}
		if err := b.Cast(msg); err != nil {
			t.Fatalf("Cast %d: %v", i, err)
		}
	}
	if r := rs.wait(t); r.Reason != remote.ReasonTooLarge {
		t.Fatalf("refusal %+v; want reason %s", r, remote.ReasonTooLarge)
	}
	deadline := time.Now().Add(20 * time.Second)
	for a.hits.Load() < total && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := a.hits.Load(); got != total {
		t.Fatalf("received %d casts; want %d", got, total)
	}
}

// TestCastLostReported: a cast Cast accepted but the connection then
// refused is reported to the refusal hook, whichever goroutine published
// its batch (the flusher, or a later Cast that found the batch full).
func TestCastLostReported(t *testing.T) {
	s := startServer(t)
	rf := newRefusals()
	cli := startNode(t, s.ClientURL(), remote.WithRefusalHook(rf.hook), remote.WithCallTimeout(time.Second),
		remote.WithNATSOptions(nats.ReconnectBufSize(-1))) // publishing while disconnected fails at once
	b := remote.Bind(cli, "acct", Echo)
	serverDown(t, s, cli)
	deadline := time.Now().Add(20 * time.Second)
	msg := strings.Repeat("x", 2000)
	accepted := 0
	for range 200 {
		if b.Cast(msg) == nil {
			accepted++
		}
	}
	lost := func() int {
		rf.mu.Lock()
		defer rf.mu.Unlock()
		sum := 0
		for _, r := range rf.got {
			var k int
			if r.Reason == remote.ReasonCastFailed {
				if _, err := fmt.Sscanf(r.Err.Error(), "%d casts lost", &k); err == nil {
					sum += k
				}
			}
		}
		return sum
	}
	for lost() < accepted && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if got := lost(); got != accepted {
		t.Fatalf("%d casts reported lost; want the %d that Cast accepted", got, accepted)
	}
}

// TestCastBufferFull: a Cast that publishes a full batch itself while the
// connection is down and nats.go's reconnect buffer is full returns
// ErrUnavailable (a sentinel), and the batch's casts, accepted by earlier
// Casts, are reported lost; a Call made then fails the same way.
func TestCastBufferFull(t *testing.T) {
	s := startServer(t)
	rf := newRefusals()
	entered, release := make(chan struct{}), make(chan struct{})
	var held atomic.Bool
	hook := func(r remote.Refusal) {
		rf.hook(r)
		// The first lost batch is the flusher's: hold it, so that the next
		// full batch is the Cast's to publish.
		if r.Reason == remote.ReasonCastFailed && held.CompareAndSwap(false, true) {
			close(entered)
			<-release
		}
	}
	cli := startNode(t, s.ClientURL(), remote.WithRefusalHook(hook),
		remote.WithNATSOptions(nats.ReconnectBufSize(-1))) // publishing while disconnected fails at once
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock) // before the node's Close, which waits for its flusher
	b := remote.Bind(cli, "acct", Echo)
	serverDown(t, s, cli)
	if err := b.Cast("first"); err != nil { // the flusher's to publish: it fails, and is held in the hook
		t.Fatalf("first Cast: %v", err)
	}
	select {
	case <-entered:
	case <-time.After(20 * time.Second):
		t.Fatal("the flusher reported no lost cast")
	}
	big := strings.Repeat("x", 40<<10) // two do not fit one batch (64 KiB)
	if err := b.Cast(big); err != nil {
		t.Fatalf("second Cast: %v; want it queued", err)
	}
	err := b.Cast(big) // publishes the full batch itself
	if !errors.Is(err, remote.ErrUnavailable) {
		t.Fatalf("third Cast: %v; want ErrUnavailable", err)
	}
	rf.mu.Lock()
	got := append([]remote.Refusal(nil), rf.got...)
	rf.mu.Unlock()
	if len(got) != 2 || got[1].Reason != remote.ReasonCastFailed || !strings.HasPrefix(got[1].Err.Error(), "1 casts lost") ||
		!errors.Is(got[1].Err, remote.ErrUnavailable) {
		t.Fatalf("refusals %+v; want the flusher's and one cast_failed of 1 cast, ErrUnavailable", got)
	}
	for _, r := range got { // named as a serving node's refusals are
		if r.Name != "acct" || r.Method != "echo" {
			t.Fatalf("refusal of name %q, method %q; want acct and echo", r.Name, r.Method)
		}
	}
	if !errors.Is(got[0].Err, remote.ErrUnavailable) {
		t.Fatalf("the flusher's refusal: %v; want ErrUnavailable", got[0].Err)
	}
	unblock()
	if _, err := b.Call(ctxTimeout(t, 5*time.Second), "x"); !errors.Is(err, remote.ErrUnavailable) {
		t.Fatalf("Call: %v; want ErrUnavailable", err)
	}
}

// Casts nats.go took into its reconnect buffer while the connection was
// down are not confirmed by the server when the node stops: they may have
// been lost, and are reported once, with their count; with the server up,
// the stop's flush confirms them and nothing is reported.
func TestCastLostAtStopReported(t *testing.T) {
	castsThenClose := func(t *testing.T, down bool) []remote.Refusal {
		s := startServer(t)
		rf := newRefusals()
		cli := startNode(t, s.ClientURL(), remote.WithRefusalHook(rf.hook))
		b := remote.Bind(cli, "acct", Echo)
		if down {
			serverDown(t, s, cli)
		}
		for i := range 3 {
			if err := b.Cast(fmt.Sprint("cast ", i)); err != nil {
				t.Fatalf("Cast %d: %v", i, err)
			}
		}
		if err := cli.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		rf.mu.Lock()
		defer rf.mu.Unlock()
		return append([]remote.Refusal(nil), rf.got...)
	}
	t.Run("down", func(t *testing.T) {
		got := castsThenClose(t, true)
		if len(got) != 1 || got[0].Reason != remote.ReasonCastFailed ||
			!strings.HasPrefix(got[0].Err.Error(), "3 casts may have been lost") ||
			!(errors.Is(got[0].Err, remote.ErrUnavailable) || errors.Is(got[0].Err, remote.ErrClosed)) {
			t.Fatalf("refusals %+v; want one cast_failed of 3 casts, ErrUnavailable or ErrClosed", got)
		}
	})
	t.Run("up", func(t *testing.T) {
		if got := castsThenClose(t, false); len(got) != 0 {
			t.Fatalf("refusals %+v; want none", got)
		}
	})
}
