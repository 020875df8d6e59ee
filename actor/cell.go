package actor

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/troupe-go/troupe/internal/engine"

	"github.com/troupe-go/troupe/mailbox"
	"github.com/troupe-go/troupe/scheduler"
	"github.com/troupe-go/troupe/timer"
)

// idleSpins is how many times a turn yields, finding its mailbox empty,
// before it goes idle.
const idleSpins = 2

var nextID atomic.Uint64

// closedChan is the Done channel of an actor that stopped before anybody
// asked for one.
var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// cell is the untyped body of an actor; a Ref[S] is a typed cell. Its
// layout is kept small (192 bytes, mailbox and task included): rare
// fields live in ext, made on first use. What a send or a turn reads on
// every message comes first, together (it spans two cache lines at most:
// fan-out to many actors is bound by cache misses on them).
//
// Goroutines: none of its own. A turn runs on a scheduler worker (or, for
// an owner-driven Handler, on the owner's goroutine); the mailbox's
// scheduled flag guarantees at most one turn at a time.
type cell struct {
	mb     mailbox.Mailbox[envelope]
	status atomic.Uint32

	// Touched only on the actor's turn (idling: set at spawn).
	paused    bool // a restart waits for its backoff; the scheduled flag is kept
	kidsAsked bool // a stopping actor has asked its children to stop
	idling    bool // the actor has an idle timeout (set at spawn)

	owner *owner // owner-driven Handler only
	state any
	sys   *engine.System
	task  scheduler.Task

	self   any // the *Ref[S], for Self
	name   string
	id     uint64
	parent *cell
	sup    *supervisor // nil: Resume, no factory

	waitingOn atomic.Pointer[waitEdge] // what this actor's handler waits for in a sync call
	admit     *[]mailbox.Key           // the actor's whitelist (nil: all), set by Ctx.Only

	mu  sync.Mutex // guards ext
	ext *cellExt
}

// cellExt holds what most actors never use; guarded by the cell's mu.
type cellExt struct {
	children map[*cell]struct{}
	done     chan struct{}
	cancel   context.CancelFunc // the running handler's Context, if made
	timers   *timerSet
	backoff  *timer.Timer // a pending restart's timer
	idle     *idleTimer   // WithIdleTimeout's timer, until stopped
	atStop   []func()     // run by finalize; see atStop
	replies  *replySet    // deferred replies still owed; see deferred.go
	work     *workSet     // goroutines run by Go; see work.go
	streams  *streamSet   // streams it produces, still open; see stream_set.go
	cause    error        // why supervision stopped the actor
	// killed: a kill reached the actor (before or after finalize began):
	// the Stopping hook's Context is cancelled. Set by finalize and
	// requestStop; read by Ctx.Context.
	killed bool
	// refused: Spawn failed after the actor joined (see cell.refuse): it
	// runs no hook, its state being its spawner's again.
	refused bool
}

// extLocked returns the cell's rare fields, making them on first use. The
// caller holds c.mu.
func (c *cell) extLocked() *cellExt {
	if c.ext == nil {
		c.ext = new(cellExt)
	}
	return c.ext
}

func (c *cell) String() string {
	if c.name != "" {
		return c.name
	}
	return fmt.Sprintf("#%d", c.id)
}

// doneCh returns the channel closed when the actor has stopped, making it
// on first use so that idle actors do not pay for it.
func (c *cell) doneCh() chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ext == nil && c.status.Load() == statusFinalized {
		return closedChan
	}
	e := c.extLocked()
	if e.done == nil {
		e.done = make(chan struct{})
	}
	return e.done
}

// push enqueues a user message and schedules a turn if the mailbox was idle.
// ctx bounds the wait of a Block-policy mailbox (the default call timeout
// if it has no deadline).
func (c *cell) push(ctx context.Context, e envelope) error {
	sched, err := c.enqueue(ctx, e)
	if err != nil {
		return err
	}
	if sched {
		c.schedule()
	} else if c.owner == nil && c.mb.Backlog() > floodBacklog {
		c.flooded()
	}
	return nil
}

// enqueue queues a user message (waiting for room in a full Block-policy
// mailbox, bounded by ctx or the default call timeout) and reports
// whether the caller took the scheduled flag and must start a turn.
// push and pushInline share it.
func (c *cell) enqueue(ctx context.Context, e envelope) (sched bool, err error) {
	if c.status.Load() != statusRunning {
		return false, ErrStopped
	}
	sched, err = c.mb.TryPush(e)
	if err == mailbox.ErrFull && c.mb.Blocks() {
		sched, err = c.pushWait(ctx, e)
	}
	if err != nil {
		return false, pushErr(err)
	}
	return sched, nil
}

