package actor

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/troupe-go/troupe/internal/engine"
	"github.com/troupe-go/troupe/mailbox"
	"github.com/troupe-go/troupe/timer"
)

// gather is a call through a First router in flight: one request asked of
// several workers (all at once, or one more every stagger), settled by the
// first success, or by the last failure with every error joined, or by
// the deadline. Settling cancels the rest: calls still queued never run
// (they are no longer live), running handlers see their Context cancelled
// (the gather's ctx), and late replies are dropped. It needs no goroutine:
// sub-calls report to it from the workers' turns, the stagger and the
// default deadline fire on the runtime's timer wheel.
type gather[S, Q, R any] struct {
	Future[R]
	r       *router
	m       *Method[S, Q, R]
	req     Q
	caller  context.Context // the caller's
	ctx     context.Context // the sub-calls': the caller's, cancelled when the gather settles
	cancel  context.CancelFunc
	tm      timer.Timer // the default deadline, if ctx has none
	armed   bool        // tm was started
	unwatch atomic.Pointer[func() bool]
	chopFn  func()

	mu      sync.Mutex // guards the fields below
	targets []*member  // in the order they are asked
	sent    int        // targets asked so far
	failed  int        // sub-calls failed (or not sent)
	errs    []error
	chop    timer.Handle // the next stagger
}

// startGather picks the workers to ask (round robin order; restarting
// workers only if no other), arms the deadline, and sends the first
// sub-call, or all of them. watch: settle the gather when ctx ends (an
// Ask; a Call watches ctx itself). A refusal is also a dead letter, as
// the router's are for every strategy.
func startGather[S, Q, R any](ctx context.Context, r *router, m *Method[S, Q, R], req Q, watch bool) (_ *gather[S, Q, R], err error) {
	defer func() {
		if err != nil {
			r.refused(m.label, err, nil)
		}
	}()
	var zero R
	caller := callerOf(ctx)
	ms := r.snapshot()
	n := len(ms)
	if n == 0 {
		return nil, r.refusal()
	}
	start := int((r.next.Add(1) - 1) % uint64(n))
	var ts []*member
	for pass := range 2 {
		for k := range n {
			mb := ms[(start+k)%n]
			if mb.eligible(caller) && mb.restarting.Load() == (pass == 1) {
				ts = append(ts, mb)
			}
		}
		if len(ts) > 0 {
			break
		}
	}
	if len(ts) == 0 {
		if n == 1 && ms[0].c == caller {
			return nil, errCycleSelf(caller, m.label)
		}
		return nil, r.refusal()
	}
	g := &gather[S, Q, R]{r: r, m: m, req: req, caller: ctx, targets: ts}
	g.done = make(chan struct{})
	g.chopFn = g.chopFire
	g.ctx, g.cancel = context.WithCancel(ctx)
	if _, ok := ctx.Deadline(); !ok {
		g.armed = true
		if err := r.sys.Wheel.Start(&g.tm, r.sys.CallTimeout, g); err != nil {
			g.armed = false
			g.cancel()
			return nil, ErrStopped
		}
	}
	if watch && ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { g.settle(zero, ctxErr(ctx, m.label)) })
		g.unwatch.Store(&stop)
		if g.state.Load() == callDone {
			stop()
		}
	}
	if r.stagger == 0 {
		g.sent = len(ts)
		for _, mb := range ts {
			g.send(mb, false)
		}
		return g, nil
	}
	g.sent = 1
	g.send(ts[0], false)
	if len(ts) > 1 {
		g.scheduleChop(false)
	}
	return g, nil
}

// callGather is CallPool's First path.
func callGather[S, Q, R any](ctx context.Context, r *router, m *Method[S, Q, R], req Q) (R, error) {
	var zero R
	g, err := startGather(ctx, r, m, req, false)
	if err != nil {
		return zero, err
	}
	if caller := callerOf(ctx); caller.lend() {
		defer caller.reclaim()
	}
	select {
	case <-g.done:
	case <-ctx.Done():
		g.settle(zero, ctxErr(ctx, m.label))
		<-g.done
	}
	return g.val, g.err
}

// send asks mb; a refusal counts as that worker's failure. On the timer
// wheel's goroutine (wheel: a stagger's chop) the sub-call is only
// offered (see offer).
func (g *gather[S, Q, R]) send(mb *member, wheel bool) {
	if !mb.acquire(g.r.limit) {
		g.lose(ErrPoolFull, wheel)
		return
	}
	gc := &gatherCall[S, Q, R]{g: g, at: mb}
	gc.self = gc
	var err error
	if wheel {
		err = gc.offer()
	} else {
		err = tryPush(mb.c, envelope{msg: &gc.self})
	}
	if err != nil {
		mb.release()
		g.lose(err, wheel)
	}
}

