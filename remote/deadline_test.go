package remote_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/remote"
)

// TestDeadlineTravels: the handler's Context has the caller's remaining
// time (not the server's default), and ends when the caller's deadline
// passes; the late reply is discarded on the serving node.
func TestDeadlineTravels(t *testing.T) {
	rs := newRefusals()
	_, cli, _, a := pair(t, remote.WithCallTimeout(time.Hour), remote.WithMaxDeadline(2*time.Hour), remote.WithRefusalHook(rs.hook))
	_, err := remote.Bind(cli, "acct", Block).Call(ctxTimeout(t, 200*time.Millisecond), "x")
	if !errors.Is(err, remote.ErrTimeout) {
		t.Fatalf("Call: got %v; want ErrTimeout", err)
	}
	if got := <-a.entered; got > 200*time.Millisecond {
		t.Fatalf("handler's remaining time %v; want at most the caller's 200ms", got)
	}
	if got := <-a.ended; !errors.Is(got, context.DeadlineExceeded) {
		t.Fatalf("handler's Context ended with %v; want DeadlineExceeded", got)
	}
	if r := rs.wait(t); r.Reason != remote.ReasonLate || r.Method != "block" {
		t.Fatalf("refusal %+v; want the late reply discarded", r)
	}
}

// TestDeadlineClamped: a request claiming an hour gets the serving node's
// maximum, and its caller is answered ErrTimeout when that passes (not an
// hour later).
func TestDeadlineClamped(t *testing.T) {
	_, cli, _, a := pair(t, remote.WithMaxDeadline(300*time.Millisecond))
	f := remote.Bind(cli, "acct", Block).Ask(ctxTimeout(t, time.Hour), "x")
	if got := <-a.entered; got > 300*time.Millisecond {
		t.Fatalf("handler's remaining time %v; want at most the 300ms maximum", got)
	}
	<-a.ended
	if _, err := f.Await(ctxTimeout(t, 10*time.Second)); !errors.Is(err, remote.ErrTimeout) {
		t.Fatalf("clamped call: got %v; want ErrTimeout from the serving node", err)
	}
	var re *remote.Error
	if _, err := f.Await(context.Background()); !errors.As(err, &re) || re.Code != remote.CodeTimeout {
		t.Fatalf("clamped call: got %v; want a *remote.Error with code timeout", err)
	}
}

// TestCancelReachesHandler: a caller that cancels its ctx ends the
// handler's Context on the serving node.
func TestCancelReachesHandler(t *testing.T) {
	_, cli, _, a := pair(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := remote.Bind(cli, "acct", Block).Call(ctx, "x")
		done <- err
	}()
	<-a.entered
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Call: got %v; want context.Canceled", err)
	}
	select {
	case err := <-a.ended:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("handler's Context ended with %v; want Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("handler's Context did not end after the caller cancelled")
	}
}

// TestExpiredDropped: a request whose deadline passed before it arrived is
// dropped before decoding: no reply, no handler, a refusal.
func TestExpiredDropped(t *testing.T) {
	rs := newRefusals()
	_, cli, _, a := pair(t, remote.WithRefusalHook(rs.hook))
	m := &nats.Msg{Subject: "troupe.acct.deposit", Data: []byte("not even json"),
		Header: nats.Header{"Troupe-Timeout": {"-5000000"}}}
	_, err := cli.Conn().RequestMsg(m, 200*time.Millisecond)
	if !errors.Is(err, nats.ErrTimeout) {
		t.Fatalf("expired request: got %v; want no reply (nats.ErrTimeout)", err)
	}
	if r := rs.wait(t); r.Reason != remote.ReasonExpired {
		t.Fatalf("refusal %+v; want expired", r)
	}
	if got := a.hits.Load(); got != 0 {
		t.Fatalf("handler ran %d times; want 0", got)
	}
}

