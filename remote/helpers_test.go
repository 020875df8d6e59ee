package remote_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/remote"
	"github.com/troupe-go/troupe/remote/embedded"
	troupe "github.com/troupe-go/troupe/runtime"
)

// Acct is the test actor. hits counts handler runs (read from tests).
type Acct struct {
	bal     int
	hits    *atomic.Int64
	entered chan time.Duration // Block reports here that it runs, with its Context's remaining time
	ended   chan error         // Block reports here why its Context ended
}

func newAcct() *Acct {
	return &Acct{hits: new(atomic.Int64), entered: make(chan time.Duration, 16), ended: make(chan error, 16)}
}

var (
	Deposit = actor.NewMethod("deposit", func(a *Acct, c *actor.Ctx, n int) (int, error) {
		a.hits.Add(1)
		a.bal += n
		return a.bal, nil
	})
	Echo = actor.NewMethod("echo", func(a *Acct, c *actor.Ctx, s string) (string, error) {
		a.hits.Add(1)
		return s, nil
	})
	Fail = actor.NewMethod("fail", func(a *Acct, c *actor.Ctx, msg string) (int, error) {
		a.hits.Add(1)
		return 0, &remote.CodedError{Code: "insufficient_funds", Err: errors.New(msg)}
	})
	Plain = actor.NewMethod("plain", func(a *Acct, c *actor.Ctx, msg string) (int, error) {
		a.hits.Add(1)
		return 0, errors.New(msg)
	})
	Boom = actor.NewMethod("boom", func(a *Acct, c *actor.Ctx, _ int) (int, error) {
		a.hits.Add(1)
		panic("kaboom")
	})
	// Block waits until its Context ends, and reports why.
	Block = actor.NewMethod("block", func(a *Acct, c *actor.Ctx, tag string) (string, error) {
		a.hits.Add(1)
		ctx := c.Context()
		dl, ok := ctx.Deadline()
		if !ok {
			dl = time.Now().Add(1000 * time.Hour)
		}
		a.entered <- time.Until(dl)
		<-ctx.Done()
		a.ended <- ctx.Err()
		return "", ctx.Err()
	})
	// Balance reads without writing.
	Balance = actor.NewMethod("balance", func(a *Acct, c *actor.Ctx, _ struct{}) (int, error) {
		a.hits.Add(1)
		return a.bal, nil
	})
)

func newRuntime(t testing.TB) *troupe.Runtime {
	t.Helper()
	rt, err := troupe.New()
	if err != nil {
		t.Fatalf("runtime.New: %v", err)
	}
	t.Cleanup(func() { _ = rt.Close() })
	return rt
}

// startServer runs an embedded server for the test.
func startServer(t testing.TB, opts ...embedded.Option) *embedded.Server {
	t.Helper()
	s, err := embedded.Start(context.Background(), append([]embedded.Option{embedded.WithStoreDir(t.TempDir())}, opts...)...)
	if err != nil {
		t.Fatalf("embedded.Start: %v", err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

// startNode starts a node with its own runtime on url (or an embedded
// server of its own if url is "").
func startNode(t testing.TB, url string, opts ...remote.Option) *remote.Node {
	t.Helper()
	rt := newRuntime(t)
	if url != "" {
		opts = append([]remote.Option{remote.WithURL(url)}, opts...)
	}
	n, err := remote.Start(context.Background(), rt, opts...)
	if err != nil {
		t.Fatalf("remote.Start: %v", err)
	}
	t.Cleanup(func() { _ = n.Close() })
	return n
}

// spawn starts an Acct on n's runtime.
func spawn(t testing.TB, n *remote.Node) *actor.Ref[*Acct] {
	t.Helper()
	ref, err := actor.Spawn(n.Runtime(), newAcct())
	if err != nil {
		t.Fatalf("Spawn: %v", err)
	}
	return ref
}

// export starts an Acct on n's runtime and exports its methods under name.
func export(t testing.TB, n *remote.Node, name string) (*actor.Ref[*Acct], *Acct) {
	t.Helper()
	a := newAcct()
	ref, err := actor.Spawn(n.Runtime(), a)
	if err != nil {
		t.Fatalf("Spawn: %v", err)
	}
	err = remote.Export(n, name, ref, remote.Serve(Deposit), remote.Serve(Echo), remote.Serve(Fail),
		remote.Serve(Plain), remote.Serve(Boom), remote.Serve(Block), remote.Serve(Balance))
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	return ref, a
}

// refusals records a node's refusals.
type refusals struct {
	mu  sync.Mutex
	got []remote.Refusal
	ch  chan remote.Refusal
}

func newRefusals() *refusals { return &refusals{ch: make(chan remote.Refusal, 64)} }

func (r *refusals) hook(x remote.Refusal) {
	r.mu.Lock()
	r.got = append(r.got, x)
	r.mu.Unlock()
	select {
	case r.ch <- x:
	default:
	}
}

// wait returns the next refusal, failing the test after 5 s.
func (r *refusals) wait(t testing.TB) remote.Refusal {
	t.Helper()
	select {
	case x := <-r.ch:
		return x
	case <-time.After(5 * time.Second):
		t.Fatalf("no refusal reported")
		return remote.Refusal{}
	}
}

func ctxTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

type natsHeader = nats.Header

func natsNoReconnect() nats.Option { return nats.NoReconnect() }

func embeddedWithoutJS() embedded.Option { return embedded.WithoutJetStream() }

// waitServed waits until n sees name served (across a cluster, a new
// export reaches other servers asynchronously).
func waitServed(t testing.TB, n *remote.Node, name string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := remote.Resolve(ctxTimeout(t, time.Second), n, name)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not served: %v", name, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// exportHeldFeed exports a Feed, able to hold its turn (Hold), as "feed"
// on srv, with its Live stream.
func exportHeldFeed(t *testing.T, srv *remote.Node) (*actor.Ref[*Feed], *Feed) {
	t.Helper()
	fd := &Feed{held: make(chan struct{}, 1)}
	ref, err := actor.Spawn(srv.Runtime(), fd)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Export(srv, "feed", ref, remote.ServeStream(Live), remote.Serve(Hold)); err != nil {
		t.Fatal(err)
	}
	return ref, fd
}

// cancelledInbox returns a fresh inbox on cli's connection, subscribed
// (unsubscribed with the test), whose cancel srv has already received:
// a request made with it as its reply subject has a cancel that came
// first.
func cancelledInbox(t *testing.T, srv, cli *remote.Node) (string, *nats.Subscription) {
	t.Helper()
	inbox := nats.NewInbox()
	sub, err := cli.Conn().SubscribeSync(inbox)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sub.Unsubscribe() })
	srv.DeliverCancel(inbox)
	return inbox, sub
}

// serverDown shuts s down and waits (20 s at most) until n's connection
// has noticed and is reconnecting.
func serverDown(t testing.TB, s *embedded.Server, n *remote.Node) {
	t.Helper()
	s.Shutdown()
	deadline := time.Now().Add(20 * time.Second)
	for !n.Conn().IsReconnecting() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if !n.Conn().IsReconnecting() {
		t.Fatal("the connection did not notice its server's end")
	}
}

// readAll reads f to its end with All: its items, and the end's error
// (nil for a clean end). Collected returns only what the stream holds
// now; this waits for the rest.
func readAll[E any](f *remote.Follow[E]) ([]actor.Item[E], error) {
	var out []actor.Item[E]
	for it, err := range f.All() {
		if err != nil {
			return out, err
		}
		out = append(out, it)
	}
	return out, nil
}