// offer queues the sub-call from the timer wheel's goroutine (see
// cell.offerFromWheel): on a full mailbox a gatherHop, and the worker's
// turn pushes it as tryPush would have here.
func (gc *gatherCall[S, Q, R]) offer() error {
	c := gc.at.c
	if c.status.Load() != statusRunning {
		return ErrStopped
	}
	err := c.offerFromWheel(envelope{msg: &gc.self}, func() envelope {
		h := &gatherHop[S, Q, R]{gc: gc}
		h.self = h
		return envelope{msg: &h.self}
	})
	if err != nil {
		return pushErr(err)
	}
	return nil
}

// lose records a failed sub-call. The last failure settles the gather;
// when every worker asked so far has failed, the next is asked at once,
// unless the gather is settled (its caller gave up): nobody waits for that
// worker's answer, and the sub-call would only hold a slot there. wheel:
// on the timer wheel's goroutine (see send).
func (g *gather[S, Q, R]) lose(err error, wheel bool) {
	g.mu.Lock()
	g.errs = append(g.errs, err)
	g.failed++
	all := g.failed == len(g.targets)
	var next *member
	if !all && g.failed == g.sent && g.sent < len(g.targets) && g.state.Load() == callPending {
		next = g.targets[g.sent]
		g.sent++
	}
	errs := g.errs
	g.mu.Unlock()
	if all {
		var zero R
		g.settle(zero, errors.Join(errs...))
		return
	}
	if next != nil {
		g.send(next, wheel)
	}
}

// scheduleChop arms the next stagger; wheel: on the timer wheel's
// goroutine (see send).
func (g *gather[S, Q, R]) scheduleChop(wheel bool) {
	h, err := g.r.sys.Wheel.Schedule(g.r.stagger, g.chopFn)
	if err != nil {
		// The wheel stopped (the runtime is closing): ask the rest now,
		// so that every worker still reports an outcome.
		for {
			g.mu.Lock()
			if g.sent >= len(g.targets) {
				g.mu.Unlock()
				return
			}
			next := g.targets[g.sent]
			g.sent++
			g.mu.Unlock()
			g.send(next, wheel)
		}
	}
	g.mu.Lock()
	g.chop = h
	g.mu.Unlock()
}

// chopFire asks the next worker, on the wheel's goroutine.
func (g *gather[S, Q, R]) chopFire() {
	if g.state.Load() != callPending {
		return
	}
	g.mu.Lock()
	if g.sent >= len(g.targets) {
		g.mu.Unlock()
		return
	}
	next := g.targets[g.sent]
	g.sent++
	more := g.sent < len(g.targets)
	g.mu.Unlock()
	g.send(next, true)
	if more {
		g.scheduleChop(true)
	}
}

// settle gives the gather its one outcome and cancels the rest.
func (g *gather[S, Q, R]) settle(v R, err error) bool {
	if !g.state.CompareAndSwap(callPending, callDone) {
		return false
	}
	g.val, g.err = v, err
	close(g.done)
	if g.armed {
		g.tm.Stop()
	}
	if f := g.unwatch.Load(); f != nil {
		(*f)()
	}
	g.cancel()
	g.mu.Lock()
	h := g.chop
	g.mu.Unlock()
	h.Stop()
	return true
}

// Fire is the default deadline's callback.
func (g *gather[S, Q, R]) Fire() {
	var zero R
	g.settle(zero, timeoutFor(g.m.label))
}

// Dropped: the wheel stopped with the default deadline pending (as
// call.Dropped): the gather fails with ErrStopped.
func (g *gather[S, Q, R]) Dropped() {
	var zero R
	g.settle(zero, ErrStopped)
}

// lateErr is the outcome of a gather whose caller gave up, as a handler
// that watched its Context saw it, or nil.
func (g *gather[S, Q, R]) lateErr(x *Ctx) error {
	if x.cctx == nil {
		return nil
	}
	if g.caller.Err() != nil {
		return ctxErr(g.caller, g.m.label)
	}
	if errors.Is(x.cctx.Err(), context.DeadlineExceeded) {
		return timeoutFor(g.m.label)
	}
	return nil
}

// gatherCall is one sub-call of a gather, queued at one worker. A
// deferred method's sub-call is answered through a Reply (gatherCall is
// its owedCall), on a later turn or from another goroutine.
type gatherCall[S, Q, R any] struct {
	self message // the gatherCall itself (see envelope)
	g    *gather[S, Q, R]
	at   *member
	over atomic.Bool // the sub-call has its outcome (its Reply's, or its failure)
}

