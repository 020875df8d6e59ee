package jetjobs

import (
	"context"
	"time"

	"github.com/troupe-go/troupe/jobs"
)

// Cancel ends job id as cancelled, wherever it is, and reports whether it
// had not ended: the record first (compare-and-set, so a job that ended
// meanwhile on another node keeps its end and Cancel returns false),
// then, for a running job, a request to its node, which cancels the
// handler's context (a node that does not answer is dead or cut off: the
// job's message comes back after a lease and is dropped, as it has
// ended; a live node that missed the request cancels the handler at its
// next lease refresh, within a third of a lease). A queued job's message
// is dropped when it comes up. Errors: jobs.ErrNotFound,
// jobs.ErrUnavailable, *VersionError, ErrMalformed.
func (b *Backend) Cancel(ctx context.Context, id string) (bool, error) {
	var was jobs.State
	var node string
	r, _, data, ok, err := b.change(ctx, id, jobs.Record{}, 0, func(c *jobs.Record) bool {
		if c.State.Terminal() {
			return false
		}
		was, node = c.State, c.Node
		c.State, c.Ended, c.Error = jobs.Cancelled, time.Now(), jobs.Remote(jobs.ErrCancelled)
		return true
	})
	if err != nil || !ok {
		return false, err
	}
	if was == jobs.Running && node != "" {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		_, _ = b.nc.RequestWithContext(rctx, b.cancelSubject(node), []byte(id))
		cancel()
	}
	b.announceEnd(r, data)
	return true, nil
}
