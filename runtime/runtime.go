package runtime

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/scheduler"
	"github.com/troupe-go/troupe/timer"
)

// Runtime hosts actors. Create it with New; pass it to actor.Spawn. Safe for
// concurrent use.
type Runtime struct {
	sys   *actor.System
	sched *scheduler.Scheduler
	wheel *timer.Wheel
	names *registry
	sink  sink

	once sync.Once // the shutdown sequence
	err  error     // its result
	done chan struct{}
}

var _ actor.Spawner = (*Runtime)(nil)

// New validates opts and returns a runtime. It starts the worker pool's two
// housekeeping goroutines; workers and the timer driver start on demand.
func New(opts ...Option) (*Runtime, error) {
	c := defaults()
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: nil option", ErrInvalidOption)
		}
		o.apply(&c)
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	wheel, err := timer.New(timer.WithTick(c.tick))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidOption, err)
	}
	rt := &Runtime{wheel: wheel, names: newRegistry(), done: make(chan struct{})}
	rt.sink = sink{hook: c.hook, logger: c.logger, rate: int64(c.logRate), start: time.Now()}
	sched, err := scheduler.New(scheduler.WithThroughput(c.throughput), scheduler.WithPoolSize(c.poolSize))
	if err != nil {
		wheel.Stop()
		return nil, fmt.Errorf("%w: %w", ErrInvalidOption, err)
	}
	rt.sched = sched
	rt.sys, err = actor.NewSystem(actor.Config{
		Scheduler:   sched,
		Wheel:       wheel,
		CallTimeout: c.callTimeout,
		Names:       rt.names,
		DeadLetter:  rt.sink.deliver,
	})
	if err != nil {
		sched.Close()
		wheel.Stop()
		return nil, fmt.Errorf("%w: %w", ErrInvalidOption, err)
	}
	return rt, nil
}

// System returns the actor engine; it makes a *Runtime an actor.Spawner.
// A nil *Runtime returns nil (and Spawn then fails with actor.ErrNilRuntime).
func (rt *Runtime) System() *actor.System {
	if rt == nil {
		return nil
	}
	return rt.sys
}

// Wheel is the runtime's timer wheel, for code that wants its timers there.
func (rt *Runtime) Wheel() *timer.Wheel { return rt.wheel }

// Shutdown stops the runtime gracefully: it refuses new actors, stops every
// actor (each finishes its queue; children before parents, newest first),
// then stops the timer wheel and the pool, all bounded by ctx. If ctx ends
// first, the remaining actors are stopped immediately and the error (a
// *actor.StopError naming them, matching ctx's error) is returned. It
// returns when every goroutine of the runtime has exited, or ctx ended.
// Idempotent: later calls wait for the first and return its result.
func (rt *Runtime) Shutdown(ctx context.Context) error {
	if ctx == nil {
		return actor.ErrNilContext
	}
	rt.once.Do(func() {
		defer close(rt.done)
		err := rt.sys.Close(ctx)
		err = errors.Join(err, rt.sched.Shutdown(ctx))
		rt.wheel.Stop()
		rt.err = err
	})
	select {
	case <-rt.done:
		return rt.err
	default:
	}
	select { // another goroutine runs the sequence: wait for it, bounded
	case <-rt.done:
		return rt.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops the runtime immediately: every actor is stopped at once
// (queued calls fail with actor.ErrStopped), and Close waits for running
// handlers to return and every goroutine of the runtime to exit. Idempotent.
func (rt *Runtime) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rt.once.Do(func() {
		defer close(rt.done)
		_ = rt.sys.Close(ctx)
		rt.sched.Close()
		rt.wheel.Stop()
	})
	<-rt.done
	return nil
}

// Lookup returns the running actor named name, typed. Errors:
// actor.ErrInvalidName, ErrNotFound (no such actor, or it is stopping or
// stopped), ErrWrongType. O(1).
func Lookup[S any](rt *Runtime, name string) (*actor.Ref[S], error) {
	if rt == nil {
		return nil, actor.ErrNilRuntime
	}
	if err := actor.ValidName(name); err != nil {
		return nil, err
	}
	a, ok := rt.names.lookup(name)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	r, ok := a.(*actor.Ref[S])
	if !ok {
		return nil, fmt.Errorf("%w: %q is %T", ErrWrongType, name, a)
	}
	return r, nil
}
