package actor

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/troupe-go/troupe/internal/engine"
)

// Deferred replies: Erlang's noreply + gen_server:reply. A handler takes
// its call's Reply with it and answers later, on a later turn or from any
// goroutine, exactly once. What the caller sees does not change: the
// deferred method is a *Method, called with Call, Cast or Ask like any
// other, with the same deadlines, cycle detection and sentinels.

// Sentinel errors of deferred replies.
var (
	// ErrReplied: Reply.Send on a Reply that was already sent, or on a nil
	// or zero Reply (one not made by a deferred method). Nothing is
	// delivered.
	ErrReplied = errors.New("actor: reply already sent")
	// ErrLateReply: Reply.Send on a Reply whose caller already has its
	// outcome: it gave up (deadline or cancel, or its Await abandoned the
	// call: ErrCallCycle), the actor stopped (the
	// caller got ErrStopped), or the handler panicked (the caller got the
	// *PanicError). The reply is discarded and reported as a dead letter
	// (runtime.ReasonLate).
	ErrLateReply = errors.New("actor: late reply: the caller already has its outcome")
)

// NewDeferred makes a method whose handler answers later: fn gets the
// call's Reply and may send it during its turn, keep it in the actor's
// state and send it on a later turn, or hand it to a worker actor or a
// goroutine (see [Go]) that sends it when done. The actor's turn is free
// meanwhile: a front actor hands each call to a worker and takes the next.
//
// It returns a *Method: Call, Cast, Ask, whitelists ([Ctx.Only]), timers
// and WithIdleTimeout take it like any method, and its callers get the
// same outcomes as a Method's: exactly one of the value and error given to
// [Reply.Send], a [*PanicError] if fn panics before a Send, or a sentinel
// (ErrTimeout, ErrStopped, ErrMailboxFull, ErrDropped, ErrCallCycle, ctx's
// cancellation). The caller's deadline still bounds the wait: a Send after
// it is discarded (ErrLateReply). A Reply still unsent when the actor
// stops — gracefully, after its queue and its children, or killed — fails
// its caller with ErrStopped then, not at the caller's deadline. A
// restart does not fail the Replies still owed: one handed to a worker or
// a goroutine may still be sent; one kept only in the replaced state's
// fields is gone with it, and its caller waits until its deadline — keep
// owed Replies where a restart cannot lose them, or let the actor stop.
//
// For a Cast nobody waits: an error passed to Send goes to the dead
// letters (runtime.ReasonFailed), and an unsent Reply is forgotten.
//
// It never panics: an invalid name or a nil fn makes a method whose every
// call returns ErrInvalidName or ErrNilHandler. Cost per call: a Method's,
// plus the Reply (one allocation) and, if fn returns without sending, an
// entry in the actor's set of owed replies (O(1) amortized, one lock).
func NewDeferred[S, Q, R any](name string, fn func(state S, c *Ctx, req Q, r *Reply[R])) *Method[S, Q, R] {
	if fn == nil {
		return NewMethod[S, Q, R](name, nil)
	}
	// fn as a Method's handler serves oneways (Cast, timers); calls take
	// runDeferred, which hands the Reply to the caller's call.
	m := NewMethod(name, func(s S, x *Ctx, q Q) (R, error) {
		fn(s, x, q, &Reply[R]{to: x.c, label: name})
		var zero R
		return zero, nil
	})
	m.dfn = fn
	return m
}

// Reply is the answer a deferred method's handler owes its caller; see
// [NewDeferred]. Send it exactly once, from any goroutine. Safe for
// concurrent use.
type Reply[R any] struct {
	to    *cell
	call  owedCall[R]              // nil for a oneway
	set   atomic.Pointer[replySet] // the actor's owed replies, once r outlives its turn
	label string
	sent  atomic.Bool

	mu     sync.Mutex         // guards ctx, cancel, over
	ctx    context.Context    // made by Context on first use
	cancel context.CancelFunc // cancels ctx
	over   bool               // sent or dropped: ctx is (or will be made) cancelled
}

// owedCall is the call a Reply answers: a *call[S, Q, R], seen without S
// and Q.
type owedCall[R any] interface {
	settle(v R, err error) bool
	settled() bool
	callContext() (context.Context, time.Time)
}