func (gc *gatherCall[S, Q, R]) key() mailbox.Key { return gc.g.m.k }
func (gc *gatherCall[S, Q, R]) name() string     { return gc.g.m.label }
func (gc *gatherCall[S, Q, R]) live() bool       { return gc.g.state.Load() == callPending }

func (gc *gatherCall[S, Q, R]) callContext() (context.Context, time.Time) {
	if gc.g.armed {
		return gc.g.ctx, gc.g.tm.Deadline()
	}
	return gc.g.ctx, time.Time{}
}

func (gc *gatherCall[S, Q, R]) run(x *Ctx, _ payload) {
	g := gc.g
	if g.state.Load() != callPending {
		gc.at.release() // settled: a loser never runs
		return
	}
	if g.m.dfn != nil {
		runDeferred(x, g.m, g.req, gc)
		gc.at.release()
		return
	}
	v, err := g.m.fn(x.c.state.(S), x, g.req)
	gc.at.release()
	if late := g.lateErr(x); late != nil {
		// As for a call (see call.lateErr): the handler saw its Context
		// end because the caller gave up; that is the outcome.
		var zero R
		g.settle(zero, late)
		return
	}
	if err != nil {
		g.lose(err, false)
		return
	}
	x.replied = true
	g.settle(v, nil) // a late success is dropped
}

// fail counts err as this worker's failure. A sub-call that fails
// without running (its worker stopped, or its mailbox dropped it) while
// its request still waited is also a dead letter, as a plain call's is and
// as a deferred sub-call's dropped Reply is (see Reply.drop); one whose
// request already had its outcome lost nothing. A handler's panic (why is
// engine.ReasonFailed) goes to the gather, as a call's goes to its caller;
// if the request already had its outcome, nobody would see it: it is a
// dead letter (ReasonLate), as a plain call's panic after its caller gave
// up is.
func (gc *gatherCall[S, Q, R]) fail(to *cell, _ payload, err error, why uint8) {
	gc.at.release()
	if !gc.over.CompareAndSwap(false, true) {
		return
	}
	pending := gc.g.state.Load() == callPending
	switch {
	case why == engine.ReasonFailed && !pending:
		to.deadLetter(engine.ReasonLate, gc.g.m.label, err, nil)
	case why != engine.ReasonFailed && pending:
		to.deadLetter(why, gc.g.m.label, err, nil)
	}
	gc.g.lose(err, false)
}

// settle is a deferred sub-call's Reply.Send (or its drop when the worker
// stops with it unsent): a success settles the gather, unless another one
// did first (then it is discarded, as a late reply of First always is); an
// error counts as this worker's failure. It returns false only if the
// sub-call already had its outcome (its handler panicked): the Send is
// then late.
func (gc *gatherCall[S, Q, R]) settle(v R, err error) bool {
	if !gc.over.CompareAndSwap(false, true) {
		return false
	}
	g := gc.g
	if err != nil {
		if g.caller.Err() != nil {
			// As lateErr: the worker most likely failed because the caller
			// gave up (its Reply's Context ended); that is the outcome.
			var zero R
			g.settle(zero, ctxErr(g.caller, g.m.label))
			return true
		}
		g.lose(err, false)
		return true
	}
	g.settle(v, nil)
	return true
}

func (gc *gatherCall[S, Q, R]) settled() bool { return gc.over.Load() || gc.g.state.Load() == callDone }

// gatherHop is a sub-call asked from the timer wheel's goroutine that
// found its worker's mailbox full, on its way to the worker's user lane: a
// system message, run on the worker's turn (see gatherCall.offer).
type gatherHop[S, Q, R any] struct {
	self message // the gatherHop itself (see envelope)
	gc   *gatherCall[S, Q, R]
}

func (h *gatherHop[S, Q, R]) key() mailbox.Key { return sysKey }
func (h *gatherHop[S, Q, R]) name() string     { return h.gc.g.m.label }
func (h *gatherHop[S, Q, R]) live() bool       { return true }

// run pushes the sub-call, on the worker's turn, as send's tryPush would
// have: a refusal counts as the worker's failure.
func (h *gatherHop[S, Q, R]) run(x *Ctx, _ payload) {
	gc := h.gc
	if err := tryPush(x.c, envelope{msg: &gc.self}); err != nil {
		gc.at.release()
		gc.g.lose(err, false)
	}
}

// fail: the worker stopped with the sub-call on its way, which counts as
// its failure (as tryPush's refusal would). A failure of run itself (a
// dead-letter hook that ended the turn with runtime.Goexit: run's only
// user code) came after the push, which either queued the sub-call or
// had its refusal counted: nothing is left to do.
func (h *gatherHop[S, Q, R]) fail(_ *cell, _ payload, err error, why uint8) {
	if why == engine.ReasonFailed {
		return
	}
	h.gc.at.release()
	h.gc.g.lose(err, false)
}
