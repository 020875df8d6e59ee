package actor

import (
	"context"
	"errors"
	"fmt"

	"github.com/cespare/xxhash/v2"
	"github.com/troupe-go/troupe/mailbox"
)

// Router is what the pool calls take: a *Pool[S] or a *Group[S]. It is
// sealed.
//
// Why functions (CallPool, CastPool, AskPool, BroadcastPool) and not
// Method's own Call, Cast and Ask: Go methods cannot take type parameters,
// so Method.Call could reach a pool only if its target were an interface,
// which would put a dynamic call on every direct call; and a pool is not
// an actor: a call through it picks a worker per call. One set of verbs
// serves pools and groups alike.
type Router[S any] interface {
	route() (*router, *S)
}

func routerOf[S any](to Router[S]) *router {
	if to == nil {
		return nil
	}
	r, _ := to.route()
	return r
}

// prepare checks what every pool call checks first. A call refused by a
// stopped router is a dead letter, as one refused by a stopped actor is.
func prepare[S, Q, R any](ctx context.Context, m *Method[S, Q, R], to Router[S]) (*router, error) {
	return prepareRoute(ctx, m.Name(), m.usable(), to, nil)
}

// prepareRoute is prepare for a method or stream named label that cannot
// be called if unusable is not nil; a refusal by a stopped router is a
// dead letter carrying payload (CastPool's request; nil for a call, whose
// caller gets the error).
func prepareRoute[S any](ctx context.Context, label string, unusable error, to Router[S], payload any) (*router, error) {
	if ctx == nil {
		return nil, ErrNilContext
	}
	if unusable != nil {
		return nil, unusable
	}
	r := routerOf(to)
	if r == nil {
		return nil, ErrNilPool
	}
	if r.state.Load() != routerRunning {
		r.refused(label, ErrPoolStopped, payload)
		return nil, ErrPoolStopped
	}
	if err := ctx.Err(); err != nil {
		return nil, ctxErr(ctx, label)
	}
	return r, nil
}

// target is how one routed message is to be placed.
type target struct {
	h      uint64    // Hash: the key's hash
	caller *cell     // the actor calling from its handler: never picked
	wait   *waitEdge // the caller will wait along it: record it for the cycle check
	label  string
}

// dispatch places e by the router's strategy: into the shared queue
// (Balancing) or at a member, which it returns.
func (r *router) dispatch(e envelope, rm routed, t target) (*member, error) {
	if r.shared != nil {
		return nil, r.shared.submit(e, t.caller, t.label)
	}
	return r.route(e, rm, t)
}

// keyHash is the hash of req's key, for Hash routers.
func keyHash[Q any](r *router, req Q) (uint64, error) {
	if r.kind != hashed {
		return 0, nil
	}
	for _, k := range r.keys {
		if f, ok := k.(func(Q) string); ok {
			return safeKey(f, req)
		}
	}
	var q Q
	return 0, fmt.Errorf("%w: %T", ErrNoHashKey, q)
}

func safeKey[Q any](f func(Q) string, req Q) (h uint64, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%w: %w", ErrHashKey, newPanicError("hash key", v))
		}
	}()
	return xxhash.Sum64String(f(req)), nil
}

func errCycleSelf(caller *cell, method string) error {
	return fmt.Errorf("%w: %s calls its own pool, where it is the only worker (%s)", ErrCallCycle, caller, method)
}

// CallPool sends req to one worker of the pool or group, picked by its
// strategy, and waits for the outcome, exactly as Method.Call does: the reply,
// the handler's error, a *PanicError, or a sentinel (ErrTimeout, ErrStopped,
// ErrCallCycle, ctx's cancellation) — plus the router's own: ErrPoolFull,
// ErrPoolStopped, ErrEmptyGroup, ErrNoHashKey, ErrHashKey, ErrNilPool;
// ErrStopped alone if no worker of a running pool can take calls (they stop
// with the runtime, or the only one is being replaced). A call the router
// refuses is also a dead letter. The deadline is ctx's, or the runtime's call
// timeout. Made from a handler, pass c.Context(): the calling actor is never
// picked (it would wait for itself), and cycles through the worker picked
// are detected, except with Balancing (the worker is picked when it takes
// the call, after the caller began to wait) and First (several workers):
// there a cycle ends at the deadline, with ErrTimeout. With First, the
// first successful reply of several workers. Blocks; safe for concurrent use;
// the allocations of Method.Call (two), O(1) routing for RoundRobin and Random.
func CallPool[S, Q, R any](ctx context.Context, m *Method[S, Q, R], to Router[S], req Q) (R, error) {
	var zero R
	r, err := prepare(ctx, m, to)
	if err != nil {
		return zero, err
	}
	if r.kind == firstReply {
		return callGather(ctx, r, m, req)
	}
	h, err := keyHash(r, req)
	if err != nil {
		return zero, err
	}
	pc, err := newPoolCall(r, m, ctx, req)
	if err != nil {
		return zero, err
	}
	caller := callerOf(ctx)
	at, err := r.dispatch(envelope{msg: &pc.self}, pc, target{h: h, caller: caller, wait: &pc.edge, label: m.label})
	if err != nil {
		pc.stopTimer()
		r.refused(m.label, err, nil)
		return zero, err
	}
	if caller != nil { // its loop's place is lent while it waits
		defer caller.endWait(at != nil, caller.lend())
	}
	select {
	case <-pc.done:
	case <-ctx.Done():
		pc.settle(zero, ctxErr(ctx, m.label))
		<-pc.done
	}
	pc.stopTimer()
	return pc.val, pc.err
}

