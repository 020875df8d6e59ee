package remote_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/troupe-go/troupe/remote"
	"github.com/troupe-go/troupe/remote/embedded"
)

// TestStartEmbedded: with no URL (and no TROUPE_NATS_URL) a node runs its
// own server, serves, and takes it down with it.
func TestStartEmbedded(t *testing.T) {
	t.Setenv(remote.EnvURL, "")
	n := startNode(t, "")
	export(t, n, "acct")
	got, err := remote.Bind(n, "acct", Deposit).Call(ctxTimeout(t, 5*time.Second), 7)
	if err != nil || got != 7 {
		t.Fatalf("Call = %d, %v; want 7, nil", got, err)
	}
	url := n.Conn().ConnectedUrl()
	if err := n.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	// The server went with the node: a node pointed at its URL fails.
	_, err = remote.Start(ctxTimeout(t, 2*time.Second), newRuntime(t), remote.WithURL(url))
	if err == nil {
		t.Fatalf("Start on the closed node's server: got nil error; want a connection error")
	}
}

// TestStartURL: TROUPE_NATS_URL and WithURL connect to a given server, and
// nodes on it reach each other.
func TestStartURL(t *testing.T) {
	s := startServer(t)
	t.Setenv(remote.EnvURL, s.ClientURL())
	a := startNode(t, "")
	b := startNode(t, "", remote.WithURL(s.ClientURL()))
	export(t, a, "acct")
	got, err := remote.Bind(b, "acct", Echo).Call(ctxTimeout(t, 5*time.Second), "hi")
	if err != nil || got != "hi" {
		t.Fatalf("Call = %q, %v; want hi, nil", got, err)
	}
}

// TestStartErrors: bad input is a documented sentinel.
func TestStartErrors(t *testing.T) {
	rt := newRuntime(t)
	ctx := context.Background()
	tests := []struct {
		name string
		opts []remote.Option
		want error
	}{
		{"nil option", []remote.Option{nil}, remote.ErrInvalidOption},
		{"zero timeout", []remote.Option{remote.WithCallTimeout(0)}, remote.ErrInvalidOption},
		{"negative deadline", []remote.Option{remote.WithMaxDeadline(-time.Second)}, remote.ErrInvalidOption},
		{"zero max message", []remote.Option{remote.WithMaxMessage(0)}, remote.ErrInvalidOption},
		{"bad version", []remote.Option{remote.WithVersion("v1")}, remote.ErrInvalidOption},
		{"bad name", []remote.Option{remote.WithName("a.b")}, remote.ErrInvalidOption},
		{"bad prefix", []remote.Option{remote.WithPrefix("a b")}, remote.ErrInvalidOption},
		{"missing nkey", []remote.Option{remote.WithNkeySeed("/nonexistent/seed")}, remote.ErrInvalidOption},
		{"nil codec", []remote.Option{remote.WithCodecs(nil)}, remote.ErrInvalidOption},
		{"two codecs named alike", []remote.Option{remote.WithCodecs(countingJSON{new(atomic.Int64)}, badJSON{})}, remote.ErrInvalidOption},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := remote.Start(ctx, rt, tt.opts...)
			if !errors.Is(err, tt.want) {
				if n != nil {
					_ = n.Close()
				}
				t.Fatalf("Start: got %v; want %v", err, tt.want)
			}
		})
	}
	if _, err := remote.Start(ctx, nil); !errors.Is(err, remote.ErrNilNode) {
		t.Fatalf("Start(nil runtime): got %v; want ErrNilNode", err)
	}
}

// TestStartNoServer: without a URL and without an embedded server, Start
// says so.
func TestStartNoServer(t *testing.T) {
	t.Setenv(remote.EnvURL, "")
	failing := func(context.Context) (remote.Server, error) { return nil, errors.New("no") }
	_, err := remote.Start(context.Background(), newRuntime(t), remote.WithServer(failing))
	if err == nil {
		t.Fatalf("Start with a failing server: got nil; want an error")
	}
	none := func(context.Context) (remote.Server, error) { return nil, nil }
	if _, err := remote.Start(context.Background(), newRuntime(t), remote.WithServer(none)); !errors.Is(err, remote.ErrNoServer) {
		t.Fatalf("Start with a server func that returns no server: got %v; want ErrNoServer", err)
	}
	remote.RegisterEmbedded(nil)
	t.Cleanup(func() { remote.RegisterEmbedded(embedded.Starter()) })
	_, err = remote.Start(context.Background(), newRuntime(t))
	if !errors.Is(err, remote.ErrNoServer) {
		t.Fatalf("Start without server: got %v; want ErrNoServer", err)
	}
}

