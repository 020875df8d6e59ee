package actor

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/troupe-go/troupe/internal/engine"
	"github.com/troupe-go/troupe/timer"
)

// An actor's life is one state machine, driven by messages:
//
//	running ──Stop/Ctx.Stop──▶ stopping ──(queue settled, children gone)──▶ stopped ─▶ finalized
//	   │                          │
//	   └──────Kill/supervision────┴──▶ killing ──(queue failed, children gone)──▶ stopped ─▶ finalized
//
// status only moves forward. Who does what, and on which goroutine:
//
//   - requestStop runs on the goroutine that asks (Ref.Stop, Ref.Kill,
//     Ctx.Stop, a parent, the runtime): it moves status forward, cancels the
//     actor's timers and any restart backoff, cancels the running handler's
//     Context on a kill, and wakes the actor's turn with a stop message. If
//     the actor is idle it claims the turn and, with nothing to settle and
//     no Stopping hook to run, finalizes right there (no message, no pool
//     submission).
//   - Everything else runs on the actor's turn (a scheduler loop, or the
//     owner's goroutine for a Handler, whose stop runs on a scheduler
//     loop while its owner is away): a stopping actor runs what is
//     queued, a killing one fails it with ErrStopped (and skips a Started
//     hook not yet run); once its queue is
//     settled it asks its children to stop (gracefully one at a time,
//     newest first; all at once on a kill), fails what its whitelist
//     holds if it has children to wait for (one may be waiting in such a
//     call), and goes idle; each child, as it finalizes, leaves its parent
//     and wakes it; with the last child gone the turn finalizes.
//   - finalize runs the Stopping hook once, fails what is left in the
//     mailbox, frees the name, leaves the runtime's roots, closes Done and
//     then leaves its parent (so a child's Done closes before its parent's
//     Stopping hook runs and before its parent's Done). It runs on the actor's turn, or on the goroutine that
//     finds the scheduler closed (the actor can have no turn any more).
//
// No step waits for another actor inside a turn, so a child blocked in a
// sync call to its stopping parent gets its answer (ErrStopped on a kill)
// at once, not at its deadline.
const (
	statusRunning   uint32 = iota
	statusStopping         // graceful: finish the queue, then settle
	statusKilling          // immediate: fail the queue, then settle
	statusStopped          // finalize has begun
	statusFinalized        // finalize is done: Done is closed
)

// requestStop asks the actor to stop: gracefully, or now (kill). Safe to
// call many times, from any goroutine; a kill upgrades a graceful stop. It
// never waits.
func (c *cell) requestStop(kill bool) {
	target := statusStopping
	if kill {
		target = statusKilling
	}
	for {
		s := c.status.Load()
		if s >= target {
			if kill && s >= statusStopped {
				c.killHook()
			}
			return
		}
		if c.status.CompareAndSwap(s, target) {
			break
		}
	}
	resume, kids := c.disarm(kill)
	if resume {
		// The actor was paused for a restart backoff and we stopped its
		// timer: its turn is ours to start.
		c.pushSystem(stopMsg)
		c.schedule()
		return
	}
	if c.owner == nil && c.mb.Claim() {
		// The actor is idle and we hold its scheduled flag: this is its
		// turn, on our goroutine. With nothing to settle it finalizes
		// here, unless it has a Stopping hook or calls to fail: user code
		// that may take its time (the hook, or the dead-letter hook a
		// failed oneway is reported to) must run on the actor's own turn,
		// not on the asker's goroutine (a Stop bounded by its ctx, the
		// runtime's stop bounded by the call timeout, would wait for it
		// unbounded, and a dead-letter hook calling the runtime's Close
		// on the runtime's stop goroutine would wait for itself).
		// Deferred replies still owed are such calls: the finalize fails
		// each, a dead letter; so is a pool worker's replacement, made
		// by its atStop function with the pool's factory (onTurn).
		// The mailbox closes only if empty, as one step: a send that
		// passed its status check before the stop either is refused, or
		// is queued, and runs (see settle).
		if !kids && c.endsQuietly() && c.mb.CloseIfEmpty() {
			c.finalize()
			return
		}
		if kill {
			// As the stop message would: held calls out, to be failed,
			// and the kill passed on to children a graceful stop has
			// already asked (the actor may be idle waiting for them).
			c.onStop()
		}
		c.schedule()
		return
	}
	c.pushSystem(stopMsg)
	if c.owner != nil {
		c.drive() // the owner may be away: stop without it
	}
}

