package actor

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
)

// Future is the reply of an Ask, delivered once. Await it, select on Done,
// or wait for many with [AwaitAll]. Safe for concurrent use by many waiters.
type Future[R any] struct {
	state atomic.Uint32
	done  chan struct{}
	val   R
	err   error
	call  awaited // the call behind it, if it went to one actor; set before the Future is returned
}

// awaited is the call behind a Future, for Await's cycle check: the
// actor it went to, and how to fail it.
type awaited interface {
	wait() *waitEdge
	abandon(err error)
}

// enterAwait records that the handler of caller (nil if ctx is not a
// handler's) now waits for f's call, as a sync call does (see enterCall):
// if that closes a cycle the call is abandoned with ErrCallCycle, which
// becomes f's outcome. It reports whether it recorded a wait, to clear.
func (f *Future[R]) enterAwait(caller *cell) bool {
	if caller == nil || f.call == nil {
		return false
	}
	if err := enterCall(caller, f.call.wait(), "await"); err != nil {
		f.call.abandon(err)
		return false
	}
	return true
}

func failedFuture[R any](err error) *Future[R] {
	f := &Future[R]{done: closedChan, err: err}
	f.state.Store(callDone)
	return f
}

// Done is closed when the outcome is known (at once for a nil or zero
// Future, one not made by an Ask).
func (f *Future[R]) Done() <-chan struct{} {
	if f.invalid() {
		return closedChan
	}
	return f.done
}

// invalid reports whether f is nil or zero: not made by an Ask.
func (f *Future[R]) invalid() bool { return f == nil || f.done == nil }

// Await waits for the outcome or for ctx to end, whichever is first. If ctx
// ends first it returns ErrTimeout if ctx's deadline passed, else an
// error wrapping ctx's cause (context.Canceled unless it was cancelled
// with another cause: guarantee 3), and the future stays pending (its own
// deadline still bounds it). A nil or zero Future (not made by an Ask)
// returns ErrNilRef at once. From a handler, pass c.Context(): Await then
// waits as a sync call does (guarantee 7): if the call went to this
// actor, or to one that waits for it, the call is abandoned and the
// future's outcome is ErrCallCycle, at once (a call through a pool is
// checked if it went to a member, not a Balancing pool's shared queue);
// the handler's Context (and a deferred Reply's) then ends, as when a
// caller gives up.
// Blocks.
func (f *Future[R]) Await(ctx context.Context) (R, error) {
	if f.invalid() {
		var zero R
		return zero, ErrNilRef
	}
	select {
	case <-f.done:
		return f.val, f.err
	default:
	}
	if ctx == nil {
		var zero R
		return zero, ErrNilContext
	}
	caller := callerOf(ctx) // a handler's ctx: wait as a sync call does
	defer caller.endWait(f.enterAwait(caller), caller.lend())
	select {
	case <-f.done:
		return f.val, f.err
	case <-ctx.Done():
		var zero R
		return zero, ctxErr(ctx, "await")
	}
}

// AwaitAll waits until every future is done or ctx ends. It returns the
// replies in order (a failed future's is the zero value) and the futures'
// errors joined (nil if all succeeded; a nil or zero Future's is
// ErrNilRef), or, if ctx ended first, ctx's end as Await reports it. Blocks. Cost:
// O(len(fs)), one allocation for the replies. From a handler it waits
// for each future as Await does, cycle check included.
func AwaitAll[R any](ctx context.Context, fs ...*Future[R]) ([]R, error) {
	if ctx == nil {
		return nil, ErrNilContext
	}
	vals := make([]R, len(fs))
	var errs []error
	caller := callerOf(ctx)
	if caller.lend() {
		defer caller.reclaim()
	}
	for i, f := range fs {
		if f.invalid() {
			errs = append(errs, fmt.Errorf("future %d: %w", i, ErrNilRef))
			continue
		}
		if !awaitOne(ctx, caller, f) {
			return nil, ctxErr(ctx, "await all")
		}
		vals[i] = f.val
		if f.err != nil {
			errs = append(errs, f.err)
		}
	}
	return vals, errors.Join(errs...)
}

// awaitOne waits for f or the end of ctx (false), with the wait-for mark
// of caller (nil if ctx is not a handler's) set meanwhile, as Await does.
func awaitOne[R any](ctx context.Context, caller *cell, f *Future[R]) bool {
	select {
	case <-f.done:
		return true
	default:
	}
	defer caller.endWait(f.enterAwait(caller), false)
	select {
	case <-f.done:
		return true
	case <-ctx.Done():
		return false
	}
}
