package remote

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// keep refreshes every claim a third of a lease apart (see refresh), and
// when asked (recheck), several at once; a round ends when each of its
// refreshes has (each bounded by a third of a lease).
func (n *Node) keep(r *names) {
	t := time.NewTicker(n.cfg.lease / 3)
	defer t.Stop()
	for {
		select {
		case <-r.quit:
			return
		case <-t.C:
		case <-r.recheck:
		}
		r.mu.Lock()
		cs := make([]*claim, 0, len(r.claims))
		for _, c := range r.claims {
			if c.rev != 0 { // 0: being created
				cs = append(cs, c)
			}
		}
		r.mu.Unlock()
		// Up to refreshesInFlight at a time: one after the other, a
		// round of many claims could take longer than a lease.
		var wg sync.WaitGroup
		slots := make(chan struct{}, refreshesInFlight)
		for _, c := range cs {
			slots <- struct{}{}
			wg.Go(func() {
				defer func() { <-slots }()
				n.refresh(r, c)
			})
		}
		wg.Wait()
	}
}

// refreshesInFlight bounds the keeper's refreshes under way at once.
const refreshesInFlight = 64

// refresh writes c's key again at its revision. A claim whose key has
// another revision is lost — unless the key still holds this node's mark:
// then it is a refresh the server applied whose answer never came (the
// connection dropped meanwhile, or its ctx ended first), and the claim is
// refreshed at that revision, if it is still live (a claim released
// meanwhile leaves the key alone: the name may be claimed here again). Other errors (a reconnect, a slow server)
// are left to the next tick, while it comes before the lease may have run
// out (a lease after the last write that took, held): past that the
// server may have dropped the key and another node taken the name, so
// the claim is lost (fenced) rather than served by two nodes — also when
// the keeper itself ran late (the process paused longer than the lease).
func (n *Node) refresh(r *names, c *claim) {
	period := n.cfg.lease / 3
	r.mu.Lock()
	rev, expires := c.rev, c.held.Add(n.cfg.lease)
	r.mu.Unlock()
	sent := time.Now()
	if !sent.Before(expires) {
		n.lose(r, c, fmt.Errorf("not refreshed for %v, its lease", n.cfg.lease))
		return
	}
	// Close does not wait for it; no use waiting past the lease.
	deadline := sent.Add(period)
	if expires.Before(deadline) {
		deadline = expires
	}
	ctx, cancel := context.WithDeadline(n.forced, deadline)
	defer cancel()
	nrev, err := r.kv.Update(ctx, c.name, []byte(n.claimMark), rev)
	if errors.Is(err, jetstream.ErrKeyExists) {
		e, gerr := r.kv.Get(ctx, c.name)
		switch {
		case gerr == nil && string(e.Value()) == n.claimMark:
			// Ours, but c's only while c is live: one released since may
			// have its name claimed again here, with the same mark, and
			// that claim's key must be neither taken over nor deleted
			// as this refresh's stray (below). While c is live no other
			// claim of the name can be made here (its placeholder).
			r.mu.Lock()
			live := r.claims[c.name] == c
			r.mu.Unlock()
			if live {
				nrev, err = r.kv.Update(ctx, c.name, []byte(n.claimMark), e.Revision())
			} // else: lose (below) finds c gone, and does nothing
		case gerr == nil, errors.Is(gerr, jetstream.ErrKeyNotFound), errors.Is(gerr, jetstream.ErrKeyDeleted):
			// Another node's, or gone: lost (below).
		default:
			err = gerr // unknown yet: the next tick asks again, if in time
		}
	}
	switch {
	case err == nil:
		r.mu.Lock()
		live := r.claims[c.name] == c
		if live && c.rev == rev {
			c.rev, c.held = nrev, sent
			c.until.Store(mono(sent.Add(n.cfg.lease)))
		}
		r.mu.Unlock()
		if !live {
			// Released (or lost) while the refresh was on the way: the
			// release's delete, at rev, missed the refresh's write, which
			// the watch leaves if it saw it while c was live. It is
			// deleted here, if still at nrev, rather than name this node,
			// which serves the name no more, for a lease.
			dctx, cancel := n.releaseCtx()
			n.dropStray(dctx, r, c.name, nrev)
			cancel()
		}
	case errors.Is(err, jetstream.ErrKeyExists), errors.Is(err, jetstream.ErrKeyNotFound):
		n.lose(r, c, err) // wrong revision: the key expired or changed hands
	case n.forced.Err() == nil && !time.Now().Add(period).Before(expires):
		// The next tick comes too late to refresh it.
		n.lose(r, c, fmt.Errorf("not refreshed within its lease (%v): %w", n.cfg.lease, err))
	}
}

// watchNames loses a claim whose key someone else changed or deleted.
// A watch that ends (nats.go gave its consumer up) is made again, and so
// is one asked to (askRewatch: the connection reconnected, or the bucket
// was made again).
func (n *Node) watchNames(r *names) {
	for {
		select {
		case <-r.quit:
			return
		case <-n.rewatch:
			if !n.renewWatch(r) {
				return
			}
		case e, ok := <-r.watcher.Updates():
			if !ok && !n.renewWatch(r) {
				return
			}
			if e != nil {
				n.nameChanged(r, e.Key(), e.Operation(), e.Revision(), e.Value())
			}
		}
	}
}