// killHook is a kill that finds finalize begun: the Stopping hook may be
// running (or about to), and its Context is cancelled as a running
// handler's is, so that a hook that honours it ends.
func (c *cell) killHook() {
	c.mu.Lock()
	if c.status.Load() == statusFinalized {
		c.mu.Unlock()
		return
	}
	e := c.extLocked()
	if e.killed {
		c.mu.Unlock()
		return
	}
	e.killed = true
	cancel := e.cancel
	e.cancel = nil
	c.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// disarm cancels the actor's timers (a tick already queued is dropped: its
// timer is no longer live), the running handler's Context on a kill, and a
// pending restart backoff. It reports whether it stopped the backoff's
// timer before it fired (the caller then owns the paused turn), and
// whether the actor has children. One acquisition of mu.
func (c *cell) disarm(kill bool) (resume, kids bool) {
	c.mu.Lock()
	e := c.ext
	if e == nil {
		c.mu.Unlock()
		return false, false
	}
	r := e.take(kill)
	kids = len(e.children) > 0
	c.mu.Unlock()
	return r.release(), kids
}

// releases is what a stop takes from cellExt under mu, to act on without
// it.
type releases struct {
	timers  *timerSet
	backoff *timer.Timer
	idle    *idleTimer
	cancel  context.CancelFunc
	work    context.CancelFunc // Go's functions' ctx, taken by a kill
	kids    []*cell
	atStop  []func()
	cause   error
}

// take moves the actor's timers out (and, on a kill, the running handler's
// cancel and that of its work off the turn: a killed actor fails whatever
// reaches it, so work going on would be for nobody). The caller holds the
// cell's mu.
func (e *cellExt) take(kill bool) releases {
	r := releases{timers: e.timers, backoff: e.backoff, idle: e.idle}
	e.timers, e.backoff, e.idle = nil, nil, nil
	if kill {
		r.cancel = e.cancel
		if e.work != nil {
			r.work = e.work.cancel
		}
	}
	return r
}

// release stops what take took, without the lock, and reports whether it
// stopped a pending backoff before it fired.
func (r *releases) release() (resume bool) {
	r.timers.stopAll()
	if r.idle != nil {
		r.idle.wt.Stop()
	}
	if r.cancel != nil {
		r.cancel()
	}
	if r.work != nil {
		r.work()
	}
	return r.backoff != nil && r.backoff.Stop()
}

// onStop runs on the turn of an actor asked to stop (the stop message):
// on a kill it lets held calls out, to be failed, and passes the kill on to
// children already asked to stop gracefully.
func (c *cell) onStop() {
	if c.status.Load() == statusKilling {
		c.mb.AdmitAll()
		if c.kidsAsked {
			c.askChildren()
		}
	}
}

// settle is called on the turn of a stopping actor whose queue is empty.
// The first time, it lets the calls its whitelist holds out, to be failed
// by the turn (see process: nothing admits them now, and a child may be
// waiting in one of them, which the stop would otherwise wait for until
// its deadline), and asks the children to stop. It reports whether the
// actor still waits, for a child or for a message that came in meanwhile;
// if it waits for nothing it finalizes.
func (c *cell) settle() (waiting bool) {
	if !c.kidsAsked {
		c.kidsAsked = true
		if c.filtering() {
			// c.admit (and a running Process's Admitting) stays:
			// process fails what they do not admit.
			c.mb.AdmitAll()
		}
		c.askChildren()
	}
	if c.hasChildren() {
		return true
	}
	// The queue was found empty, but a send that passed its status check
	// before the stop (or a pool's token, a work's result, which a
	// graceful stop still takes) may have landed since: close the mailbox
	// only if it is still empty, in one step, so that what was accepted
	// runs rather than fails with the close. Otherwise the turn goes on.
	if !c.mb.CloseIfEmpty() {
		return true
	}
	c.finalize()
	return false
}

// askChildren asks the newest child to stop gracefully or, on a kill,
// every child to stop now. On the actor's turn.
func (c *cell) askChildren() {
	kids := c.childList()
	if len(kids) == 0 {
		return
	}
	if c.status.Load() >= statusKilling {
		for _, k := range kids {
			k.requestStop(true)
		}
		return
	}
	kids[0].requestStop(false) // newest first, one at a time
}

// finalize stops the actor for good; see the state machine above. It runs
// once, holding the actor's turn.
func (c *cell) finalize() {
	killed := false
	for {
		s := c.status.Load()
		if s >= statusStopped {
			return
		}
		if c.status.CompareAndSwap(s, statusStopped) {
			killed = s == statusKilling
			break
		}
	}
	// One look at the rare fields: from here on nothing registers (atStop
	// and addChild refuse a stopped actor) and nothing arms a timer.
	var r releases
	c.mu.Lock()
	if killed {
		c.extLocked().killed = true // the Stopping hook's Context is cancelled
	}
	if e := c.ext; e != nil {
		r = e.take(true)
		for k := range e.children {
			r.kids = append(r.kids, k)
		}
		r.atStop, e.atStop = e.atStop, nil
		r.cause = e.cause
	}
	c.mu.Unlock()
	r.release()
	for _, k := range r.kids {
		// Only when the scheduler closed under us: nobody can run our
		// turn to wait for them, and each stops on this goroutine.
		k.requestStop(true)
	}
	// The rest runs even if the Stopping hook calls runtime.Goexit (which
	// invoke cannot recover): the actor still ends, its calls get their
	// outcome and Done closes.
	defer c.finish(r)
	c.runStopping()
}

// finish is finalize's last part, after the Stopping hook: it fails what
// is left, runs the atStop functions, then ends the actor (see end). Both
// report to the dead-letter hook, which may end the goroutine with
// runtime.Goexit (t.FailNow in a test's hook): what is left of them then
// runs from deferred calls as the goroutine unwinds, and the actor still
// ends.
func (c *cell) finish(r releases) {
	defer c.end()
	err := stoppedBy(r.cause)
	es := c.mb.Close()
	runEach(len(es)+len(r.atStop), func(i int) {
		if i < len(es) {
			es[i].fail(c, err, engine.ReasonStopped)
			return
		}
		r.atStop[i-len(es)]()
	})
}

// end frees the name, closes Done, then leaves the parent (or left the
// runtime's roots before Done).
func (c *cell) end() {
	if c.name != "" && c.sys.Names != nil {
		c.sys.Names.Unregister(c.name, c.self.(engine.Stoppable))
	}
	if c.parent == nil {
		c.sys.RemoveRoot(c)
	}
	c.mu.Lock()
	refused := false
	if e := c.ext; e != nil {
		if e.done == nil {
			e.done = closedChan
		} else {
			close(e.done)
		}
		refused = e.refused // counted as work by refuse, under c.mu
	}
	c.status.Store(statusFinalized)
	c.mu.Unlock()
	if refused {
		// Last: nothing of this actor runs on this turn after it.
		defer c.sys.WorkEnded(c)
	}
	// The parent hears of it only now: once the child has left, the parent
	// may finalize (its Stopping hook runs, its Done closes), even on this
	// goroutine if its scheduler is closed, and children stop before their
	// parent, Done included.
	if p := c.parent; p != nil {
		p.removeChild(c)
		if p.status.Load() >= statusStopping {
			p.pushSystem(childGone)
		}
	}
}

// runEach calls f(0), …, f(n-1) in order, all of them even if one ends the
// goroutine with runtime.Goexit (or panics): the rest are then called from
// a deferred call as it unwinds, and the goroutine goes on ending after
// them. It allocates nothing: f does not escape, and the offset is a
// parameter of runFrom, not a variable a closure shares.
func runEach(n int, f func(int)) { runFrom(0, n, f) }

// runFrom is runEach from f(i) on.
func runFrom(i, n int, f func(int)) {
	defer func() {
		if i < n {
			runFrom(i, n, f)
		}
	}()
	for i < n {
		i++
		f(i - 1)
	}
}

// atStop registers f to run once when the actor finalizes, on the
// finalizing goroutine, after its queue has been failed and before Done
// closes: what the actor owns beyond its mailbox (streams it produces,
// replies it deferred, work it runs off its turn) ends there. It reports
// false, without registering, once finalize has begun; a stopping actor
// still runs handlers (a graceful stop runs what is queued), and what they
// take ends here too. (finalize moves status to stopped before it takes
// the list under mu, so a registration that saw an earlier status is run.)
// f must not block and must not wait for the actor. Safe from any
// goroutine.
func (c *cell) atStop(f func()) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.status.Load() >= statusStopped {
		return false
	}
	e := c.extLocked()
	e.atStop = append(e.atStop, f)
	return true
}