// settled reports whether the call has its outcome.
func (cl *call[S, Q, R]) settled() bool { return cl.state.Load() == callDone }

// Send delivers v and err to the caller: err is returned by its Call (or
// Future) as it is, like a Method handler's error. Only the first Send
// counts: a second returns ErrReplied. It returns ErrLateReply, and
// reports a dead letter, if the caller already has its outcome (it gave
// up, the actor stopped, or the handler panicked). For a Cast, a non-nil
// err goes to the dead letters. Never blocks; safe from any goroutine;
// O(1).
func (r *Reply[R]) Send(v R, err error) error {
	if r == nil || r.to == nil || !r.sent.CompareAndSwap(false, true) {
		return ErrReplied
	}
	defer r.end()
	if s := r.set.Load(); s != nil {
		s.remove(r)
	}
	if r.call == nil {
		if err != nil {
			r.to.deadLetter(engine.ReasonFailed, r.label, err, nil)
		}
		return nil
	}
	if !r.call.settle(v, err) {
		r.to.deadLetter(engine.ReasonLate, r.label, err, nil)
		return ErrLateReply
	}
	return nil
}

// Context returns the caller's context, for work done on the reply's behalf
// after the handler's turn: it carries the caller's deadline (or the default
// call timeout the call got) and values, and is cancelled when the caller gives
// up (as [Ctx.Context] is: deadline, cancel, or an Await abandoning an Ask with
// ErrCallCycle), when the Reply is sent, when the actor stops with the
// Reply unsent, and when the handler panics (its caller then has the
// [*PanicError]; a Send is late). Unlike the handler's [Ctx.Context], which ends with the turn,
// it lives as long as the Reply is owed; and it does not make the goroutine
// that uses it count as the actor's handler (no cycle detection: a goroutine is
// not a turn). For a Cast it is cancelled only by Send. A nil or zero Reply
// returns a cancelled context. Safe from any goroutine; the first use allocates
// (~3 objects, one more for an Ask).
func (r *Reply[R]) Context() context.Context {
	if r == nil || r.to == nil {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		return ctx
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ctx != nil {
		return r.ctx
	}
	parent, deadline := context.Background(), time.Time{}
	if r.call != nil {
		parent, deadline = r.call.callContext()
	}
	// Hide the caller's handler, if the caller was one: a call made with
	// this context, from wherever the Reply went, is not that handler
	// waiting (see callerOf).
	ctx := context.WithValue(parent, selfKey{}, (*cell)(nil))
	var cancel context.CancelFunc
	if _, has := parent.Deadline(); !has && !deadline.IsZero() {
		ctx, cancel = context.WithDeadline(ctx, deadline)
	} else {
		ctx, cancel = context.WithCancel(ctx)
	}
	if r.over {
		cancel()
	} else if a, ok := r.call.(abortable); ok {
		a.onAbandon(cancel) // an Ask whose caller's Await may abandon it
	}
	r.ctx, r.cancel = ctx, cancel
	return ctx
}

// end cancels the Reply's Context, once it is sent or dropped.
func (r *Reply[R]) end() {
	r.mu.Lock()
	r.over = true
	cancel := r.cancel
	r.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

// drop fails the caller, if it still waits, because the actor stopped
// with the Reply unsent. A Send after it is late. It reports a dead letter
// only if the request still waited for it: a First pool's request that
// another worker already answered (or whose caller gave up) lost nothing,
// though the sub-call's settle still takes the failure (so a later Send is
// late).
func (r *Reply[R]) drop(err error) {
	var zero R
	owed := !r.call.settled()
	if r.call.settle(zero, err) && owed {
		r.to.deadLetter(engine.ReasonStopped, r.label, err, nil)
	}
	r.end()
}

func (r *Reply[R]) isSent() bool  { return r.sent.Load() }
func (r *Reply[R]) settled() bool { return r.call.settled() }

// runDeferred handles a call of a deferred method on the actor's turn
// (call.run hands it over once the call is running). A Reply that the
// handler did not send joins the actor's owed replies, to be failed at its
// stop; a panic skips that (the caller gets the *PanicError from process).
//
// A Send racing with the join from another goroutine: Send sets sent, then
// loads set; the turn stores set, then add checks sent under the set's
// lock. Either Send sees the set and removes r (after add, or before it,
// and then add sees sent), or add sees sent and skips r.
func (cl *call[S, Q, R]) runDeferred(x *Ctx) {
	runDeferred(x, cl.m, cl.req, cl)
}

// runDeferred runs m's deferred handler for a call that oc answers (a
// call, or one sub-call of a First pool's gather).
func runDeferred[S, Q, R any](x *Ctx, m *Method[S, Q, R], req Q, oc owedCall[R]) {
	c := x.c
	r := &Reply[R]{to: c, call: oc, label: m.label}
	normal := false
	defer func() {
		if !normal {
			// fn panicked (or called runtime.Goexit): the caller gets
			// the *PanicError, so the Reply, which never joins the owed
			// ones, is owed to nobody. Its Context ends now, as at a
			// stop (r may have been handed to a goroutine).
			r.end()
		}
	}()
	m.dfn(c.state.(S), x, req, r)
	normal = true
	if r.sent.Load() {
		x.replied = true // the caller may send its next call at once
		return
	}
	rs := c.replySet()
	r.set.Store(rs)
	if !rs.add(r) {
		r.drop(c.stopErr()) // finalize has begun: nobody would fail it later
	}
}

// owed is a Reply in the actor's set, seen without R.
type owed interface {
	isSent() bool
	settled() bool
	drop(err error)
}

// replySet is an actor's owed replies: calls its deferred handlers
// returned from without sending. finalize (through atStop) fails those
// whose callers still wait. Entries leave when sent; those whose callers
// gave up are swept as the set grows, so it stays within about twice the
// replies owed to callers still waiting.
type replySet struct {
	mu     sync.Mutex // guards all
	owed   map[owed]struct{}
	sweep  int  // the size at which add next sweeps
	closed bool // the actor has finalized
}

// replySet returns the actor's owed replies, making the set and
// registering its stop on first use. On the actor's turn only (so one
// goroutine makes it).
func (c *cell) replySet() *replySet {
	c.mu.Lock()
	rs := c.extLocked().replies
	c.mu.Unlock()
	if rs != nil {
		return rs
	}
	rs = &replySet{owed: make(map[owed]struct{})}
	if !c.atStop(func() { rs.stop(c) }) {
		rs.closed = true // not shared yet
	}
	c.mu.Lock()
	c.ext.replies = rs
	c.mu.Unlock()
	return rs
}

// owesReplies reports whether the actor owes a deferred reply to a caller
// that still waits: its stop will fail it, and report it as a dead letter
// (user code, which requestStop does not run on the asker's goroutine).
// Only the actor's turn adds to the set, so while the caller holds the
// turn the answer can only go from true to false (a Send, a caller giving
// up), never the other way.
func (c *cell) owesReplies() bool {
	c.mu.Lock()
	var rs *replySet
	if c.ext != nil {
		rs = c.ext.replies
	}
	c.mu.Unlock()
	if rs == nil {
		return false
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for r := range rs.owed {
		if !r.settled() {
			return true
		}
	}
	return false
}

// add records r, unless it was sent meanwhile (Send removes under the
// same lock, so either it sees r or add sees that r was sent). It reports
// false if the set is closed. O(1) amortized.
func (s *replySet) add(r owed) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if r.isSent() {
		return true
	}
	if len(s.owed) >= s.sweep {
		for o := range s.owed {
			if o.settled() {
				delete(s.owed, o)
			}
		}
		s.sweep = max(2*len(s.owed), 64)
	}
	s.owed[r] = struct{}{}
	return true
}

func (s *replySet) remove(r owed) {
	s.mu.Lock()
	delete(s.owed, r)
	s.mu.Unlock()
}

// stop fails every reply still owed with the actor's stop error; it runs
// once, when the actor finalizes.
func (s *replySet) stop(c *cell) {
	s.mu.Lock()
	rs := s.owed
	s.owed, s.closed = nil, true
	s.mu.Unlock()
	if len(rs) == 0 {
		return
	}
	err := c.stopErr()
	for r := range rs {
		r.drop(err)
	}
}