// rewatchWait is how long the watch waits between attempts to make
// itself again.
const rewatchWait = time.Second

// renewWatch replaces r's watcher by a new one, trying every rewatchWait
// until it is made or the node stops (false). The old one is
// unsubscribed (its ctx ended). Changes between the two watches are not
// seen: the keeper refreshes every claim at once (recheck), which finds
// one lost meanwhile.
func (n *Node) renewWatch(r *names) bool {
	for {
		ctx, cancel := context.WithTimeout(r.stopped, n.cfg.callTimeout)
		w, unwatch, err := watchNamesKV(ctx, r.kv) // stopped if made as the stop began
		cancel()
		if err == nil {
			r.unwatch() // the old watcher's
			r.watcher, r.unwatch = w, unwatch
			select {
			case r.recheck <- struct{}{}:
			default:
			}
			return true
		}
		select {
		case <-r.quit:
			return false
		case <-time.After(rewatchWait):
		}
	}
}

// nameChanged loses the claim of key if the change (op at revision rev,
// writing value) is someone else's. A claim still being created (rev 0:
// its Create has not returned) ignores changes: the watcher may deliver
// one older than the Create late (the delete that freed the name, say),
// and a real loss that races the Create is caught by the keeper, whose
// refresh at the claim's revision then fails; it notes a write of this
// node's mark (claim.seen), for the Claim to delete if it fails. A write of
// this node's mark that no claim holds is a Claim's request whose answer
// was lost, landed after the Claim gave up: it is deleted (dropStray).
func (n *Node) nameChanged(r *names, key string, op jetstream.KeyValueOp, rev uint64, value []byte) {
	mine := op == jetstream.KeyValuePut && string(value) == n.claimMark
	r.mu.Lock()
	c := r.claims[key]
	ours := c != nil && (c.rev == 0 || rev <= c.rev || mine)
	if c != nil && c.rev == 0 && mine {
		c.seen = max(c.seen, rev)
	}
	r.mu.Unlock()
	switch {
	case c == nil && mine:
		// Bounded by the stop, which waits for the watch.
		ctx, cancel := context.WithTimeout(r.stopped, n.cfg.callTimeout)
		n.dropStray(ctx, r, key, rev)
		cancel()
	case c != nil && !ours:
		n.lose(r, c, fmt.Errorf("key %s at revision %d", op, rev))
	}
}

// lose forgets a claim that is no longer ours and stops its actor.
func (n *Node) lose(r *names, c *claim, why error) {
	r.mu.Lock()
	if r.claims[c.name] != c {
		r.mu.Unlock()
		return
	}
	delete(r.claims, c.name)
	ex := c.ex
	r.mu.Unlock()
	c.until.Store(0) // fenced: what arrives before the unexport is refused
	n.refuse(Refusal{Reason: ReasonNameLost, Name: c.name, Err: fmt.Errorf("%w: %q lost: %w", ErrNameTaken, c.name, why)})
	if ex != nil {
		n.unexport(ex)
	}
	c.kill()
}

// stopNames releases every claim and stops the keeper and the watcher:
// the first step of a node's stop (watchers before connections). It
// returns a channel closed once the watcher's Stop has returned, which
// the stop waits for after closing the connection.
//
// The watcher's Stop deletes its consumer by a request with nats.go's
// fixed timeout (5 s) and no context: with its server gone it held a
// Close up that long. So it runs on a goroutine of the stop's, waited
// for until the stop is forced; closing the connection then ends the
// request at once (nats.go fails pending requests on close), and the
// server drops an ephemeral consumer on its own.
func (n *Node) stopNames() <-chan struct{} {
	unwatched := make(chan struct{})
	n.namesMu.Lock()
	r := n.names
	n.namesMu.Unlock()
	if r == nil {
		close(unwatched)
		return unwatched
	}
	r.stop()
	close(r.quit)
	<-r.done
	go func() {
		defer close(unwatched)
		_ = r.watcher.Stop()
		r.unwatch()
	}()
	select {
	case <-unwatched:
	case <-n.forced.Done():
	}
	// Claims under way return first, while the connection is open: a
	// key created, or deleted, as the connection closed would outlive the
	// stop by a lease. Bounded by the forced stop.
	r.mu.Lock()
	r.stopping = true
	var idle chan struct{}
	if r.creating > 0 {
		r.idle = make(chan struct{})
		idle = r.idle
	}
	r.mu.Unlock()
	if idle != nil {
		select {
		case <-idle:
		case <-n.forced.Done():
		}
	}
	r.mu.Lock()
	cs := make([]*claim, 0, len(r.claims))
	for _, c := range r.claims {
		cs = append(cs, c)
	}
	r.mu.Unlock()
	ctx, cancel := n.releaseCtx() // one budget for them all
	defer cancel()
	for _, c := range cs {
		n.release(ctx, r, c)
	}
	return unwatched
}