// TestCloseIdempotent: Close and Shutdown, many times and together, all
// return; afterwards every call is ErrClosed.
func TestCloseIdempotent(t *testing.T) {
	s := startServer(t)
	n := startNode(t, s.ClientURL())
	export(t, n, "acct")
	done := make(chan error, 4)
	for range 2 {
		go func() { done <- n.Shutdown(context.Background()) }()
		go func() { done <- n.Close() }()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Fatalf("Shutdown/Close: %v", err)
		}
	}
	b := remote.Bind(n, "acct", Deposit)
	if _, err := b.Call(context.Background(), 1); !errors.Is(err, remote.ErrClosed) {
		t.Fatalf("Call after Close: got %v; want ErrClosed", err)
	}
	if err := b.Cast(1); !errors.Is(err, remote.ErrClosed) {
		t.Fatalf("Cast after Close: got %v; want ErrClosed", err)
	}
	if _, err := b.Ask(context.Background(), 1).Await(context.Background()); !errors.Is(err, remote.ErrClosed) {
		t.Fatalf("Ask after Close: got %v; want ErrClosed", err)
	}
	ref := spawn(t, n)
	if err := remote.Export(n, "other", ref, remote.Serve(Deposit)); !errors.Is(err, remote.ErrClosed) {
		t.Fatalf("Export after Close: got %v; want ErrClosed", err)
	}
	if _, err := remote.Resolve(context.Background(), n, "acct"); !errors.Is(err, remote.ErrClosed) {
		t.Fatalf("Resolve after Close: got %v; want ErrClosed", err)
	}
}

