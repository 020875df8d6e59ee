package remote_test

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/remote"
)

// heldAuth is an Authorizer that holds the first request for method
// "echo" until open: the requests after it wait in the endpoint's
// subscription, delivered but not yet served.
type heldAuth struct {
	gate, entered chan struct{}
	once          sync.Once
}

func newHeldAuth(t *testing.T) *heldAuth {
	h := &heldAuth{gate: make(chan struct{}), entered: make(chan struct{}, 1)}
	t.Cleanup(h.open) // before the nodes' Close (cleanups run last first)
	return h
}

func (h *heldAuth) authorize(_, method string, _ nats.Header) error {
	if method == "echo" {
		select {
		case h.entered <- struct{}{}:
		default:
		}
		<-h.gate
	}
	return nil
}

func (h *heldAuth) open() { h.once.Do(func() { close(h.gate) }) }

// sendHeld makes calls Echo calls to name from cli, the first held in
// h's Authorizer on srv, and returns once srv has received them all
// (from base, its InMsgs before): their outcomes go to the channel.
func sendHeld(t *testing.T, h *heldAuth, srv, cli *remote.Node, name string, calls int, base uint64) <-chan error {
	t.Helper()
	errs := make(chan error, calls)
	b := remote.Bind(cli, name, Echo)
	for range calls {
		go func() {
			got, err := b.Call(ctxTimeout(t, time.Minute), "x")
			if err == nil && got != "x" {
				err = fmt.Errorf("reply %q; want x", got)
			}
			errs <- err
		}()
	}
	select {
	case <-h.entered:
	case <-time.After(20 * time.Second):
		t.Fatal("no call reached the Authorizer")
	}
	deadline := time.Now().Add(20 * time.Second)
	for srv.Conn().Stats().InMsgs < base+uint64(calls) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if got := srv.Conn().Stats().InMsgs - base; got < uint64(calls) {
		t.Fatalf("the node received %d messages; want the %d calls", got, calls)
	}
	return errs
}

// outcomes waits for n outcomes from errs, each checked by want: a caller
// still waiting 20 s on (its deadline is a minute away) fails the test.
func outcomes(t *testing.T, what string, errs <-chan error, n int, want func(error) bool) {
	t.Helper()
	limit := time.After(20 * time.Second)
	for i := range n {
		select {
		case err := <-errs:
			if !want(err) {
				t.Fatalf("%s: call %d got %v", what, i, err)
			}
		case <-limit:
			t.Fatalf("%s: %d of %d calls still waiting 20 s on (their deadline is a minute away)", what, n-i, n)
		}
	}
}

// TestCallDuringExport: calls that reach an export still in progress (its
// service made and confirmed, the export not yet registered) each get one
// outcome, promptly, when that export is then withdrawn. "stop": the
// node's Close begins meanwhile, so the Export fails ErrClosed; a call
// already running at the actor is cancelled and one held in the
// Authorizer, and those queued behind it in the subscription, are
// refused: every caller gets ErrClosed. "failed": the Export fails on its
// own (ErrTimeout) while the node runs; the calls its subscription had
// received are served, later calls find nothing (ErrNotFound), and the
// name can be exported again.
func TestCallDuringExport(t *testing.T) {
	const calls = 20
	for _, how := range []string{"stop", "failed"} {
		t.Run(how, func(t *testing.T) {
			h := newHeldAuth(t)
			s := startServer(t, embeddedWithoutJS())
			inGap, leave := make(chan struct{}), make(chan error, 1)
			var gapOn atomic.Bool // the first Export only
			gapOn.Store(true)
			gap := func(n *remote.Node, _ string) error {
				if !gapOn.Swap(false) {
					return nil
				}
				close(inGap)
				if how == "stop" {
					<-n.Halted()
					return nil
				}
				return <-leave
			}
			srv := startNode(t, s.ClientURL(), remote.WithAuthorizer(h.authorize), remote.WithExportGap(gap))
			cli := startNode(t, s.ClientURL(), remote.WithCallTimeout(time.Minute))
			a := newAcct()
			ref, err := actor.Spawn(srv.Runtime(), a)
			if err != nil {
				t.Fatal(err)
			}
			exported := make(chan error, 1)
			go func() {
				exported <- remote.Export(srv, "acct", ref, remote.Serve(Echo), remote.Serve(Block))
			}()
			<-inGap
			base := srv.Conn().Stats().InMsgs
			blockErr := make(chan error, 1)
			if how == "stop" {
				go func() {
					_, err := remote.Bind(cli, "acct", Block).Call(ctxTimeout(t, time.Minute), "b")
					blockErr <- err
				}()
				select {
				case <-a.entered: // served during the gap: it runs at the actor
				case <-time.After(20 * time.Second):
					t.Fatal("a call made during the Export's gap did not reach its actor")
				}
				base++
			}
			errs := sendHeld(t, h, srv, cli, "acct", calls, base)
			var exportErr error
			if how == "stop" {
				closed := make(chan error, 1)
				go func() { closed <- srv.Close() }()
				exportErr = <-exported
				if !errors.Is(exportErr, remote.ErrClosed) {
					t.Fatalf("Export: %v; want ErrClosed", exportErr)
				}
				h.open() // the withdrawn service's requests reach serve during the stop
				outcomes(t, "held and queued", errs, calls, func(err error) bool { return errors.Is(err, remote.ErrClosed) })
				outcomes(t, "running", blockErr, 1, func(err error) bool { return errors.Is(err, remote.ErrClosed) })
				if err := <-closed; err != nil {
					t.Fatalf("Close: %v", err)
				}
				return
			}
			leave <- fmt.Errorf("%w: the test's", remote.ErrTimeout)
			exportErr = <-exported
			if !errors.Is(exportErr, remote.ErrTimeout) {
				t.Fatalf("Export: %v; want ErrTimeout", exportErr)
			}
			if got := srv.Exports(); len(got) != 0 {
				t.Fatalf("Exports after a failed Export = %v; want none", got)
			}
			h.open()
			outcomes(t, "held and queued", errs, calls, func(err error) bool { return err == nil })
			if _, err := remote.Bind(cli, "acct", Echo).Call(ctxTimeout(t, time.Minute), "x"); !errors.Is(err, remote.ErrNotFound) {
				t.Fatalf("a call after the failed Export: %v; want ErrNotFound", err)
			}
			if err := remote.Export(srv, "acct", ref, remote.Serve(Echo)); err != nil {
				t.Fatalf("Export again: %v", err)
			}
			if got, err := remote.Bind(cli, "acct", Echo).Call(ctxTimeout(t, time.Minute), "y"); err != nil || got != "y" {
				t.Fatalf("a call after the second Export: %q, %v; want y", got, err)
			}
		})
	}
}

