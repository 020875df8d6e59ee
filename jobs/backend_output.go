package jobs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
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
//
// A reader's position may depend on the output's end (Recent): a mirror
// just made holds what its pump has copied so far, maybe nothing, so
// readers are placed only once it has caught up, its pump having copied
// every item the backend stored when the mirror was made (see
// Backend.Output). Every reader of a mirror not caught up yet waits,
// whatever its options (a Since reader could be placed sooner; the one
// rule keeps the catch-up simple). Its
// position is then taken in the mirror's journal as it is, which keeps
// what an output in memory keeps (the dispatcher's output journal
// bounds: the oldest kept items are there, and item numbers are the
// store's, so a Since before them gets a *actor.TruncatedError, as in
// memory). Only the items the journal dropped during the catch-up, as
// the store held more than it keeps, are out of reach: a reader placed
// before it might have read them, if it kept up with the copy.
type mirror struct {
	out       *actor.Out[any]
	stop      context.CancelFunc // stops the pump
	done      chan struct{}      // closed once out has ended: the pump has returned
	caught    chan struct{}      // closed once out holds every item stored when the pump began, or has ended
	caughtOne sync.Once          // closes caught
	copied    atomic.Uint64      // items the pump has copied: its progress, for wait
}

// wait waits for ch (m's catch-up or its end) and reports whether it
// came; false if ctx ended first, or if the pump copied nothing for
// DefaultBackendTimeout: a long replay takes as long as it takes, while
// a stalled store does not hold a reader for ever.
func (m *mirror) wait(ctx context.Context, ch <-chan struct{}) bool {
	t := time.NewTimer(DefaultBackendTimeout)
	defer t.Stop()
	last := m.copied.Load()
	for {
		select {
		case <-ch:
			return true
		case <-ctx.Done():
			return false
		case <-t.C:
			n := m.copied.Load()
			if n == last {
				return false
			}
			last = n
			t.Reset(DefaultBackendTimeout)
		}
	}
}

// caughtUp marks m as caught up: readers are placed from now on.
func (m *mirror) caughtUp() { m.caughtOne.Do(func() { close(m.caught) }) }

// isCaught reports whether m has caught up.
func (m *mirror) isCaught() bool {
	select {
	case <-m.caught:
		return true
	default:
		return false
	}
}

// viewFollow is Job.Follow with a backend: its reader is placed once the
// mirror has caught up (see mirror), bounded by ctx and by
// DefaultBackendTimeout without progress (ErrUnavailable past it).
func (j *Job) viewFollow(ctx context.Context, opts ...actor.FollowOption) (*actor.Follow[any], error) {
	f, m, placed, err := j.d.followMirror(ctx, j.ref(), opts)
	if err != nil || placed {
		return f, err
	}
	// f, placed too early, keeps the pump going while this waits.
	defer f.Close()
	caught := m.wait(ctx, m.caught)
	switch {
	case ctx.Err() != nil:
		return nil, fmt.Errorf("jobs: job %s: output: %w", j.id, context.Cause(ctx))
	case !caught:
		return nil, fmt.Errorf("%w: job %s: its stored output: nothing read for %v", ErrUnavailable, j.id, DefaultBackendTimeout)
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
	// A reader for ctx keeps the pump going while it waits.
	hold, m, _, err := j.d.followMirror(ctx, j.ref(), []actor.FollowOption{actor.Recent(0)})
	if err != nil {
		return nil, err
	}
	defer hold.Close()
	if !m.wait(ctx, m.done) && ctx.Err() == nil {
		return nil, fmt.Errorf("%w: job %s: its output: nothing read for %v", ErrUnavailable, j.id, DefaultBackendTimeout)
	}
	if ctx.Err() != nil { // hold left with ctx: the mirror may have ended short of the output's end
		return nil, fmt.Errorf("jobs: job %s: output: %w", j.id, context.Cause(ctx))
	}
	return m.out.Follow(ctx, opts...)
}

// followMirror attaches a reader with ctx and opts to the output mirror
// of job ref, starting one if none runs, and reports whether the mirror
// had caught up as the reader was placed (else its position may be
// wrong: see mirror). The reader keeps the pump going until it detaches
// (see mirror): no registration outlives it.
func (d *Dispatcher) followMirror(ctx context.Context, id jobRef, opts []actor.FollowOption) (*actor.Follow[any], *mirror, bool, error) {
	d.mirMu.Lock()
	defer d.mirMu.Unlock()
	if m := d.mirrors[id]; m != nil {
		placed := m.isCaught() // before the attach: caught up as it is placed
		f, err := m.out.Follow(ctx, opts...)
		if err != nil {
			return nil, nil, false, err
		}
		// Attached, then looked: a live Context means the pump was not
		// told to stop, and this reader now keeps it from that; else the
		// last reader left before this one came, and the pump is
		// stopping (see Out.Context): drop that mirror (no other can
		// take its place while mirMu is held), make a new one.
		if !noReader(m.out) {
			return f, m, placed, nil
		}
		_ = f.Close()
		d.dropLocked(id, m)
	}
	if d.life.Err() != nil {
		return nil, nil, false, ErrClosed
	}
	out, err := d.newOutput(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, false, err
		}
		return nil, nil, false, fmt.Errorf("%w: %w", ErrClosed, err)
	}
	f, err := out.Follow(ctx, opts...)
	if err != nil {
		_ = out.Close(nil) // no reader, no pump
		return nil, nil, false, err
	}
	// The Out's Context is made now, with its first reader attached:
	// made with none (newOutput's Open has come and gone) it would be
	// cancelled at once.
	_ = out.Context()
	pctx, stop := context.WithCancel(d.life)
	m := &mirror{out: out, stop: stop, done: make(chan struct{}), caught: make(chan struct{})}
	d.mirrors[id] = m
	d.viewers.Go(func() { d.pump(pctx, id, m) })
	if noReader(out) { // f's ctx has already ended, and its watch detached it
		d.dropLocked(id, m)
	}
	return f, m, false, nil
}

// noReader reports whether out's producer was told that its last reader
// left.
func noReader(out *actor.Out[any]) bool {
	return errors.Is(context.Cause(out.Context()), actor.ErrNoReader)
}

// dropLocked takes m out of the map, if it is there, and stops its pump.
// The caller holds mirMu.
func (d *Dispatcher) dropLocked(id jobRef, m *mirror) {
	if d.mirrors[id] == m {
		delete(d.mirrors, id)
	}
	m.stop()
}

// pump copies job id's output (of its generation) from the backend into m until it ends (the
// job's end), or ctx ends (its last reader left, or the dispatcher
// stops). Item numbers are kept: items the backend no longer has (its
// size limits) are nil in the mirror. m has caught up once the backend
// says so, or once out has ended (it no longer changes).
func (d *Dispatcher) pump(ctx context.Context, id jobRef, m *mirror) {
	defer close(m.done)
	defer m.caughtUp() // after out's Close
	defer m.stop()
	// The last reader's leaving (or the end of out, which the pump makes)
	// stops the copy.
	defer context.AfterFunc(m.out.Context(), m.stop)()
	next := uint64(0)
	err := d.b.Output(ctx, id.id, id.gen, m.caughtUp, func(it OutputItem) bool {
		m.copied.Add(1)
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