// TestShutdownGraceful: Shutdown waits for a served call whose handler
// runs to the caller's deadline, which the caller gets (ErrTimeout, not
// ErrClosed), and then returns nil.
func TestShutdownGraceful(t *testing.T) {
	s := startServer(t)
	srv := startNode(t, s.ClientURL())
	cli := startNode(t, s.ClientURL())
	_, a := export(t, srv, "acct")
	f := remote.Bind(cli, "acct", Block).Ask(ctxTimeout(t, 300*time.Millisecond), "x")
	<-a.entered
	done := make(chan error, 1)
	go func() { done <- srv.Shutdown(context.Background()) }()
	if _, err := f.Await(context.Background()); !errors.Is(err, remote.ErrTimeout) {
		t.Fatalf("served call during Shutdown: got %v; want ErrTimeout (its own deadline)", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
}

// TestCloseCancelsServed: Close cancels the calls a node serves; the
// handler's Context ends and the caller learns at once (ErrClosed), well
// before its deadline.
func TestCloseCancelsServed(t *testing.T) {
	s := startServer(t)
	srv := startNode(t, s.ClientURL())
	cli := startNode(t, s.ClientURL())
	_, a := export(t, srv, "acct")
	f := remote.Bind(cli, "acct", Block).Ask(ctxTimeout(t, time.Minute), "x")
	<-a.entered
	if err := srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-a.ended; !errors.Is(err, context.Canceled) {
		t.Fatalf("handler's Context: got %v; want context.Canceled", err)
	}
	if _, err := f.Await(ctxTimeout(t, 10*time.Second)); !errors.Is(err, remote.ErrClosed) {
		t.Fatalf("caller: got %v; want ErrClosed", err)
	}
}

// TestStopAnswersQueuedRequests: requests delivered to a serving node but
// still queued in its endpoint's subscription when it stops (behind one
// held up in the Authorizer) are refused at once: each caller gets
// ErrClosed, not ErrTimeout at its deadline (a minute away). The
// Authorizer lets them through once the node's connection has closed, or
// a moment after the stop began (before, the connection closed without
// waiting for them; now it waits, boundedly once forced, so the moment
// must be well within Close's second).
func TestStopAnswersQueuedRequests(t *testing.T) {
	for _, how := range []string{"Shutdown", "Close"} {
		t.Run(how, func(t *testing.T) {
			const calls = 50
			gate, entered, closed := make(chan struct{}), make(chan struct{}, 1), make(chan struct{})
			var release sync.Once
			open := func() { release.Do(func() { close(gate) }) }
			t.Cleanup(open)
			auth := func(_, method string, _ nats.Header) error {
				if method == "echo" {
					select {
					case entered <- struct{}{}:
					default:
					}
					<-gate
				}
				return nil
			}
			s := startServer(t)
			srv := startNode(t, s.ClientURL(), remote.WithAuthorizer(auth),
				remote.WithNATSOptions(nats.ClosedHandler(func(*nats.Conn) { close(closed) })))
			cli := startNode(t, s.ClientURL(), remote.WithCallTimeout(time.Minute))
			export(t, srv, "acct")
			base := srv.Conn().Stats().InMsgs
			errs := make(chan error, calls)
			for range calls {
				go func() {
					_, err := remote.Bind(cli, "acct", Echo).Call(ctxTimeout(t, time.Minute), "x")
					errs <- err
				}()
			}
			<-entered
			// All of them delivered: the first held in the Authorizer, the
			// others in the subscription's queue.
			for srv.Conn().Stats().InMsgs < base+calls {
				time.Sleep(time.Millisecond)
			}
			stopped := make(chan error, 1)
			go func() {
				if how == "Shutdown" {
					stopped <- srv.Shutdown(ctxTimeout(t, time.Minute))
				} else {
					stopped <- srv.Close()
				}
			}()
			for len(srv.Exports()) > 0 { // the stop has begun
				time.Sleep(time.Millisecond)
			}
			select {
			case <-closed:
			case <-time.After(100 * time.Millisecond):
			}
			open()
			limit := time.After(20 * time.Second)
			for i := range calls {
				select {
				case err := <-errs:
					if !errors.Is(err, remote.ErrClosed) {
						t.Fatalf("call %d: got %v; want ErrClosed", i, err)
					}
				case <-limit:
					t.Fatalf("%d of %d calls still waiting 20 s after the stop (their deadline is a minute away)", calls-i, calls)
				}
			}
			if err := <-stopped; err != nil {
				t.Fatalf("%s: %v", how, err)
			}
		})
	}
}

// TestCloseDuringExport: an Export waiting for the server's answer (its
// connection is down: the answer would not come for as long as the
// Export's bound) does not hold a concurrent Close up; the stop withdraws
// it, and it fails with ErrClosed.
func TestCloseDuringExport(t *testing.T) {
	s := startServer(t, embeddedWithoutJS())
	n := startNode(t, s.ClientURL())
	ref := spawn(t, n)
	serverDown(t, s, n)
	deadline := time.Now().Add(20 * time.Second)
	subs := n.Conn().NumSubscriptions()
	exported := make(chan error, 1)
	go func() { exported <- remote.Export(n, "acct", ref, remote.Serve(Echo)) }()
	// The export's service has subscribed (its 9 control subjects and its
	// endpoint): Export now waits for the server to confirm.
	for n.Conn().NumSubscriptions() < subs+10 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := n.Conn().NumSubscriptions() - subs; got < 10 {
		t.Fatalf("Export made %d subscriptions; want 10", got)
	}
	closed := make(chan error, 1)
	go func() { closed <- n.Close() }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second): // a disconnected Close takes about a second (forcedBudget)
		t.Fatal("Close still waits 5 s after it began, held by an Export waiting for its server")
	}
	select {
	case err := <-exported:
		if !errors.Is(err, remote.ErrClosed) {
			t.Fatalf("Export: %v; want ErrClosed", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Export still waits 20 s after its node closed")
	}
	if got := n.Exports(); len(got) != 0 {
		t.Fatalf("Exports after Close = %v; want none", got)
	}
}

// TestCloseUnexportServerGone: Close is immediate while an export whose
// actor stopped is being withdrawn with its server gone: the watcher's
// wait for the server (that its queue group was left) ends with the
// forced stop, not after nats.go's 10 s flush timeout.
func TestCloseUnexportServerGone(t *testing.T) {
	s := startServer(t)
	n := startNode(t, s.ClientURL(), remote.WithCallTimeout(time.Minute))
	ref, _ := export(t, n, "acct")
	serverDown(t, s, n)
	ref.Kill()
	// The export's watcher is withdrawing it, waiting for the server.
	unexporting := func() bool {
		buf := make([]byte, 1<<20)
		return strings.Contains(string(buf[:runtime.Stack(buf, true)]), "remote.(*Node).unexport(")
	}
	deadline := time.Now().Add(10 * time.Second)
	for !unexporting() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if !unexporting() {
		t.Fatal("the export's watcher did not withdraw it")
	}
	start := time.Now()
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	// Each step of a forced stop waits a second at most for the server;
	// the withdrawal's flush (nats.go's Flush: 10 s) made it 10 s.
	if d := time.Since(start); d > 6*time.Second {
		t.Errorf("Close took %v with an export being withdrawn and its server gone; want about a second", d)
	}
}