// stopErr is what calls failed by the stop get: ErrStopped, wrapping the
// cause if supervision stopped the actor.
func (c *cell) stopErr() error {
	c.mu.Lock()
	var cause error
	if c.ext != nil {
		cause = c.ext.cause
	}
	c.mu.Unlock()
	return stoppedBy(cause)
}

// stoppedBy is ErrStopped, wrapping the cause of a supervision stop if any.
func stoppedBy(cause error) error {
	if cause == nil {
		return ErrStopped
	}
	return fmt.Errorf("%w: %w", ErrStopped, cause)
}

// kill stops the actor now because of cause (supervision), from its turn.
func (c *cell) kill(cause error) {
	c.mu.Lock()
	c.extLocked().cause = cause
	c.mu.Unlock()
	c.requestStop(true)
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
	if c.ext != nil {
		delete(c.ext.children, k)
	}
	c.mu.Unlock()
}

func (c *cell) hasChildren() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ext != nil && len(c.ext.children) > 0
}

// childList returns the children, newest first.
func (c *cell) childList() []*cell {
	kids := c.children()
	slices.SortFunc(kids, func(a, b *cell) int { return cmp.Compare(b.id, a.id) })
	return kids
}

// children returns the children, in no order (a copy: taken under c.mu).
func (c *cell) children() []*cell {
	c.mu.Lock()
	defer c.mu.Unlock()
	var kids []*cell
	if c.ext != nil {
		for k := range c.ext.children {
			kids = append(kids, k)
		}
	}
	return kids
}