// AskPool sends req to one worker of the pool or group, as CallPool does,
// and returns with a future of the outcome (Method.Ask's rules: at once
// unless the worker's mailbox is full under the Block policy; the call is
// abandoned if ctx is cancelled before a worker starts it; a call that
// cannot be routed returns a future already failed). Collect many with
// AwaitAll. Safe for concurrent use.
func AskPool[S, Q, R any](ctx context.Context, m *Method[S, Q, R], to Router[S], req Q) *Future[R] {
	var zero R
	r, err := prepare(ctx, m, to)
	if err != nil {
		return failedFuture[R](err)
	}
	if r.kind == firstReply {
		g, err := startGather(ctx, r, m, req, true)
		if err != nil {
			return failedFuture[R](err)
		}
		return &g.Future
	}
	h, err := keyHash(r, req)
	if err != nil {
		return failedFuture[R](err)
	}
	pc, err := newPoolCall(r, m, ctx, req)
	if err != nil {
		return failedFuture[R](err)
	}
	pc.asked = true
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, func() { pc.settle(zero, ctxErr(ctx, m.label)) })
		pc.unwatch.Store(&stop)
		if pc.state.Load() == callDone {
			stop() // settled before the watch was stored
		}
	}
	at, err := r.dispatch(envelope{msg: &pc.self}, pc, target{h: h, caller: callerOf(ctx), label: m.label})
	if err != nil {
		pc.settle(zero, err)
		r.refused(m.label, err, nil)
	} else if at != nil { // a member (not the shared queue): Await checks cycles
		pc.edge.to.Store(at.c)
		pc.Future.call = pc
	}
	return &pc.Future
}

// CastPool sends req one way to one worker of the pool or group (with
// First: round robin). It returns once the message is queued, with an
// error only if it could not be: ErrPoolFull, ErrPoolStopped,
// ErrEmptyGroup, ErrNoHashKey, ErrHashKey, ErrNilPool, ErrNilHandler,
// ErrInvalidName; ErrStopped alone if no worker of a running pool can
// take it (they stop with the runtime, or the only one is being replaced:
// with Balancing it waits in the shared queue for the replacement, as a
// call does); a refused payload is also a dead letter. The handler's
// error or panic goes to the dead letters. Safe for concurrent use; one
// allocation (the message, which carries req and the worker it went to).
func CastPool[S, Q, R any](m *Method[S, Q, R], to Router[S], req Q) error {
	r, err := prepareRoute(context.Background(), m.Name(), m.usable(), to, req)
	if err != nil {
		return err
	}
	h, err := keyHash(r, req)
	if err != nil {
		return err
	}
	pc := &poolCast[S, Q, R]{m: m, req: req}
	pc.self = pc
	if _, err := r.dispatch(envelope{msg: &pc.self}, pc, target{h: h, label: m.label}); err != nil {
		r.refused(m.label, err, req)
		return err
	}
	return nil
}