// TestCancelBeforeCall: a cancel that reaches the serving node before the
// call it names (they travel on different subjects: NATS does not order
// them) still stops it: the call is dropped before it runs, with no
// reply, and reported. Before, the cancel found nothing to cancel and was
// lost: the handler ran for a caller long gone.
func TestCancelBeforeCall(t *testing.T) {
	rs := newRefusals()
	srv, cli, _, a := pair(t, remote.WithRefusalHook(rs.hook))
	inbox, sub := cancelledInbox(t, srv, cli)
	m := &nats.Msg{Subject: "troupe.acct.deposit", Reply: inbox, Data: []byte("5"),
		Header: nats.Header{"Troupe-Timeout": {"10000000000"}}}
	if err := cli.Conn().PublishMsg(m); err != nil {
		t.Fatal(err)
	}
	if r := rs.wait(t); r.Reason != remote.ReasonCancelled || r.Method != "deposit" {
		t.Fatalf("refusal %+v; want cancelled, deposit", r)
	}
	if got := a.hits.Load(); got != 0 {
		t.Fatalf("handler ran %d times; want 0", got)
	}
	if reply, err := sub.NextMsg(100 * time.Millisecond); err == nil {
		t.Fatalf("got a reply %q; want none (the caller gave up)", reply.Data)
	}
	// The cancel is used up: the same subject's next call runs.
	if err := cli.Conn().PublishMsg(m); err != nil {
		t.Fatal(err)
	}
	if reply, err := sub.NextMsg(10 * time.Second); err != nil || string(reply.Data) != "5" {
		t.Fatalf("second call: %v, %v; want a reply", reply, err)
	}
}

// TestLateReplyNotDelivered: after a call timed out, the next call on the
// same binding gets its own reply, never the late one.
func TestLateReplyNotDelivered(t *testing.T) {
	_, cli, _, _ := pair(t)
	b := remote.Bind(cli, "acct", Echo)
	slow := remote.Bind(cli, "acct", Block)
	for i := range 3 {
		if _, err := slow.Call(ctxTimeout(t, 20*time.Millisecond), "late"); !errors.Is(err, remote.ErrTimeout) {
			t.Fatalf("slow call %d: got %v; want ErrTimeout", i, err)
		}
		got, err := b.Call(ctxTimeout(t, 10*time.Second), "own")
		if err != nil || got != "own" {
			t.Fatalf("next call = %q, %v; want own, nil", got, err)
		}
	}
}

// TestLateReplyDiscardedByCaller: a reply that arrives after its caller
// gave up is discarded by the calling node and reported, never delivered.
func TestLateReplyDiscardedByCaller(t *testing.T) {
	s := startServer(t)
	rs := newRefusals()
	cli := startNode(t, s.ClientURL(), remote.WithRefusalHook(rs.hook))
	late := make(chan *nats.Msg, 1)
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	sub, err := nc.Subscribe("troupe.slow.deposit", func(m *nats.Msg) { late <- m })
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	_ = nc.Flush()
	if _, err := remote.Bind(cli, "slow", Deposit).Call(ctxTimeout(t, 30*time.Millisecond), 1); !errors.Is(err, remote.ErrTimeout) {
		t.Fatalf("Call: got %v; want ErrTimeout", err)
	}
	m := <-late
	if err := m.Respond([]byte("1")); err != nil { // after the caller gave up
		t.Fatal(err)
	}
	if r := rs.wait(t); r.Reason != remote.ReasonLate {
		t.Fatalf("refusal %+v; want late", r)
	}
}

// gated is an actor whose Wait ignores its Context: it returns only once
// its gate is closed.
type gated struct{ gate chan struct{} }

var Wait = actor.NewMethod("wait", func(g *gated, _ *actor.Ctx, tag string) (string, error) {
	<-g.gate
	return tag, nil
})

// TestDeadlineClampedHandlerIgnoresContext: the serving node answers
// ErrTimeout at its maximum deadline even if the handler ignores its
// Context — for the call it runs and for one queued behind it.
func TestDeadlineClampedHandlerIgnoresContext(t *testing.T) {
	s := startServer(t)
	srv := startNode(t, s.ClientURL(), remote.WithMaxDeadline(200*time.Millisecond))
	cli := startNode(t, s.ClientURL())
	g := &gated{gate: make(chan struct{})}
	t.Cleanup(func() { close(g.gate) }) // before the nodes close
	ref, err := actor.Spawn(srv.Runtime(), g)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Export(srv, "gated", ref, remote.Serve(Wait)); err != nil {
		t.Fatal(err)
	}
	b := remote.Bind(cli, "gated", Wait)
	start := time.Now()
	running := b.Ask(ctxTimeout(t, time.Hour), "running")
	queued := b.Ask(ctxTimeout(t, time.Hour), "queued")
	for _, f := range []*remote.Future[string]{running, queued} {
		var re *remote.Error
		if _, err := f.Await(ctxTimeout(t, 10*time.Second)); !errors.As(err, &re) || re.Code != remote.CodeTimeout {
			t.Fatalf("clamped call: got %v; want a *remote.Error with code timeout", err)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("answered after %v; want about the 200ms maximum", d)
	}
}
