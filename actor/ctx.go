package actor

import (
	"context"
	"sync"
	"time"

	"github.com/troupe-go/troupe/internal/engine"
)

// Ctx is what a handler gets besides its state and request: the actor's
// identity, the current call's context, the whitelist, timers, spawning and
// stopping. A Ctx is valid only during the handler call it was passed to;
// do not keep it or use it from another goroutine. A nil or zero Ctx (not
// passed to a handler; a kept one is zeroed once its turn ends) is inert:
// Context is a cancelled context, Engine nil (Spawn fails with
// ErrNilRuntime), Self nil, Only, After, Every and Go fail with
// ErrNilContext, CancelTimer reports false, and the other methods do
// nothing.
type Ctx struct {
	c    *cell
	cur  message
	cctx context.Context // made by Context on first use
	// replied: the message was a sync call that got its reply, so the
	// turn briefly waits for the caller's next call.
	replied bool
}

var ctxPool = sync.Pool{New: func() any { return new(Ctx) }}

func getCtx(c *cell) *Ctx {
	x := ctxPool.Get().(*Ctx)
	x.c = c
	return x
}

func putCtx(x *Ctx) {
	*x = Ctx{}
	ctxPool.Put(x)
}

func (x *Ctx) begin(e envelope) { x.cur = *e.msg }

// end releases what the message's Context held.
func (x *Ctx) end() {
	x.cur = nil
	if x.cctx != nil {
		x.cctx = nil
		x.c.mu.Lock()
		e := x.c.extLocked()
		cancel := e.cancel
		e.cancel = nil
		x.c.mu.Unlock()
		if cancel != nil {
			cancel()
		}
	}
}

// endedContext is a context already cancelled: a nil or zero Ctx's.
var endedContext = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// selfKey is the context key under which a handler's Context carries its
// actor, so a sync call made with it can detect call cycles.
type selfKey struct{}

// CallerID reports which actor's handler made ctx (with Ctx.Context, or a
// ctx derived from it): its Ref.ID, and false for a ctx made outside any
// handler or for a deferred Reply's. A transport that carries calls
// between processes uses it to put the waiting actor in the call's
// wait-for chain (remote's cycle detection). O(depth of ctx); no
// allocation.
func CallerID(ctx context.Context) (uint64, bool) {
	if ctx == nil {
		return 0, false
	}
	if c := callerOf(ctx); c != nil {
		return c.id, true
	}
	return 0, false
}

// callerOf returns the actor whose handler made ctx, if any.
func callerOf(ctx context.Context) *cell {
	c, _ := ctx.Value(selfKey{}).(*cell)
	return c
}

// Context returns the context of the current message: it carries the
// caller's deadline (or the default call timeout the call got), and is
// cancelled when the caller gives up (its deadline, its ctx's cancel, or,
// for an Ask, an Await that abandons the call because it would close a
// call cycle: ErrCallCycle), when the actor is killed (also if Context is
// first asked for after the kill), and when the handler returns. Sync
// calls made with it detect call cycles. Pass it to every call a handler
// makes. The first use per message allocates (~3 objects, one more for an
// Ask); handlers that never call it pay nothing.
func (x *Ctx) Context() context.Context {
	if x == nil || x.c == nil {
		return endedContext
	}
	if x.cctx != nil {
		return x.cctx
	}
	parent, deadline := context.Context(nil), time.Time{}
	if cl, ok := x.cur.(interface {
		callContext() (context.Context, time.Time)
	}); ok {
		parent, deadline = cl.callContext()
	}
	if parent == nil {
		parent = context.Background()
	}
	ctx := context.WithValue(parent, selfKey{}, x.c)
	var cancel context.CancelFunc
	if _, has := parent.Deadline(); !has && !deadline.IsZero() {
		ctx, cancel = context.WithDeadline(ctx, deadline)
	} else {
		ctx, cancel = context.WithCancel(ctx)
	}
	x.c.mu.Lock()
	e := x.c.extLocked()
	e.cancel = cancel
	// A kill stores its status before it reads cancel under mu: either it
	// sees this cancel, or we see its status. Once finalize has begun
	// (the Stopping hook), killed says whether a kill came.
	s := x.c.status.Load()
	killed := s == statusKilling || s >= statusStopped && e.killed
	x.c.mu.Unlock()
	if killed {
		cancel()
	}
	if a, ok := x.cur.(abortable); ok {
		a.onAbandon(cancel) // an Ask whose caller's Await may abandon it
	}
	x.cctx = ctx
	return ctx
}

// Engine makes a *Ctx a [Spawner]: actor.Spawn(c, state) spawns a child
// of this actor, stopped before it when it stops. It is sealed: only
// troupe's own packages can call it.
func (x *Ctx) Engine(engine.Seal) *engine.System {
	if x == nil || x.c == nil {
		return nil
	}
	return x.c.sys
}

// Stop asks the actor to stop once the current message is done, after
// processing what is already queued (a graceful stop). It does not block.
func (x *Ctx) Stop() {
	if x != nil && x.c != nil {
		x.c.requestStop(false)
	}
}

// Self returns the typed ref of the actor handling c (nil for a nil or
// zero Ctx). It panics if S is not the actor's state type: a programmer
// error the compiler cannot catch.
func Self[S any](c *Ctx) *Ref[S] {
	if c == nil || c.c == nil {
		return nil
	}
	r, ok := c.c.self.(*Ref[S])
	if !ok {
		panic("actor: Self called with the wrong state type")
	}
	return r
}

// Report sends err to the runtime's dead letters as a failure of method on
// this actor, for errors that have no caller to return to.
func (x *Ctx) Report(method string, err error) {
	if x == nil || x.c == nil {
		return
	}
	x.c.deadLetter(engine.ReasonFailed, method, err, nil)
}