// flooded is the soft back-pressure of a sender far ahead of the actor:
// its message is queued; it then waits until the actor takes its next
// batch (or floodWait passes), instead of growing the mailbox, and the
// GC's work, without bound. Waiting, not yielding: with many senders a
// yield only hands the processor to the next sender (measured with 64
// senders on 2 cores: 95–160 ns/msg with runtime.Gosched here, and the
// backlog pinned at the threshold). Bounded, so that a Cast never waits
// long for an actor stuck in a handler. Not for an owner-driven actor (its
// owner runs when it chooses) nor for calls a whitelist holds (they are
// not in the backlog).
func (c *cell) flooded() {
	t := time.NewTimer(floodWait)
	select {
	case <-c.mb.Taken():
	case <-t.C:
	}
	t.Stop()
}

// floodWait bounds a flooded sender's wait.
const floodWait = time.Millisecond

// floodBacklog is the queue length past which a sender yields after each
// push (see push). It counts the calls queued since the actor last took
// its queue as a batch (see mailbox.Backlog), so a flooded mailbox holds
// up to about twice as many: ~640 KiB of 40-byte slots.
const floodBacklog = 8192

// pushWait waits for room in a full Block-policy mailbox. A handler that
// waits here (a Call or Ask made with its Context) waits for this actor's
// turn, as in a sync call: it lends its loop meanwhile (see lend), so a
// pool whose loops all wait for room still runs the actors that make it.
func (c *cell) pushWait(ctx context.Context, e envelope) (bool, error) {
	if caller := callerOf(ctx); caller.lend() {
		defer caller.reclaim()
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.sys.CallTimeout)
		defer cancel()
	}
	return c.mb.Push(ctx, e)
}

// pushSystem enqueues a system message; a closed mailbox ignores it.
func (c *cell) pushSystem(m sysMsg) {
	sched, err := c.mb.PushSystem(m.env())
	if err == nil && sched {
		c.schedule()
	}
}

// schedule runs a turn: on the pool, or by waking the owner of a Handler.
// The caller holds the scheduled flag. If the scheduler is closed, nobody
// will ever run this actor again: finalize it here so every pending call
// gets its outcome.
func (c *cell) schedule() {
	if c.owner != nil {
		select {
		case c.owner.kick <- struct{}{}:
		default:
		}
		if c.status.Load() != statusRunning {
			c.drive()
		}
		return
	}
	if err := c.sys.Scheduler.Schedule(&c.task); err != nil {
		c.finalize()
	}
}

// Run is one turn: it processes up to budget messages and reports whether
// more are pending (the scheduler then runs another turn).
func (c *cell) Run(budget int) bool {
	x := getCtx(c)
	more := c.turn(x, budget, nil)
	putCtx(x)
	return more
}

// turn processes up to budget messages. stop, if not nil, is polled
// between messages (owner-driven processing). It returns true if the actor
// still holds the scheduled flag with work left.
func (c *cell) turn(x *Ctx, budget int, stop func() bool) bool {
	if c.paused {
		// The backoff ended, or a stop cut it short: a kill does not
		// restart (the queue is failed), a graceful stop restarts and
		// drains.
		c.paused = false
		if c.status.Load() < statusKilling {
			c.restart(x)
		}
	}
	for {
		more, used, panicked := c.process(x, budget, stop)
		// Only a panic pauses, and process returns from one still holding
		// the flag: otherwise it may have released it (idle), and a new
		// turn may be setting paused now.
		if panicked && c.paused {
			c.pause() // the last thing this turn does with the actor
			return false
		}
		if !panicked {
			return more
		}
		// A handler panicked; process reported it. Go on with the rest of
		// the budget unless that panic stopped the actor.
		if c.status.Load() >= statusStopped || (stop != nil && stop()) {
			return false
		}
		if budget -= used; budget <= 0 {
			return true
		}
	}
}