// The cell as the engine sees it (engine.Cell).

// RequestStop asks the actor to stop; see requestStop.
func (c *cell) RequestStop(kill bool) { c.requestStop(kill) }

// Done is closed once the actor has stopped.
func (c *cell) Done() <-chan struct{} { return c.doneCh() }

// ID orders actors by age.
func (c *cell) ID() uint64 { return c.id }

// Abort is called by the scheduler when it closed while this actor still
// had work: nobody will run it again, so it is finalized here.
func (c *cell) Abort() { c.finalize() }

// start queues the Started hook, if the state has one, ahead of any call.
func (c *cell) start() {
	if _, ok := c.state.(Starter); ok {
		c.pushSystem(startedMsg)
	}
}

// runStopping runs the Stopping hook once, through invoke so that a panic
// in it is recovered and reported like any other.
func (c *cell) runStopping() {
	if !c.hasStopping() {
		return
	}
	x := getCtx(c)
	c.invoke(x, stoppingMsg.env(), true)
	putCtx(x)
}

// endsQuietly reports whether finalizing the actor now would run no user
// code, with its mailbox empty: no Stopping hook, no deferred reply owed
// (its dead letter), no atStop function that would (a pool worker's
// replacement: onTurn). Only then may a stop finalize it on a goroutine
// other than its own turn's (requestStop, unhold).
func (c *cell) endsQuietly() bool { return !c.onTurn() && !c.hasStopping() && !c.owesReplies() }

// onTurn reports whether the actor must finalize on its own turn: see
// supervisor.onTurn.
func (c *cell) onTurn() bool {
	return c.sup != nil && c.sup.onTurn != nil && c.sup.onTurn()
}

// hasStopping reports whether the actor has a Stopping hook to run: its
// state is a Stopper and its Spawn was not refused (see refuse).
func (c *cell) hasStopping() bool {
	if _, ok := c.state.(Stopper); !ok {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ext == nil || !c.ext.refused
}

// pause holds the actor's turn for a restart backoff: it keeps the
// scheduled flag, and the backoff's timer (or a stop, which cancels it)
// schedules the next turn. Called at the very end of a turn, after which
// the turn touches nothing of the actor.
func (c *cell) pause() {
	d := c.sup.backoff
	c.mu.Lock()
	if c.status.Load() != statusRunning {
		// A stop arrived during the turn: do not wait out the backoff.
		c.mu.Unlock()
		c.schedule()
		return
	}
	bt, err := c.sys.Wheel.AfterFunc(d, c.schedule)
	if err != nil {
		c.mu.Unlock()
		c.schedule() // the wheel is stopped: the runtime is closing
		return
	}
	c.extLocked().backoff = bt
	c.mu.Unlock()
}
