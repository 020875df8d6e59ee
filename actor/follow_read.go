package actor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"time"
)

// All iterates over the stream from the reader's position: each item as
// (item, nil), waiting for new ones until the stream ends (harp's follow).
// A clean end ends the loop; any other end is one last pair (zero item,
// err): the handler's error or [*PanicError], ErrStopped (the actor
// stopped), a [*TruncatedError] (the reader fell behind the journal; resume
// with Since(err.Oldest), then Close this reader), ErrTimeout (ReadTimeout, or ctx's deadline),
// ctx's cancellation, or ErrStreamClosed (Close). A break out of the loop
// detaches the reader, as Close does; ranging over All again then yields
// only (zero, ErrStreamClosed). A panic in the loop's body detaches it too.
//
// All blocks while it waits; a reader made with a handler's Context lends
// its worker to the pool meanwhile, as Call does. Items reach each reader
// in sequence order. Cost per item: a copy out of the journal, taken in
// batches of up to 64 under one lock; no allocation in steady state.
func (f *Follow[E]) All() iter.Seq2[Item[E], error] {
	return func(yield func(Item[E], error) bool) {
		if f == nil || f.j == nil {
			yield(Item[E]{}, ErrNilStream)
			return
		}
		if !f.busy.CompareAndSwap(false, true) {
			yield(Item[E]{}, ErrFollowBusy)
			return
		}
		finished := false
		defer func() {
			if !finished {
				f.detach(ErrStreamClosed) // the body panicked or called Goexit
			}
			clear(f.buf)
			f.busy.Store(false)
		}()
		for {
			batch, end := f.fetch(true)
			for _, it := range batch {
				if f.halted.Load() { // Close, ctx: the next fetch has the end
					break
				}
				if !yield(it, nil) {
					f.detach(ErrStreamClosed)
					finished = true
					return
				}
			}
			if end != nil {
				finished = true
				if end != errEnd {
					yield(Item[E]{}, end)
				}
				return
			}
		}
	}
}

// Collected returns what the stream holds now from the reader's position
// on, without waiting, and moves the reader past it (harp's stream): err
// is nil while the stream is open; once it has ended and everything has
// been returned, io.EOF for a clean end or the stream's error, and the
// reader is detached. Errors as for All; a nil Follow's is ErrNilStream.
// Cost: O(items returned), one allocation for the slice.
func (f *Follow[E]) Collected() ([]Item[E], error) {
	if f == nil || f.j == nil {
		return nil, ErrNilStream
	}
	if !f.busy.CompareAndSwap(false, true) {
		return nil, ErrFollowBusy
	}
	defer f.busy.Store(false)
	f.ctxEnded()
	j := f.j
	var out []Item[E]
	j.mu.Lock()
	if t, ok := f.readableLocked(); ok {
		out = j.copyLocked(make([]Item[E], 0, t-f.next), f.next, t-f.next)
		j.movedLocked(f.next, t)
		f.next = t
	}
	fx, end := f.stateLocked()
	j.mu.Unlock()
	fx.run(j)
	if end == errEnd {
		end = io.EOF
	}
	return out, end
}

// readableLocked loads tail and reports whether the reader has items to
// take up to it.
func (f *Follow[E]) readableLocked() (tail uint64, ok bool) {
	t := f.j.tailNow()
	return t, !f.done && f.next < t && f.next >= f.j.headOf(t)
}

// stateLocked is the end a reader with nothing left to take gets now: nil
// if it should wait, errEnd for a clean end, else the error; it detaches
// the reader if that is new.
func (f *Follow[E]) stateLocked() (detached, error) {
	j := f.j
	if f.done {
		if f.final == nil {
			return detached{}, errEnd
		}
		return detached{}, f.final
	}
	closed := j.closed.Load() // before tail: a closed journal's tail is final
	t := j.tailNow()
	if h := j.headOf(t); f.next < h {
		te := &TruncatedError{Oldest: h}
		return f.truncateLocked(te), te
	}
	if f.next >= t && closed {
		return f.endLocked()
	}
	return detached{}, nil
}

// fetch returns the next batch (in f.buf) or, with none, how the reader
// ended (errEnd for a clean end). With wait, it waits for at least one
// item or the end; the read timeout runs while it waits.
func (f *Follow[E]) fetch(wait bool) ([]Item[E], error) {
	j := f.j
	armed := false
	defer func() {
		if armed {
			f.tm.Stop()
		}
	}()
	f.ctxEnded()
	j.mu.Lock()
	for {
		if t, ok := f.readableLocked(); ok {
			n := min(t-f.next, maxBatch)
			f.buf = j.copyLocked(f.buf[:0], f.next, n)
			j.movedLocked(f.next, f.next+n)
			f.next += n
			j.mu.Unlock()
			// The end, if this was the last batch, is for the next fetch:
			// a loop that breaks before it leaves the error unseen (and
			// reported as a dead letter).
			return f.buf, nil
		}
		fx, end := f.stateLocked()
		if end != nil || !wait {
			j.mu.Unlock()
			fx.run(j)
			return nil, end
		}
		if !f.waiting {
			f.waiting = true
			j.waiters = append(j.waiters, f)
			j.nwait.Store(int32(len(j.waiters)))
			continue // look at tail once more, now that producers see us
		}
		j.mu.Unlock()
		if f.timeout > 0 && !armed {
			armed = true
			if f.tm == nil {
				f.tm = time.NewTimer(f.timeout)
			} else {
				f.tm.Reset(f.timeout)
			}
		}
		f.park(armed)
		j.mu.Lock()
	}
}

// park waits for a signal from the journal, the end of ctx or the read
// timeout; the last two detach the reader (fetch then sees it done).
func (f *Follow[E]) park(timed bool) {
	var expired <-chan time.Time
	if timed {
		expired = f.tm.C
	}
	if f.sched != nil {
		f.sched.Block()
		defer f.sched.Unblock()
	}
	select {
	case <-f.wake:
		f.ctxEnded() // woken as ctx ended: no batch after its end
	case <-f.ctx.Done():
		f.detach(followCtxErr(f.ctx, f.j.label))
	case <-expired:
		f.expire()
	}
}

// expire ends f with ErrTimeout, its read timeout having fired, unless
// what it waited for came meanwhile: an item at or past its position, or
// the stream's end. A reader woken by a Send but run only after its timer
// fired too (a loaded machine) finds both ready, and select picks either:
// its item came in time, so fetch reads it (or the truncation or the end
// that came with it) instead. Under mu, as a Send that publishes its item
// after the look came too late.
func (f *Follow[E]) expire() {
	j := f.j
	j.mu.Lock()
	if f.next < j.tailNow() || j.closed.Load() {
		j.mu.Unlock()
		return
	}
	f.halted.Store(true)
	fx, _ := f.detachLocked(fmt.Errorf("%w: no item for %v (%s)", ErrTimeout, f.timeout, j.label))
	j.mu.Unlock()
	fx.run(j)
}

// ctxEnded detaches f if its ctx has ended: the watch does too, but on a
// goroutine of its own, maybe not yet, and a reader reads nothing once
// its ctx has ended. An atomic load while ctx lasts.
func (f *Follow[E]) ctxEnded() {
	if f.ctx.Err() != nil {
		f.detach(followCtxErr(f.ctx, f.j.label))
	}
}

// followCtxErr is a reader's end when its ctx ends: ErrTimeout for a
// deadline, else the ctx's cause.
func followCtxErr(ctx context.Context, label string) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return timeoutFor(label)
	}
	return fmt.Errorf("actor: stream %s: %w", label, context.Cause(ctx))
}
