package runtime

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"

	"github.com/troupe-go/troupe/actor"
)

// reportBacklog bounds the errors a reporter holds while the error hook
// is busy: past it they are written out (see reporter.put).
const reportBacklog = 1024

// reporter reports, on a goroutine of its own, the errors raised on a
// goroutine the runtime cannot let user code hold: the timer wheel's,
// which every timer of the runtime (call deadlines included) and the stop
// wait for, and a scheduler loop's, which the stop's drain waits for. The error hook is user code and may
// block; here it blocks only this goroutine, started when there is an
// error to report and gone once there is none. Its stop path is close,
// wait, called by the stop sequence once the wheel has stopped and the
// scheduler has drained, then abandon if the stop gives up on it. Safe
// for concurrent use; its zero value needs report and write set.
type reporter struct {
	report func(error) // the sink's report: may run the error hook
	write  func(error) // writes to standard error: runs no user code

	mu        sync.Mutex
	q         []error       // waiting to be reported
	running   bool          // a goroutine is reporting q
	idle      chan struct{} // closed when that goroutine has nothing left
	closed    bool          // the stop has begun waiting: put writes
	abandoned bool          // the stop gave up waiting: the rest is written
}

// put queues err to be reported on the reporter's goroutine, starting it
// if none runs. It never runs user code and never blocks: once the stop
// has begun waiting, or with reportBacklog errors already queued (the
// hook is stuck), err is written to standard error instead, never
// dropped.
func (r *reporter) put(err error) {
	r.mu.Lock()
	if r.closed || len(r.q) >= reportBacklog {
		r.mu.Unlock()
		r.write(fmt.Errorf("error hook busy: %w", err))
		return
	}
	r.q = append(r.q, err)
	r.startLocked()
	r.mu.Unlock()
}

// startLocked starts the reporting goroutine if errors wait and none runs.
func (r *reporter) startLocked() {
	if r.running || len(r.q) == 0 {
		return
	}
	r.running = true
	r.idle = make(chan struct{})
	go r.run(r.idle)
}

// run reports the queued errors one by one and exits, closing idle, when
// none is left. A hook that ends the goroutine (runtime.Goexit, which
// report cannot recover) has the rest reported on a new one.
func (r *reporter) run(idle chan struct{}) {
	clean := false
	defer func() {
		if !clean {
			r.mu.Lock()
			r.running = false
			close(idle)
			r.startLocked()
			r.mu.Unlock()
		}
	}()
	for {
		r.mu.Lock()
		if len(r.q) == 0 {
			r.running = false
			close(idle)
			r.mu.Unlock()
			clean = true
			return
		}
		err := r.q[0]
		r.q[0] = nil
		r.q = r.q[1:]
		abandoned := r.abandoned
		r.mu.Unlock()
		if abandoned {
			r.write(err)
		} else {
			r.report(err)
		}
	}
}

// wait makes later puts write their errors out, and waits until every
// queued error has been reported (true), or ctx ends (false).
func (r *reporter) wait(ctx context.Context) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	for r.running {
		idle := r.idle
		r.mu.Unlock()
		select {
		case <-idle:
		case <-ctx.Done():
			r.mu.Lock()
			return false
		}
		r.mu.Lock()
	}
	return true
}

// abandon, once the stop has given up waiting, has the errors still
// queued written out as the hook in progress returns, rather than given
// to the hook; the reporter's goroutine then exits.
func (r *reporter) abandon() {
	r.mu.Lock()
	r.abandoned = true
	r.mu.Unlock()
}

// loopPanic reports a panic that escaped a scheduler loop (a bug: turns
// recover their handlers' panics), with the loop's stack, off the loop.
func (r *reporter) loopPanic(v any) {
	r.put(&actor.PanicError{Method: "scheduler loop", Value: v, Stack: debug.Stack()})
}
