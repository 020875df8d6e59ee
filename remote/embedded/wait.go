package embedded

import (
	"context"
	"time"
)

// waitRoutes waits until each server has a route to every other one,
// bounded by ctx's deadline, or by readyTimeout if ctx has none.
func waitRoutes(ctx context.Context, ss []*Server) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, readyTimeout)
		defer cancel()
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		ok := true
		for _, s := range ss {
			if s.s.NumRemotes() < len(ss)-1 {
				ok = false
				break
			}
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ErrNotReady
		case <-tick.C:
		}
	}
}
