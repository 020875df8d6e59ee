package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/troupe-go/troupe/actor"
)

// mirror is the output of a backend's job followed on this dispatcher: an
// actor stream of its own, filled from the backend by one goroutine, so
// that every reader here gets the actor stream's semantics (Since,
// Recent, Collected, read timeouts, truncation) and the backend is read
// once whatever the number of readers. The pump runs while a reader's
// ctx is live: it stops, and the mirror is dropped from the map, when the
// job's output has ended, or when the ctx of every reader it was made
// for has ended (a later reader makes a new one). Its readers keep it.
type mirror struct {
	out  *actor.Out[any]
	stop context.CancelFunc // stops the pump
	done chan struct{}      // closed once out has ended: the pump has returned

	readers int // readers whose ctx is live; guarded by the dispatcher's mirMu
}

// viewFollow is Job.Follow with a backend.
func (j *Job) viewFollow(ctx context.Context, opts ...actor.FollowOption) (*actor.Follow[any], error) {
	f, _, err := j.d.followMirror(ctx, j.id, opts)
	return f, err
}

// viewFollowNow is followNow with a backend. A mirror just made holds
// what its pump has copied so far, maybe nothing: a reader of what the
// output holds now would find items missing, and no end. An ended job's
// output no longer changes, so its reader is placed once the mirror has
// it all (its end), bounded by DefaultBackendTimeout (ErrUnavailable past
// it) and ctx; a running job's reader is placed at once.
func (j *Job) viewFollowNow(ctx context.Context, opts ...actor.FollowOption) (*actor.Follow[any], error) {
	if r, _ := j.refresh(); !r.State.Terminal() {
		return j.viewFollow(ctx, opts...)
	}
	// A reader for ctx keeps the pump going while it waits.
	hold, m, err := j.d.followMirror(ctx, j.id, []actor.FollowOption{actor.Recent(0)})
	if err != nil {
		return nil, err
	}
	defer hold.Close()
	t := time.NewTimer(DefaultBackendTimeout)
	defer t.Stop()
	select {
	case <-m.done:
	case <-t.C:
		return nil, fmt.Errorf("%w: job %s: its output not read within %v", ErrUnavailable, j.id, DefaultBackendTimeout)
	case <-ctx.Done():
		return nil, fmt.Errorf("jobs: job %s: output: %w", j.id, context.Cause(ctx))
	}
	return m.out.Follow(ctx, opts...)
}

// followMirror attaches a reader with ctx and opts to the output mirror
// of job id, starting one if none runs, and counts it until ctx ends.
func (d *Dispatcher) followMirror(ctx context.Context, id string, opts []actor.FollowOption) (*actor.Follow[any], *mirror, error) {
	d.mirMu.Lock()
	defer d.mirMu.Unlock()
	m := d.mirrors[id]
	if m == nil {
		if d.life.Err() != nil {
			return nil, nil, ErrClosed
		}
		out, err := d.newOutput()
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %w", ErrClosed, err)
		}
		pctx, stop := context.WithCancel(d.life)
		m = &mirror{out: out, stop: stop, done: make(chan struct{})}
		d.mirrors[id] = m
		d.viewers.Go(func() { d.pump(pctx, id, m) })
	}
	f, err := m.out.Follow(ctx, opts...)
	if err != nil {
		d.leftLocked(id, m) // a mirror just made has no reader
		return nil, nil, err
	}
	m.readers++
	context.AfterFunc(ctx, func() {
		d.mirMu.Lock()
		m.readers--
		d.leftLocked(id, m)
		d.mirMu.Unlock()
	})
	return f, m, nil
}

// leftLocked stops m's pump and drops it if no reader's ctx is live: the
// readers left have ended, or are ending, with their ctx. The caller
// holds mirMu.
func (d *Dispatcher) leftLocked(id string, m *mirror) {
	if m.readers > 0 {
		return
	}
	if d.mirrors[id] == m {
		delete(d.mirrors, id)
	}
	m.stop()
}

// pump copies job id's output from the backend into m until it ends (the
// job's end), ctx ends (its readers left, or the dispatcher stops). Item
// numbers are kept: items the backend no longer has (its size limits) are
// nil in the mirror.
func (d *Dispatcher) pump(ctx context.Context, id string, m *mirror) {
	defer close(m.done)
	defer m.stop()
	next := uint64(0)
	err := d.b.Output(ctx, id, func(it OutputItem) bool {
		if it.Seq < next {
			return true // a duplicate
		}
		for ; next < it.Seq; next++ {
			_ = m.out.Send(nil)
		}
		next++
		_ = m.out.Send(it.Value)
		return true
	})
	d.mirMu.Lock()
	if d.mirrors[id] == m {
		delete(d.mirrors, id)
	}
	d.mirMu.Unlock()
	if d.life.Err() == nil && ctx.Err() != nil {
		// Its readers left: each ends with its ctx. Closing with an
		// error would make a dead letter of it.
		err = nil
	}
	_ = m.out.Close(d.storeErr(err))
}