// BroadcastPool sends req to every worker of the pool or group (but the
// calling actor, if it is one) and waits for all of them: the replies in
// worker order (a failed worker's is the zero value) and the failures
// joined, each naming its worker; nil if all succeeded. Each call has
// Method.Call's outcomes; a worker at its WithMaxQueued bound gets
// ErrPoolFull; a restarting worker answers after its restart. Works with
// every strategy (with Balancing the calls bypass the shared queue).
// Errors beside the workers': those of prepare; ErrCallCycle if the
// caller is the only worker (made from a handler with c.Context(), as
// CallPool tells it: it has no other to reach, and would wait for
// itself); else, if there is no worker to reach, ErrPoolStopped,
// ErrEmptyGroup, or ErrStopped (no worker of a running pool can take
// calls: they stop with the runtime, or the only one is being replaced).
// Blocks; safe for concurrent use; Method.Call's cost per worker.
func BroadcastPool[S, Q, R any](ctx context.Context, m *Method[S, Q, R], to Router[S], req Q) ([]R, error) {
	var zero R
	r, err := prepare(ctx, m, to)
	if err != nil {
		return nil, err
	}
	caller := callerOf(ctx)
	all := r.snapshot()
	var ms []*member
	for _, mb := range all {
		if mb.c != caller && !mb.left.Load() && mb.c.status.Load() == statusRunning {
			ms = append(ms, mb)
		}
	}
	if len(ms) == 0 {
		if caller != nil && len(all) == 1 && all[0].c == caller {
			return nil, errCycleSelf(caller, m.label)
		}
		err := r.refusal()
		r.refused(m.label, err, nil)
		return nil, err
	}
	calls := make([]*poolCall[S, Q, R], len(ms))
	for i, mb := range ms {
		pc, err := newPoolCall(r, m, ctx, req)
		if err != nil {
			pc = &poolCall[S, Q, R]{}
			pc.Future = *failedFuture[R](err)
			calls[i] = pc
			continue
		}
		calls[i] = pc
		if !mb.acquire(r.limit) {
			pc.settle(zero, ErrPoolFull)
			r.refused(m.label, ErrPoolFull, nil)
			continue
		}
		pc.bind(mb)
		if err := tryPush(mb.c, envelope{msg: &pc.self}); err != nil {
			mb.release()
			pc.settle(zero, err)
			r.refused(m.label, err, nil)
		}
	}
	if caller.lend() {
		defer caller.reclaim()
	}
	vals := make([]R, len(calls))
	var errs []error
	for i, pc := range calls {
		select {
		case <-pc.done:
		case <-ctx.Done():
			pc.settle(zero, ctxErr(ctx, m.label))
			<-pc.done
		}
		pc.stopTimer()
		vals[i] = pc.val
		if pc.err != nil {
			errs = append(errs, fmt.Errorf("worker %s: %w", ms[i].c, pc.err))
		}
	}
	return vals, errors.Join(errs...)
}

// poolCall is a sync call (or an Ask) routed by a pool: a call that
// knows the member it went to, to release it there.
type poolCall[S, Q, R any] struct {
	call[S, Q, R]
	at *member
}

func newPoolCall[S, Q, R any](r *router, m *Method[S, Q, R], ctx context.Context, req Q) (*poolCall[S, Q, R], error) {
	pc := &poolCall[S, Q, R]{}
	pc.self = pc
	pc.m, pc.req, pc.ctx = m, req, ctx
	pc.done = make(chan struct{})
	pc.edge.done = pc.done
	if err := pc.arm(r.sys); err != nil {
		return nil, err
	}
	return pc, nil
}

func (pc *poolCall[S, Q, R]) bind(m *member) { pc.at = m }

func (pc *poolCall[S, Q, R]) run(x *Ctx, p payload) {
	pc.call.run(x, p)
	// After a reply the turn yields a few times for the caller's next
	// call (see cell.process); but a router sends that call to another
	// worker (but with Hash, to the same one): leave at once, and give the
	// loop to the worker that gets it. Measured: round robin over 8
	// workers ~1.4× → ~1.15× a direct call.
	x.replied = x.replied && pc.at != nil && pc.at.sticky
	pc.at.release()
}

func (pc *poolCall[S, Q, R]) fail(to *cell, p payload, err error, why uint8) {
	pc.at.release()
	pc.call.fail(to, p, err, why)
}

// poolCast is a oneway routed by a pool.
type poolCast[S, Q, R any] struct {
	self message // the poolCast itself (see envelope)
	m    *Method[S, Q, R]
	req  Q
	at   *member
}

func (pc *poolCast[S, Q, R]) bind(m *member)   { pc.at = m }
func (pc *poolCast[S, Q, R]) key() mailbox.Key { return pc.m.k }
func (pc *poolCast[S, Q, R]) name() string     { return pc.m.label }
func (pc *poolCast[S, Q, R]) live() bool       { return true }

func (pc *poolCast[S, Q, R]) run(x *Ctx, _ payload) {
	pc.m.handle(x, pc.req)
	pc.at.release()
}

func (pc *poolCast[S, Q, R]) fail(to *cell, _ payload, err error, why uint8) {
	pc.at.release()
	to.deadLetter(why, pc.m.label, err, pc.req)
}