// Holder's HolderHold runs until release is closed.
type Holder struct {
	entered, release chan struct{}
}

var (
	HolderHold = actor.NewMethod("hold", func(h *Holder, c *actor.Ctx, s string) (string, error) {
		h.entered <- struct{}{}
		<-h.release
		return s, nil
	})
	HolderEcho = actor.NewMethod("echo", func(h *Holder, c *actor.Ctx, s string) (string, error) { return s, nil })
)

// TestUnexportInFlight: calls in flight when their export is withdrawn
// (Unexport) are answered, not dropped: one running at the actor, one
// held in the Authorizer and those queued behind it in the endpoint's
// subscription. Later calls find nothing (ErrNotFound).
func TestUnexportInFlight(t *testing.T) {
	const calls = 20
	h := newHeldAuth(t)
	s := startServer(t, embeddedWithoutJS())
	srv := startNode(t, s.ClientURL(), remote.WithAuthorizer(h.authorize))
	cli := startNode(t, s.ClientURL(), remote.WithCallTimeout(time.Minute))
	hd := &Holder{entered: make(chan struct{}, 1), release: make(chan struct{})}
	var once sync.Once
	release := func() { once.Do(func() { close(hd.release) }) }
	t.Cleanup(release)
	ref, err := actor.Spawn(srv.Runtime(), hd)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Export(srv, "acct", ref, remote.Serve(HolderEcho), remote.Serve(HolderHold)); err != nil {
		t.Fatal(err)
	}
	base := srv.Conn().Stats().InMsgs
	held := make(chan error, 1)
	go func() {
		got, err := remote.Bind(cli, "acct", HolderHold).Call(ctxTimeout(t, time.Minute), "h")
		if err == nil && got != "h" {
			err = fmt.Errorf("reply %q; want h", got)
		}
		held <- err
	}()
	select {
	case <-hd.entered:
	case <-time.After(20 * time.Second):
		t.Fatal("the hold call did not reach its actor")
	}
	errs := sendHeld(t, h, srv, cli, "acct", calls, base+1)
	if !srv.Unexport("acct") {
		t.Fatal("Unexport = false; want true")
	}
	if got := srv.Exports(); len(got) != 0 {
		t.Fatalf("Exports after Unexport = %v; want none", got)
	}
	h.open()
	release() // the actor runs one call at a time: the echo calls wait for the hold
	outcomes(t, "running", held, 1, func(err error) bool { return err == nil })
	outcomes(t, "held and queued", errs, calls, func(err error) bool { return err == nil })
	if _, err := remote.Bind(cli, "acct", HolderEcho).Call(ctxTimeout(t, time.Minute), "x"); !errors.Is(err, remote.ErrNotFound) {
		t.Fatalf("a call after Unexport: %v; want ErrNotFound", err)
	}
}
