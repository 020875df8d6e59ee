package jetjobs

import (
	"context"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"

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
// is dropped when it comes up.
//
// A follower of the job sees every item its runner stored, then the end.
// A queued job's output is ended here; a running job's only by its
// runner, after its last item (the items it sent before it saw the
// cancel may be stored after Cancel returns), once the handler has
// returned. If that node is dead, or its handler overruns the cancel,
// followers end by the cancelled record after two idle rechecks of a
// second. The job is the one of generation gen (a record's Gen; 0:
// whichever id names): a record of another is jobs.ErrNotFound, and is
// left as it is. Errors: jobs.ErrNotFound, jobs.ErrUnavailable,
// *VersionError, ErrMalformed.
func (b *Backend) Cancel(ctx context.Context, id string, gen uint64) (bool, error) {
	var was jobs.State
	var node string
	r, _, gen, data, ok, err := b.change(ctx, id, gen, jobs.Record{}, 0, func(c *jobs.Record) bool {
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
	if was != jobs.Running || node == "" { // no runner: the output ends here
		b.announceEnd(r, gen, data)
		return true, nil
	}
	// The runner ends the output, after its items in flight: a marker
	// written here could land before them. The request names the job's
	// generation: a run of an older job of the same id is not cancelled.
	rctx, cancel := context.WithTimeout(ctx, time.Second)
	_, _ = b.nc.RequestMsgWithContext(rctx, &nats.Msg{Subject: b.cancelSubject(node), Data: []byte(id),
		Header: nats.Header{hdrGen: {strconv.FormatUint(gen, 10)}}})
	cancel()
	b.notifyEnd(r.ID, data)
	return true, nil
}
