package remote

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/troupe-go/troupe/internal/engine"
)

// callCtx is a served call's context: the caller's deadline (clamped by
// the node) and the wait-for chain (Value(chainKey{})); it ends when the
// caller cancels, the node closes, the deadline passes, or the call is
// answered. It makes the context.WithDeadline that does the work only on
// first need — Done, Cause, a value other than the chain (a handler's
// Context derives from it; finish waits on it for a slow call) — so a
// call answered before that never pays for the timerCtx, its runtime
// timer and closures (four allocations), nor for a WithValue layer. Until
// then Err reads the clock: a call past its deadline is expired whether
// or not its context was made.
//
// For a claimed name, the call is queued under gatedCall, its gate.
type callCtx struct {
	deadline time.Time
	chain    string
	fence    *atomic.Int64 // the claim's lease end (claim.until), or nil

	mu       sync.Mutex // guards what follows
	inner    context.Context
	stop     context.CancelFunc // inner's cancel
	canceled bool
}

var _ context.Context = (*callCtx)(nil)

func newCallCtx(deadline time.Time, chain string, fence *atomic.Int64) *callCtx {
	return &callCtx{deadline: deadline, chain: chain, fence: fence}
}

// gatedCall is a served call's context for a claimed name: the call's
// gate (engine.Gate), queued in place of its callCtx. On the call's turn
// at the actor, before its handler, Admit refuses it if the claim's lease
// has run out meanwhile (fence: see leaseOutAt). A call to an exported
// name is queued with its callCtx, not a gate: its turn neither asserts
// nor asks one. One pointer: no allocation as a context.
type gatedCall struct{ *callCtx }

var _ engine.Gate = gatedCall{}

// errFenced is a served call's (or stream open's, or cast's) outcome when
// its turn at the actor came after its claim's lease had run out (Admit):
// it did not run, and its caller is answered as for a name nobody serves
// (finish, runStream; a cast is reported: castGate).
var errFenced = errors.New("remote: the claim's lease ran out before the message's turn")

// Admit refuses the call (errFenced) if its name's claim's lease has run
// out: another node may own the name. One atomic load and a read of the
// monotonic clock; nothing for an exported (not claimed) name.
func (c gatedCall) Admit(engine.Seal) error { return admit(c.fence) }

// castGate is the gate of the casts served under a claimed name (one per
// endpoint, made at the export): on a cast's turn at the actor, before
// its handler, Admit refuses it if the claim's lease has run out
// meanwhile (fence: see leaseOutAt), and reports it (ReasonNameLost,
// CodeNotFound, as for a cast arriving then): a cast has no caller to
// tell. The actor reports it too, as a dead letter (Method.CastGated).
type castGate struct {
	n  *Node
	ex *export
	ep *endpoint
}

var _ engine.Gate = (*castGate)(nil)

// Admit refuses the cast (errFenced) and reports it if its name's
// claim's lease has run out. One atomic load and a read of the monotonic
// clock while it holds; runs on the actor's turn.
func (g *castGate) Admit(engine.Seal) error {
	if !leaseOut(g.ex.fence) {
		return nil
	}
	g.n.refuseLeaseLost(g.ex.name, g.ep.method, g.ep.label)
	return errFenced
}

// Deadline is the call's deadline. It does not block.
func (c *callCtx) Deadline() (time.Time, bool) { return c.deadline, true }

// Done makes the context (if it was not made yet) and returns its Done.
func (c *callCtx) Done() <-chan struct{} { return c.ctx().Done() }

// Err is the context's error: Canceled once cancel was called,
// DeadlineExceeded once the deadline has passed (and Done is then
// closed), nil before. O(1); one clock read while the context is not made.
func (c *callCtx) Err() error {
	c.mu.Lock()
	inner, canceled := c.inner, c.canceled
	c.mu.Unlock()
	switch {
	case inner != nil:
		return inner.Err()
	case canceled:
		return context.Canceled
	case time.Until(c.deadline) > 0: // the monotonic clock alone: cheaper than time.Now
		return nil
	}
	return c.ctx().Err() // made expired: Done is closed as Err reports
}

// Value is the call's chain for chainKey{}; for any other key, the made
// context's value (context.Cause and the children of the call's context
// find its cancelCtx there).
func (c *callCtx) Value(key any) any {
	if _, ok := key.(chainKey); ok {
		return c.chain
	}
	return c.ctx().Value(key)
}

func (c *callCtx) String() string { return "remote.callCtx" }

// ctx makes the context on first use: canceled already if cancel came
// first, expired already if the deadline has passed.
func (c *callCtx) ctx() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inner == nil {
		c.inner, c.stop = context.WithDeadline(context.Background(), c.deadline)
		if c.canceled {
			c.stop()
		}
	}
	return c.inner
}

// cancel ends the call's context; idempotent, safe for concurrent use.
func (c *callCtx) cancel() {
	c.mu.Lock()
	c.canceled = true
	stop := c.stop
	c.mu.Unlock()
	if stop != nil {
		stop()
	}
}
