package remote_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/remote"
)

// TestCastsLostOnKickReported: a sender whose connection the server drops
// while it casts (it reconnects) loses what it had written to the dead
// socket; those casts are reported (ReasonCastFailed, "N casts may have
// been lost"), not confirmed by a later flush on the new connection: every
// cast its Cast accepted reaches the receiver (the server and the receiver
// stay up) or is counted in a report.
func TestCastsLostOnKickReported(t *testing.T) { castThroughKicks(t, 4, false) }

// TestCastsLostOnKickReportedSlowHandler: as TestCastsLostOnKickReported,
// but the user's disconnect handler (WithNATSOptions) is slow the first
// time: nats.go runs every connection callback on one goroutine, so the
// node's own disconnect handler for the later drops runs only after the
// sender has reconnected and its stop's flush on the new connection has
// succeeded.
func TestCastsLostOnKickReportedSlowHandler(t *testing.T) { castThroughKicks(t, 3, true) }

// castThroughKicks casts from a sender whose connection the server drops
// kicks times, then stops it and checks that every cast Cast accepted was
// delivered or reported lost. With slowHandler the sender's own
// disconnect handler (WithNATSOptions) blocks nats.go's callbacks from a
// first kick, before the casts, until the sender has stopped.
func castThroughKicks(t *testing.T, kicks int, slowHandler bool) {
	s := startServer(t, embeddedWithoutJS())
	var reported atomic.Int64
	opts := []nats.Option{nats.ReconnectWait(10 * time.Millisecond), nats.MaxReconnects(-1)}
	release := make(chan struct{})
	if slowHandler {
		var first sync.Once
		opts = append(opts, nats.DisconnectErrHandler(func(*nats.Conn, error) { first.Do(func() { <-release }) }))
	}
	snd := startNode(t, s.ClientURL(), remote.WithRefusalHook(countCastsLost(&reported)), remote.WithNATSOptions(opts...))
	got := exportSink(t, s.ClientURL())
	b := remote.Bind(snd, "sink", Jot)
	if slowHandler {
		kick(t, s.NATS(), snd) // the slow handler holds nats.go's callbacks from now on
	}
	var accepted atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := int64(0); ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if b.Cast(i) == nil {
				accepted.Add(1)
			}
			if i%16 == 0 {
				time.Sleep(50 * time.Microsecond)
			}
		}
	})
	for range kicks {
		time.Sleep(100 * time.Millisecond)
		kick(t, s.NATS(), snd)
	}
	time.Sleep(100 * time.Millisecond)
	close(stop)
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := snd.Shutdown(ctx)
	close(release)
	if err != nil {
		t.Fatal(err)
	}
	count := func() (k int64) {
		got.Range(func(any, any) bool { k++; return true })
		return k
	}
	for prev := int64(-1); ; prev = count() { // until the receiver has all the server delivers
		time.Sleep(200 * time.Millisecond)
		if count() == prev {
			break
		}
	}
	if d, a, r := count(), accepted.Load(), reported.Load(); d+r < a {
		t.Fatalf("%d casts accepted, %d delivered, %d reported lost: %d lost unreported", a, d, r, a-d-r)
	}
}

// kick has the server drop n's connection, once n is connected (it may
// still be reconnecting from the previous kick).
func kick(t *testing.T, s *server.Server, n *remote.Node) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		id, err := n.Conn().GetClientID()
		if err == nil && n.Conn().IsConnected() {
			if err = s.DisconnectClientByID(id); err == nil {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("kick: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestCastsAfterLateDropHandlerNotReported: the node's disconnect handler
// runs late (nats.go's callbacks are held by a slow user handler), after
// the node has reconnected and a flush on the new connection (an Export's)
// has noticed the change and reported what the old connection held. The
// casts published after that flush, on the live connection, all reach the
// receiver: the late handler does not report them as maybe lost.
func TestCastsAfterLateDropHandlerNotReported(t *testing.T) {
	s := startServer(t, embeddedWithoutJS())
	var reported atomic.Int64
	release := make(chan struct{})
	var first sync.Once
	reconnected := make(chan struct{}, 4)
	opts := []nats.Option{nats.ReconnectWait(10 * time.Millisecond), nats.MaxReconnects(-1),
		nats.DisconnectErrHandler(func(*nats.Conn, error) { first.Do(func() { <-release }) }),
		nats.ReconnectHandler(func(*nats.Conn) { reconnected <- struct{}{} })}
	snd := startNode(t, s.ClientURL(), remote.WithRefusalHook(countCastsLost(&reported)), remote.WithNATSOptions(opts...))
	got := exportSink(t, s.ClientURL())
	waitServed(t, snd, "sink")
	kick(t, s.NATS(), snd) // the slow handler holds nats.go's callbacks from now on
	kick(t, s.NATS(), snd) // the node's handler for this drop waits behind it
	waitFor(t, func() bool { return snd.Conn().IsConnected() && snd.Conn().Stats().Reconnects >= 2 })
	// An Export flushes: on the new connection, which it notices.
	other, err := actor.Spawn(snd.Runtime(), &Sink{got: new(sync.Map)})
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Export(snd, "other", other, remote.Serve(Jot)); err != nil {
		t.Fatal(err)
	}
	const casts = 20
	b := remote.Bind(snd, "sink", Jot)
	for i := range int64(casts) {
		if err := b.Cast(i); err != nil {
			t.Fatal(err)
		}
	}
	count := func() (k int) {
		got.Range(func(any, any) bool { k++; return true })
		return k
	}
	waitFor(t, func() bool { return count() == casts })
	before := reported.Load()
	close(release)
	for range 2 { // the second reconnect's callback runs after the late disconnect handler
		select {
		case <-reconnected:
		case <-time.After(10 * time.Second):
			t.Fatal("nats.go's callbacks did not run")
		}
	}
	if r := reported.Load(); r != before {
		t.Fatalf("%d casts reported maybe lost, all %d delivered on the live connection", r-before, casts)
	}
}

// waitFor waits until cond holds, failing the test after 10 s.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// exportSink starts a node on url that exports a Sink as "sink" (Jot),
// and returns what the Sink gets.
func exportSink(t *testing.T, url string) *sync.Map {
	t.Helper()
	rcv := startNode(t, url)
	got := new(sync.Map)
	ref, err := actor.Spawn(rcv.Runtime(), &Sink{got: got})
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Export(rcv, "sink", ref, remote.Serve(Jot)); err != nil {
		t.Fatal(err)
	}
	return got
}
