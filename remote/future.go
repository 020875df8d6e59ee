package remote

import (
	"context"
	"sync"

	"github.com/troupe-go/troupe/actor"
)

// Future is the outcome of an Ask, delivered once. Safe for concurrent use
// by many waiters; the reply is decoded once, by the first to read it. A
// nil or zero Future (not made by Ask) is done, with ErrNilRef.
type Future[R any] struct {
	out  func(*pending) (R, error)
	p    *pending
	once sync.Once
	val  R
	err  error
}

// Done is closed when the outcome is known. It does not block.
func (f *Future[R]) Done() <-chan struct{} {
	if f == nil || f.p == nil {
		return closedChan
	}
	return f.p.done
}

// Await waits for the outcome or for ctx to end, whichever is first. If
// ctx ends first it returns ctx's error and the future stays pending (its
// own deadline still bounds it). Blocks.
func (f *Future[R]) Await(ctx context.Context) (R, error) {
	if f == nil || f.p == nil {
		var zero R
		return zero, ErrNilRef
	}
	if ctx == nil {
		var zero R
		return zero, actor.ErrNilContext
	}
	select {
	case <-f.p.done:
	case <-ctx.Done():
		var zero R
		return zero, ctxErr(ctx, "await")
	}
	f.once.Do(func() {
		if f.out == nil { // failed before it was sent
			f.err = f.p.err
			return
		}
		f.val, f.err = f.out(f.p)
	})
	return f.val, f.err
}
