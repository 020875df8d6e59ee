package actor

import (
	"context"
	"errors"
	"sync/atomic"
)

// Future is the reply of an Ask, delivered once. Await it, select on Done,
// or wait for many with [All]. Safe for concurrent use by many waiters.
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

// Done is closed when the outcome is known.
func (f *Future[R]) Done() <-chan struct{} { return f.done }

// Await waits for the outcome or for ctx to end, whichever is first. If ctx
// ends first it returns ctx's error and the future stays pending (its own
// deadline still bounds it). Blocks.
func (f *Future[R]) Await(ctx context.Context) (R, error) {
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

// Err is the outcome's error once Done is closed (nil before). It does not
// block.
func (f *Future[R]) Err() error {
	select {
	case <-f.done:
		return f.err
	default:
		return nil
	}
}

// Waiter is any future, whatever its reply type.
type Waiter interface {
	Done() <-chan struct{}
	Err() error
}

// All waits until every future is done or ctx ends. It returns the futures'
// errors joined (nil if all succeeded), or ctx's error if ctx ended first.
// Read each reply with Await afterwards; it no longer blocks. Cost: O(n).
func All(ctx context.Context, fs ...Waiter) error {
	if ctx == nil {
		return ErrNilContext
	}
	var errs []error
	for _, f := range fs {
		select {
		case <-f.Done():
		case <-ctx.Done():
			return ctxErr(ctx, "all")
		}
		if err := f.Err(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
