package actor

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/troupe-go/troupe/mailbox"
	"github.com/troupe-go/troupe/scheduler"
)

// idleSpins is how many times a turn yields, finding its mailbox empty,
// before it goes idle.
const idleSpins = 2

const (
	statusRunning uint32 = iota
	statusStopping
	statusStopped   // finalize has begun
	statusFinalized // finalize is done: Done is closed
)

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

	// Touched only on the actor's turn (blocking: set at spawn).
	draining bool // a graceful stop is under way: finish the queue, then finalize
	blocking bool // the mailbox policy is Block
	paused   bool // a restart waits for its backoff; the scheduled flag is kept
	hooked   bool // the stopping hook has run

	owner *owner // owner-driven Handler only
	state any
	sys   *System
	task  scheduler.Task

	self   any // the *Ref[S], for Self
	name   string
	id     uint64
	parent *cell
	sup    *supervisor // nil: Resume, no factory

	waitingOn atomic.Pointer[cell] // the actor this one's handler waits for in a sync call
	admit     *[]mailbox.Key       // the actor's whitelist (nil: all), set by Ctx.Only

	mu  sync.Mutex // guards ext
	ext *cellExt
}

// cellExt holds what most actors never use; guarded by the cell's mu.
type cellExt struct {
	children map[*cell]struct{}
	done     chan struct{}
	cancel   context.CancelFunc // the running handler's Context, if made
	timers   *timerSet
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
	if c.status.Load() != statusRunning {
		return ErrStopped
	}
	sched, err := c.mb.TryPush(e)
	if err == mailbox.ErrFull && c.blocking {
		sched, err = c.pushWait(ctx, e)
	}
	if err != nil {
		return pushErr(err)
	}
	if sched {
		c.schedule()
	} else if c.owner == nil && c.mb.Backlog() > floodBacklog {
		// Soft back-pressure: a sender far ahead of the actor yields its
		// processor so the actor can catch up, instead of growing the
		// mailbox (and the GC's work) without bound. Not for an
		// owner-driven actor (its owner runs when it chooses) nor for calls
		// a whitelist holds (they are not in the backlog).
		runtime.Gosched()
	}
	return nil
}

// floodBacklog is the queue length past which a sender yields after each
// push (see push). It counts the calls queued since the actor last took
// its queue as a batch (see mailbox.Backlog), so a flooded mailbox holds
// up to about twice as many: ~512 KiB of 32-byte entries.
const floodBacklog = 8192

func (c *cell) pushWait(ctx context.Context, e envelope) (bool, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.sys.cfg.CallTimeout)
		defer cancel()
	}
	return c.mb.Push(ctx, e)
}

// pushSystem enqueues a system message; a closed mailbox ignores it.
func (c *cell) pushSystem(m message) {
	sched, err := c.mb.PushSystem(envelope{msg: m})
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
	if err := c.sys.cfg.Scheduler.Schedule(&c.task); err != nil {
		c.finalize(nil)
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
		c.restart(x)
	}
	for {
		more, used, panicked := c.process(x, budget, stop)
		if !panicked {
			return more
		}
		// A handler panicked; process reported it. Go on with the rest of
		// the budget unless that panic stopped or paused the actor.
		if c.paused || c.status.Load() >= statusStopped || (stop != nil && stop()) {
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
	var system, running bool
	defer func() {
		if running {
			used++
			panicked = true
			c.recovered(x, cur, system, recover())
		}
	}()
	spins := 0
	for ; used < budget; used++ {
		e, sys, ok := c.mb.Pop()
		if !ok {
			if c.draining {
				c.finalize(nil)
				return false, used, false
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
			if c.mb.Idle() {
				return false, used, false
			}
			continue
		}
		spins = 0
		cur, system = e, sys
		x.begin(e)
		x.replied = false
		running = true
		e.msg.run(x, e.req)
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
func (c *cell) recovered(x *Ctx, e envelope, system bool, v any) {
	goexit := v == nil
	if goexit {
		v = errGoexit
	}
	pe := newPanicError(e.msg.name(), v)
	e.msg.panicked(x, e.req, pe)
	c.failed(pe, system)
	x.end()
	if goexit && !c.paused && c.status.Load() < statusStopped {
		// This goroutine is going away; the flag is still ours, so hand
		// the rest of the mailbox to a fresh turn.
		c.schedule()
	}
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
	e.msg.run(x, e.req)
	normal = true
}

// requestStop asks the actor to stop: gracefully (finish what is queued)
// or now (fail what is queued with ErrStopped). New calls are refused from
// this moment on. Safe to call many times, from anywhere.
func (c *cell) requestStop(now bool) {
	first := c.status.CompareAndSwap(statusRunning, statusStopping)
	if !first && !now {
		return
	}
	if now {
		c.mu.Lock()
		if c.ext != nil && c.ext.cancel != nil {
			c.ext.cancel()
		}
		c.mu.Unlock()
	}
	if c.owner == nil && c.mb.Claim() {
		// The actor is idle and we now hold its scheduled flag: this is its
		// turn, on our goroutine. With nothing queued, stop right here (no
		// message, no pool submission); else drain on a pool turn.
		if now || c.mb.Len() == 0 {
			c.finalize(nil)
			return
		}
		c.draining = true
		c.schedule()
		return
	}
	if now {
		c.pushSystem(stopNow)
	} else {
		c.pushSystem(stopGraceful)
	}
	if c.owner != nil {
		c.drive() // the owner may be away: stop without it
	}
}

// finalize stops the actor for good, on its turn (or where no turn can run
// any more): children first, newest first; the stopping hook; every message
// still queued or held fails with ErrStopped (wrapping cause, if any);
// timers cancelled; name freed; Done closed. It runs once.
func (c *cell) finalize(cause error) {
	for {
		s := c.status.Load()
		if s >= statusStopped {
			return
		}
		if c.status.CompareAndSwap(s, statusStopped) {
			break
		}
	}
	var kids []*cell
	var ts *timerSet
	c.mu.Lock()
	if e := c.ext; e != nil {
		for k := range e.children {
			kids = append(kids, k)
		}
		ts, e.timers = e.timers, nil
	}
	c.mu.Unlock()
	ts.stopAll()
	if len(kids) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), c.sys.cfg.CallTimeout)
		_ = stopAll(ctx, kids)
		cancel()
	}
	c.runStopping()
	err := ErrStopped
	if cause != nil {
		err = fmt.Errorf("%w: %w", ErrStopped, cause)
	}
	for _, e := range c.mb.Close() {
		e.fail(c, err, ReasonStopped)
	}
	if c.name != "" && c.sys.cfg.Names != nil {
		c.sys.cfg.Names.Unregister(c.name, c.self.(Actor))
	}
	if c.parent != nil {
		c.parent.removeChild(c)
	} else {
		c.sys.removeRoot(c)
	}
	c.mu.Lock()
	if e := c.ext; e != nil {
		if e.done == nil {
			e.done = closedChan
		} else {
			close(e.done)
		}
	}
	c.status.Store(statusFinalized)
	c.mu.Unlock()
}

func (c *cell) addChild(k *cell) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.status.Load() != statusRunning {
		return ErrStopped
	}
	e := c.extLocked()
	if e.children == nil {
		e.children = make(map[*cell]struct{})
	}
	e.children[k] = struct{}{}
	return nil
}

func (c *cell) removeChild(k *cell) {
	c.mu.Lock()
	delete(c.extLocked().children, k)
	c.mu.Unlock()
}

// Abort is called by the scheduler when it closed while this actor still
// had work: nobody will run it again, so it is finalized here.
func (c *cell) Abort() { c.finalize(nil) }
