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
// once whatever the number of readers. It is dropped from the map when
// the job's output has ended; its readers keep it.
type mirror struct {
	out  *actor.Out[any]
	done chan struct{} // closed once out has ended: the pump has returned
}

// viewFollow is Job.Follow with a backend.
func (j *Job) viewFollow(ctx context.Context, opts ...actor.FollowOption) (*actor.Follow[any], error) {
	m, err := j.d.mirrorOf(j.id)
	if err != nil {
		return nil, err
	}
	return m.out.Follow(ctx, opts...)
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
	m, err := j.d.mirrorOf(j.id)
	if err != nil {
		return nil, err
	}
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

// mirrorOf returns the output mirror of job id, starting one if none runs.
func (d *Dispatcher) mirrorOf(id string) (*mirror, error) {
	d.mirMu.Lock()
	defer d.mirMu.Unlock()
	if m := d.mirrors[id]; m != nil {
		return m, nil
	}
	if d.life.Err() != nil {
		return nil, ErrClosed
	}
	out, err := d.newOutput()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrClosed, err)
	}
	m := &mirror{out: out, done: make(chan struct{})}
	d.mirrors[id] = m
	d.viewers.Go(func() { d.pump(id, m) })
	return m, nil
}

// pump copies job id's output from the backend into m until it ends (the
// job's end), or the dispatcher stops. Item numbers are kept: items the
// backend no longer has (its size limits) are nil in the mirror.
func (d *Dispatcher) pump(id string, m *mirror) {
	next := uint64(0)
	err := d.b.Output(d.life, id, func(it OutputItem) bool {
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
	if err != nil && d.life.Err() != nil {
		err = fmt.Errorf("%w: %w", ErrClosed, err)
	}
	_ = m.out.Close(err)
	close(m.done)
}
