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
// ends first it returns ctx's error and the future stays pending (its own
// deadline still bounds it). A nil or zero Future (not made by an Ask)
// returns ErrNilRef at once. Blocks.
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
// ErrNilRef), or ctx's error if ctx ended first. Blocks. Cost:
// O(len(fs)), one allocation for the replies.
func AwaitAll[R any](ctx context.Context, fs ...*Future[R]) ([]R, error) {
	if ctx == nil {
		return nil, ErrNilContext
	}
	vals := make([]R, len(fs))
	var errs []error
	for i, f := range fs {
		if f.invalid() {
			errs = append(errs, fmt.Errorf("future %d: %w", i, ErrNilRef))
			continue
		}
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, ctxErr(ctx, "await all")
		}
		vals[i] = f.val
		if f.err != nil {
			errs = append(errs, f.err)
		}
	}
	return vals, errors.Join(errs...)
}
