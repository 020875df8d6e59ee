package remote

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/troupe-go/troupe/actor"
)

// Shutdown stops the node gracefully and waits: new exports, bindings'
// calls and incoming requests are refused (ErrClosed), every export
// leaves its queue group (so other nodes serving the name get its calls),
// then its claimed names are released (a call made once another node has
// taken one is not delivered here), the requests it had received but not
// yet handled are refused (ErrClosed), the calls it is serving finish and
// are answered (but one queued at a claimed name's actor whose turn comes
// after the name's release is refused as for a name nobody serves,
// ErrNotFound: the name's next owner may serve it already), the calls its
// bindings made get their replies, queued casts are published and flushed
// (casts the server does not confirm by the call timeout may have been
// lost, and are reported: see Cast); then its connection closes and its
// own server, if any, shuts down. If ctx ends first the stop is forced as
// by Close, and Shutdown returns ctx's error without waiting further. The
// node's runtime is not stopped. Idempotent and safe for concurrent use
// with Close: each caller waits on its own ctx.
func (n *Node) Shutdown(ctx context.Context) error {
	if !n.made() {
		return ErrNilNode
	}
	if ctx == nil {
		return actor.ErrNilContext
	}
	n.begin.Do(n.startStop)
	select {
	case <-n.done:
		return n.err
	case <-ctx.Done():
		n.force()
		return ctx.Err()
	}
}

// Close stops the node now and waits: the calls it serves are cancelled
// (their handlers' Context ends; their callers get ErrClosed), the
// requests it had received but not yet handled are refused (ErrClosed;
// waiting a second at most for its subscriptions to hand them over), its
// bindings' calls fail with ErrClosed, its exports leave their queue
// groups (if one serves a claimed name and the connection is up, waiting
// a second at most for the server to confirm it), its claimed names are
// released (waiting a second at most for them all: names the server does
// not free by then are left to their lease), its queued casts are published,
// and the server is asked to confirm that it has everything the node
// published, the ErrClosed answers among them (a second at most, and not
// if the connection is down: casts not confirmed may have been lost, and
// are reported, see Cast), then its connection closes and its own server
// shuts down. It returns once no goroutine of the node is left but
// the runtime's. Idempotent; returns what the stop sequence returned.
func (n *Node) Close() error {
	if !n.made() {
		return ErrNilNode
	}
	n.begin.Do(n.startStop)
	n.force()
	<-n.done
	return n.err
}

func (n *Node) startStop() {
	go func() {
		defer close(n.done)
		n.err = n.stop()
	}()
}

// stop is the one stop sequence: subscriptions, then the requests they
// had received, then served calls, then the connection, then the server.
func (n *Node) stop() error {
	n.mu.Lock()
	n.state.Store(closing)
	n.mu.Unlock()
	n.halt()
	// Exports in progress end (their wait for the server is cut short by
	// halted) and withdraw what they made: their services are stopped
	// before settle.
	n.exportWG.Wait()
	// Every export leaves its queue group before the claims are released,
	// and, if it serves a claimed name, the server confirms it (a flush):
	// once a claimed name is free another node may take it and serve it,
	// and a call to it must not be delivered here any more — this node,
	// closing, would refuse it (ErrClosed) though the name is served. A
	// name is served by nobody meanwhile (ErrNotFound: its caller looks
	// again). What the subscriptions had received is refused below
	// (settle). No export is added any more (the node is closing, and
	// those in progress are done): these are all.
	n.mu.Lock()
	exports := make([]*export, 0, len(n.exports))
	for _, ex := range n.exports {
		exports = append(exports, ex)
	}
	n.mu.Unlock()
	var errs []error
	claimed := false
	for _, ex := range exports {
		if err := ex.svc.Stop(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
			errs = append(errs, err)
		}
		claimed = claimed || ex.fence != nil
	}
	// Down, the connection has no subscription on the server, and
	// nats.go does not make a draining one again when it reconnects.
	if claimed && n.nc.IsConnected() {
		ctx, cancel := n.releaseCtx()
		_ = n.flush(ctx)
		cancel()
	}
	// Then the watchers: the names' keeper and watch stop, claims are
	// released.
	unwatched := n.stopNames()
	// Streams end with ErrClosed: their readers are told, not left
	// waiting; a reader that missed its end gets it again while the stop
	// lasts (see endStreams). One still opening waits for its actor's
	// turn, which a served call may hold: once forced, they are all
	// cancelled (waitForced below).
	n.endStreams()
	// Its own readers are detached (ErrClosed), their serving nodes told.
	n.closeReaders()
	n.mu.Lock()
	n.exports = map[string]*export{}
	n.mu.Unlock()
	close(n.quit)
	// Requests the endpoints had received: refused, before the connection
	// closes.
	n.settle()
	// Served calls: answered, or cancelled once forced.
	n.waitForced(&n.served)
	// The bindings' calls: answered, or failed once forced.
	n.calls.close()
	select {
	case <-n.calls.drained():
	case <-n.forced.Done():
	}
	n.calls.failAll(ErrClosed)
	// Streams: their keepers stop (a stream still opening is answered
	// ErrClosed), before the final flush.
	n.cancelBase()
	n.streamWG.Wait()
	// Casts: no new one is queued (castMu), the flusher publishes the rest.
	n.castMu.Lock()
	n.state.Store(closed)
	n.castMu.Unlock()
	close(n.flusherQuit)
	<-n.flusherDone
	n.confirmPublished() // answers and casts reach the server; casts not confirmed are reported
	_ = n.replies.Unsubscribe()
	_ = n.cancelSub.Unsubscribe()
	n.nc.Close()
	<-unwatched // ended by the close, if it still waited for its server
	if n.srv != nil {
		n.srv.Shutdown()
	}
	n.cancelBase()
	n.force()
	return errors.Join(errs...)
}

// waitForced waits for wg; once the stop is forced, it cancels every call
// and stream the node serves, and waits for wg still.
func (n *Node) waitForced(wg *sync.WaitGroup) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-n.forced.Done():
		n.cancelBase()
		n.cancelServing()
		<-done
	}
}

// cancelServing cancels every call (and stream) the node serves.
func (n *Node) cancelServing() {
	n.mu.Lock()
	cancels := make([]canceler, 0, len(n.serving))
	for _, c := range n.serving {
		cancels = append(cancels, c)
	}
	n.mu.Unlock()
	for _, c := range cancels {
		c.cancel()
	}
}

// settle waits until every request the stopped endpoints' subscriptions
// had received has been through serve, which refuses it (the node is
// closing): nats.go drops what a subscription still holds when its
// connection closes, and those callers would wait to their deadlines.
// micro's Stop unsubscribes them and drains them in the background,
// without telling when that is done; so a flush (the server has taken
// the unsubscriptions and sent everything before them: it is all queued
// here), then a barrier, run once every subscription of the connection
// with a handler has handled what it held and its handler returned.
// Bounded by the forced stop, and forcedBudget past it.
func (n *Node) settle() {
	for range 2 { // a flush cut short by the forcing is done again, with the budget
		forced := n.forced.Err() != nil
		ctx, cancel := n.releaseCtx()
		err := n.flush(ctx)
		cancel()
		if err == nil || forced || n.forced.Err() == nil {
			break
		}
	}
	done := make(chan struct{})
	if n.nc.Barrier(func() { close(done) }) != nil {
		return // the connection is closed: nothing is left to answer
	}
	select {
	case <-done:
		return
	case <-n.forced.Done():
	}
	t := time.NewTimer(forcedBudget)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}
