package actor

import (
	"context"
	"errors"
	"reflect"

	"github.com/troupe-go/troupe/internal/engine"
)

// end closes the journal with err (nil: a clean end; stopped: its actor
// stopped, or its Open failed, and err is no dead letter: those have
// their own). It reports false if it was already closed. Readers get what
// is kept, then err; producers waiting for room get ErrStreamClosed; the
// producer's Context is cancelled, under mu with the close, so a reader
// that gets the end finds it cancelled. The attached readers stay
// watched: the end of a reader's ctx still detaches it (it reads nothing
// more, and an error that no reader received then goes to the dead
// letters), and it leaves the readers of an Out kept for later readers.
// Readers ended by truncation are released: they have nothing left to
// count for. An error that no reader is attached to receive goes to the
// dead letters.
func (j *journal[E]) end(err error, stopped bool) bool { return j.endIf(err, stopped, false) }

// abandon ends the open journal of an Open that gave up (with err, what
// Open returns, so no dead letter) if no reader is left on it: nobody got
// a reader of it or its id from Open, so nobody would read it, and its
// producer, told only by an Out.Context it may not watch, would send on
// into a journal kept until its actor stops. A reader that followed it
// by id meanwhile keeps it open (the check and the end are one step under
// mu, the lock readers attach under). It reports whether it ended it.
func (j *journal[E]) abandon(err error) bool { return j.endIf(err, true, true) }

// endIf is end; unread: only if no reader is left (noReaderLocked).
func (j *journal[E]) endIf(err error, stopped, unread bool) bool {
	j.lockP() // no Send is halfway
	j.mu.Lock()
	if j.closed.Load() || unread && !j.noReaderLocked() {
		j.mu.Unlock()
		j.unlockP()
		return false
	}
	j.closed.Store(true)
	j.stopped, j.err = stopped, err
	j.wakeLocked()
	j.freeRoomLocked()
	var unwatch []func() bool
	for _, f := range j.cut { // ended by truncation: nothing to keep them for
		if f.unwatch != nil {
			unwatch = append(unwatch, f.unwatch)
			f.unwatch = nil
		}
		f.cut = false
	}
	clear(j.cut)
	j.cut = nil
	report := j.unseenLocked()
	if j.cancel != nil {
		// Under mu, as the end is: a reader that gets the end finds the
		// Context cancelled (cancelling runs no user code, see
		// cancelIfNoReaderLocked).
		j.cancel(ErrStreamClosed)
	}
	set := j.set
	j.set = nil
	j.mu.Unlock()
	j.unlockP()
	for _, u := range unwatch {
		u()
	}
	if set != nil {
		set.remove(j.id)
	}
	if report {
		j.dead(err)
	}
	return true
}

// stop ends the journal because its actor stopped (streamSet).
func (j *journal[E]) stop(err error) { j.end(err, true) }

// dead reports an end error nobody received. A pool's stream that no
// worker took has no owner: its refusal was the router's dead letter.
func (j *journal[E]) dead(err error) {
	if c := j.owner.Load(); c != nil {
		c.deadLetter(engine.ReasonFailed, j.label, err, nil)
	}
}

// unseenLocked reports (once) whether the journal ended with an error that
// no reader can receive any more: none is attached. The caller reports it
// as a dead letter. An actor's stop is not reported: it has its own.
func (j *journal[E]) unseenLocked() bool {
	if !j.closed.Load() || j.err == nil || j.seen || j.stopped || len(j.readers) > 0 {
		return false
	}
	j.seen = true
	return true
}

// failedLocked is the error of a journal that ended with one before
// holding any item (Open returns it), else nil. The caller holds mu.
func (j *journal[E]) failedLocked() error {
	if !j.closed.Load() || j.err == nil || j.tailNow() > 0 {
		return nil
	}
	return j.err
}

// endedBy reports whether err says no more than how the journal ended:
// the same error, or ErrStreamClosed (a Send that found it closed).
func (j *journal[E]) endedBy(err error) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return sameError(err, j.err) || errors.Is(err, ErrStreamClosed)
}

// sameError is a == b for errors of any type. == panics on two values of
// one type that holds an uncomparable value: an uncomparable type (a
// slice, say), or a comparable one (a struct, an array) with such a value
// in an interface field. Those are compared deeply.
func sameError(a, b error) (same bool) {
	if a == nil || b == nil || reflect.TypeOf(a) != reflect.TypeOf(b) {
		return a == b // different dynamic types: == compares no values
	}
	if !reflect.TypeOf(a).Comparable() {
		return reflect.DeepEqual(a, b)
	}
	defer func() {
		if recover() != nil { // an uncomparable value in a field
			same = reflect.DeepEqual(a, b)
		}
	}()
	return a == b
}

// context is Out.Context: made on first use, cancelled when the journal
// closes or its last reader leaves.
func (j *journal[E]) context() context.Context {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.ctx == nil {
		j.ctx, j.cancel = context.WithCancelCause(context.Background())
		switch {
		case j.closed.Load():
			j.cancel(ErrStreamClosed)
		case j.hadReader && j.noReaderLocked():
			j.cancel(ErrNoReader)
		}
	}
	return j.ctx
}

// cancelIfNoReaderLocked cancels the producer's Context (if made) with
// ErrNoReader once the open journal has no reader left. Under mu, the
// lock a reader attaches under: deciding that no reader is left and
// cancelling are one step for a reader that attaches, so one attached
// while the Context was live never sees it cancelled for want of readers
// while it is attached. (Cancelling runs no user code: a derived
// context's AfterFunc runs on a goroutine of its own.)
func (j *journal[E]) cancelIfNoReaderLocked() {
	if j.cancel != nil && j.noReaderLocked() {
		j.cancel(ErrNoReader)
	}
}

// noReaderLocked reports whether the open journal has no reader left for
// the last-reader rule: none attached and none ended by truncation but
// not yet closed (see Follow.truncateLocked).
func (j *journal[E]) noReaderLocked() bool {
	return len(j.readers) == 0 && len(j.cut) == 0 && !j.closed.Load()
}
