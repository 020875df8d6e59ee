package embedded

import (
	"context"
	"time"
)

// waitRoutes waits until each server has a route to every other one,
// bounded by ctx's deadline, or by readyTimeout if ctx has none.
func waitRoutes(ctx context.Context, ss []*Server) error {
	return waitFor(ctx, func() bool {
		for _, s := range ss {
			if s.s.NumRemotes() < len(ss)-1 {
				return false
			}
		}
		return true
	})
}

// waitPeers waits until the JetStream meta group's leader, among ss, can
// place a stream on every server: it has heard each one's statistics
// (until then a stream of len(ss) replicas is refused, "no suitable
// peers for placement, peer offline"). Bounded as waitRoutes. Servers
// without JetStream have nothing to wait for.
func waitPeers(ctx context.Context, ss []*Server) error {
	if len(ss) == 0 || !ss[0].s.JetStreamEnabled() {
		return nil
	}
	return waitFor(ctx, func() bool {
		for _, s := range ss {
			if len(s.s.JetStreamClusterPeers()) == len(ss) { // the leader's view; nil elsewhere
				return true
			}
		}
		return false
	})
}

// waitFor polls ok every 5 ms until it holds, bounded by ctx's deadline,
// or by readyTimeout if ctx has none (ErrNotReady).
func waitFor(ctx context.Context, ok func() bool) error {
	if _, has := ctx.Deadline(); !has {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, readyTimeout)
		defer cancel()
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !ok() {
		select {
		case <-ctx.Done():
			return ErrNotReady
		case <-tick.C:
		}
	}
	return nil
}