// process is turn's loop. Its one deferred recover covers every message
// it runs (a defer per message cost a few percent of a oneway): a handler's panic
// ends process with panicked true, after the failure has been reported as
// invoke would, and turn calls it again. used counts the messages taken,
// the one that panicked included.
func (c *cell) process(x *Ctx, budget int, stop func() bool) (more bool, used int, panicked bool) {
	var cur envelope
	var system, running, active, failing bool
	defer func() {
		if active && c.idling {
			// Calls ran since the idle count last restarted, and this
			// turn ends before it finds the mailbox empty (its budget is
			// spent, a handler panicked, a Handler's owner stopped it):
			// they restart the count here, while the turn is still ours
			// (recovered below may hand it on).
			c.touchIdle(false)
		}
		if running {
			used++
			panicked = true
			c.recovered(x, cur, system, recover())
		}
		if failing {
			// The dead-letter hook told of a failed call ended the
			// goroutine (runtime.Goexit): the flag is still ours; a
			// fresh turn fails the rest and ends the stop.
			c.schedule()
		}
	}()
	spins := 0
	for ; used < budget; used++ {
		e, sys, ok := c.mb.Pop()
		if !ok {
			if c.status.Load() >= statusStopping {
				if c.status.Load() >= statusStopped || !c.settle() || c.mb.Idle() {
					return false, used, false // finalized, or idle until a child reports
				}
				continue
			}
			if x.replied && spins < idleSpins && c.owner == nil {
				// The last message was a sync call: before giving the
				// worker back, yield a few times. The caller woken by the
				// reply usually runs right here (it was readied on this P)
				// and sends its next call while we still hold the
				// scheduled flag: no scheduling, no thread wake-up. After
				// a oneway nobody waits on us: go idle at once, which is
				// what fan-out wants (measured: spinning after every
				// message made it 2× slower on the run-queue scheduler).
				spins++
				used--
				runtime.Gosched()
				continue
			}
			if active && c.idling {
				c.touchIdle(false)
				active = false
			}
			if c.mb.Touch() && c.owner == nil {
				c.sys.TrimLater(c) // see TrimIdle
			}
			if c.mb.Idle() {
				return false, used, false
			}
			continue
		}
		spins = 0
		if sys && active && c.idling {
			// The calls this turn ran are activity: the idle timer may
			// have fired during them, and its check must not find the
			// actor idle since the turn began.
			c.touchIdle(false)
			active = false
		}
		if !sys && (c.status.Load() >= statusKilling || c.kidsAsked && c.holds(e)) {
			failing = true
			e.fail(c, c.stopErr(), engine.ReasonStopped)
			failing = false
			continue
		}
		cur, system = e, sys
		active = active || !sys && !(c.idling && isIdleCall(*e.msg))
		x.begin(e)
		x.replied = false
		running = true
		e.run(x)
		running = false
		x.end()
		if c.paused || c.status.Load() >= statusStopped || (stop != nil && stop()) {
			// A restart's backoff keeps the scheduled flag: its timer
			// schedules the next turn.
			return false, used + 1, false
		}
	}
	return true, used, false
}

// recovered reports the failure of message e, whose handler panicked with
// v, or called runtime.Goexit if v is nil: to whoever waits for its
// outcome, and to supervision. It runs in a deferred function, as the
// handler's frames unwind.
//
// Reporting the failure calls the dead-letter hook, which may end the
// goroutine with runtime.Goexit (t.FailNow in a test's hook): the rest of
// the report and supervision then still run, and the turn is handed on as
// after a handler's Goexit.
func (c *cell) recovered(x *Ctx, e envelope, system bool, v any) {
	goexit := v == nil
	if goexit {
		v = errGoexit
	}
	pe := newPanicError(e.name(), v)
	normal := false
	defer func() {
		if goexit || !normal {
			// This goroutine is going away and the flag is still
			// ours: arm the restart's backoff, or hand the rest of
			// the mailbox to a fresh turn.
			if c.paused {
				c.pause()
			} else if c.status.Load() < statusStopped {
				c.schedule()
			}
		}
	}()
	runEach(3, func(i int) {
		switch i {
		case 0:
			e.fail(c, pe, engine.ReasonFailed)
		case 1:
			c.failed(pe, system)
		default:
			x.end()
		}
	})
	normal = true
}

// invoke runs one message outside a turn's loop (the lifecycle hooks),
// recovering a handler's panic (and runtime.Goexit) into a *PanicError as
// process does.
func (c *cell) invoke(x *Ctx, e envelope, system bool) {
	x.begin(e)
	x.replied = false
	normal := false
	defer func() {
		if !normal {
			c.recovered(x, e, system, recover())
			return
		}
		x.end()
	}()
	e.run(x)
	normal = true
}

// TrimIdle gives back the mailbox's queues if the actor ran no turn since
// the runtime's previous sweep (engine.Trimmer; see internal/engine's
// trim.go). It claims the mailbox to act as its consumer, and hands over a
// message that came meanwhile as a producer would. On the wheel's
// goroutine; never blocks.
func (c *cell) TrimIdle() (again bool) {
	if c.status.Load() != statusRunning {
		return false // stopping: the mailbox goes with the actor
	}
	if !c.mb.Claim() {
		return true // a turn runs, or a restart waits: busy
	}
	again = c.mb.TrimIdle()
	if !c.mb.Idle() {
		c.schedule()
	}
	return again
}
