package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/troupe-go/troupe/actor"
)

// mirror is the output of a backend's job followed on this dispatcher: an
// actor stream of its own, filled from the backend by one goroutine, so
// that every reader here gets the actor stream's semantics (Since,
// Recent, Collected, read timeouts, truncation) and the backend is read
// once whatever the number of readers. The pump runs while the mirror
// has a reader: it stops, and the mirror is dropped from the map, when
// the job's output has ended, or when its last reader has detached (its
// Close, a break out of its All, the end of its ctx, its read timeout:
// the Out's Context ends with ErrNoReader), or the dispatcher stops. A
// later reader makes a new one.
type mirror struct {
	out  *actor.Out[any]
	stop context.CancelFunc // stops the pump
	done chan struct{}      // closed once out has ended: the pump has returned
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
	}
	if ctx.Err() != nil { // hold left with ctx: the mirror may have ended short of the output's end
		return nil, fmt.Errorf("jobs: job %s: output: %w", j.id, context.Cause(ctx))
	}
	return m.out.Follow(ctx, opts...)
}

// followMirror attaches a reader with ctx and opts to the output mirror
// of job id, starting one if none runs. The reader keeps the pump going
// until it detaches (see mirror): no registration outlives it.
func (d *Dispatcher) followMirror(ctx context.Context, id string, opts []actor.FollowOption) (*actor.Follow[any], *mirror, error) {
	d.mirMu.Lock()
	defer d.mirMu.Unlock()
	if m := d.mirrors[id]; m != nil {
		f, err := m.out.Follow(ctx, opts...)
		if err != nil {
			return nil, nil, err
		}
		// Attached, then looked: a live Context means the pump was not
		// told to stop, and this reader now keeps it from that; else the
		// last reader left before this one came, and the pump is
		// stopping (see Out.Context): drop that mirror (no other can
		// take its place while mirMu is held), make a new one.
		if !noReader(m.out) {
			return f, m, nil
		}
		_ = f.Close()
		d.dropLocked(id, m)
	}
	if d.life.Err() != nil {
		return nil, nil, ErrClosed
	}
	out, err := d.newOutput()
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrClosed, err)
	}
	f, err := out.Follow(ctx, opts...)
	if err != nil {
		_ = out.Close(nil) // no reader, no pump
		return nil, nil, err
	}
	// The Out's Context is made now, with its first reader attached:
	// made with none (newOutput's Open has come and gone) it would be
	// cancelled at once.
	_ = out.Context()
	pctx, stop := context.WithCancel(d.life)
	m := &mirror{out: out, stop: stop, done: make(chan struct{})}
	d.mirrors[id] = m
	d.viewers.Go(func() { d.pump(pctx, id, m) })
	if noReader(out) { // f's ctx has already ended, and its watch detached it
		d.dropLocked(id, m)
	}
	return f, m, nil
}

// noReader reports whether out's producer was told that its last reader
// left.
func noReader(out *actor.Out[any]) bool {
	return errors.Is(context.Cause(out.Context()), actor.ErrNoReader)
}

// dropLocked takes m out of the map, if it is there, and stops its pump.
// The caller holds mirMu.
func (d *Dispatcher) dropLocked(id string, m *mirror) {
	if d.mirrors[id] == m {
		delete(d.mirrors, id)
	}
	m.stop()
}

// pump copies job id's output from the backend into m until it ends (the
// job's end), or ctx ends (its last reader left, or the dispatcher
// stops). Item numbers are kept: items the backend no longer has (its
// size limits) are nil in the mirror.
func (d *Dispatcher) pump(ctx context.Context, id string, m *mirror) {
	defer close(m.done)
	defer m.stop()
	// The last reader's leaving (or the end of out, which the pump makes)
	// stops the copy.
	defer context.AfterFunc(m.out.Context(), m.stop)()
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
