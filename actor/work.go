package actor

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/troupe-go/troupe/internal/engine"
	"github.com/troupe-go/troupe/mailbox"
)

// Work off the turn: vanilla's thread.call, Akka's pipeTo. A handler
// starts a function on a goroutine its actor owns and goes on; the
// function's result comes back to the actor as a message, so no turn ever
// blocks on I/O.

// MaxWork is the most functions started by [Go] that run at once for one
// actor. Beyond it Go refuses with ErrWorkLimit rather than wait: waiting
// would block the very turn Go exists to keep free. More concurrent work
// than this belongs to a pool of actors. It bounds the functions, not
// their goroutines: one whose function returned stops counting at once,
// so that the method receiving its result can start another, though it
// may still wait (bounded by the call timeout and the actor's finalize)
// to deliver that result to a full Block-policy mailbox.
const MaxWork = 64

// Sentinel errors of work off the turn.
var (
	// ErrWorkLimit: Go was called while MaxWork functions of the actor
	// were still running. Nothing was started.
	ErrWorkLimit = errors.New("actor: too much work off the turn")
)

// Result is what a function run by [Go] returned, delivered to the actor
// as the request of a method. After a panic Value is T's zero value, so
// a Reply carried in Value is lost with it and its caller gets its
// deadline's ErrTimeout (or ErrStopped at the actor's stop).
type Result[T any] struct {
	Value T     // fn's value (also when Err is set)
	Err   error // fn's error, or a *PanicError if fn panicked
}

// Go runs fn on a new goroutine owned by the actor handling c and returns
// at once; when fn returns, its value and error reach the actor as a
// Cast of then (a method of the actor taking a [Result]), handled on a
// later turn like any message: whitelists hold it, its error or panic is
// a dead letter, supervision applies. A panic in fn (also panic(nil) and
// runtime.Goexit) is recovered there and delivered as a [*PanicError] in
// Result.Err.
//
// fn's ctx is cancelled at once when the actor is killed (as its running
// handler's Context is), else when it finalizes (after a graceful stop
// has run its queue and stopped its children); fn must honour it, as the
// actor does not wait for fn: nothing is leaked only if fn returns. The
// runtime's Shutdown and Close do wait for its goroutine (Close as for a
// running handler: the call timeout, then it names the actor). A
// restart (supervision) ends the incarnation that called Go as a stop
// would: fn's ctx is cancelled when the fresh state is made, and fn's
// result, even one queued before the restart, is never handed to the
// fresh state: it is a dead letter (runtime.ReasonStopped, ErrStopped
// wrapping the *PanicError that caused the restart). The fresh state's
// Go counts its own functions toward MaxWork, not the old ones. A
// result that comes after the actor finalized is a dead letter
// (runtime.ReasonStopped, the Result as payload). A result that finds the
// mailbox full waits for room (Block policy, bounded by the call timeout
// and by the stop: cut short by a kill or the finalize, it is a
// ReasonStopped dead letter) or is a dead letter (Reject).
// fn's ctx carries no deadline and no caller: a handler's [Ctx.Context]
// ends with its turn, so pass fn what it needs (a deferred method's
// [Reply.Context], say) in its closure.
//
// Call Go from a handler, with its c. Errors, and nothing is started:
// ErrNilContext (nil c), ErrNilHandler (nil fn or then), then's own
// construction error, ErrWrongActor (then belongs to another actor type),
// ErrStopped (the actor is stopping or stopped), ErrWorkLimit ([MaxWork]
// functions of this actor still running; a function whose fn returned no
// longer counts while its result is handed over). Never blocks. Cost: a
// goroutine and about 3 allocations; the first Go of an actor adds its
// stop hook (~3 allocations).
func Go[S, T, R any](c *Ctx, fn func(ctx context.Context) (T, error), then *Method[S, Result[T], R]) error {
	if c == nil || c.c == nil {
		return ErrNilContext
	}
	if fn == nil {
		return ErrNilHandler
	}
	if err := then.usable(); err != nil {
		return err
	}
	a := c.c
	if !then.Accepts(a.state) {
		return fmt.Errorf("%w: %s cannot run on %T", ErrWrongActor, then.label, a.state)
	}
	w, err := a.workSet()
	if err != nil {
		return err
	}
	if w.running.Load() >= MaxWork {
		return fmt.Errorf("%w: %d running", ErrWorkLimit, MaxWork)
	}
	w.running.Add(1)     // only turns add: no overshoot
	a.sys.WorkStarted(a) // while a runs: the runtime's stop waits for it
	go func() {
		var res Result[T]
		normal := false
		defer a.sys.WorkEnded(a)
		defer func() {
			if !normal {
				v := recover()
				if v == nil {
					v = errGoexit
				}
				res = Result[T]{Err: newPanicError(then.label, v)}
			}
			w.running.Add(-1)
			m := &workResult[S, T, R]{then: then, res: res, w: w}
			m.self = m
			if err := w.deliver(a, envelope{msg: &m.self}); err != nil {
				a.refused(then.label, err, res)
			}
		}()
		res.Value, res.Err = fn(w.ctx)
		normal = true
	}()
	return nil
}

// workSet is what an actor runs with Go: the context its functions get,
// cancelled when the actor is killed or finalizes (it is the lifetime of the
// work, not of a call, hence kept here), and how many run. The goroutines are
// the functions', each ending when its fn returns and its result is queued.
type workSet struct {
	ctx     context.Context
	cancel  context.CancelFunc // at the actor's kill (see take), restart or finalize
	running atomic.Int32
	ended   error // set (under the cell's mu) when a restart ended its incarnation
}

// workResult is a result of Go as a message: then's oneway, tagged with
// the work of the incarnation that started it, so that a restart's fresh
// state is never handed it.
type workResult[S, T, R any] struct {
	self message
	then *Method[S, Result[T], R]
	res  Result[T]
	w    *workSet
}

func (m *workResult[S, T, R]) key() mailbox.Key { return m.then.k }
func (m *workResult[S, T, R]) name() string     { return m.then.label }
func (m *workResult[S, T, R]) live() bool       { return true }

// run hands the result to then, unless a restart has ended the
// incarnation that started the work: it is then a dead letter.
func (m *workResult[S, T, R]) run(x *Ctx, _ payload) {
	if err := x.c.workEnded(m.w); err != nil {
		x.c.deadLetter(engine.ReasonStopped, m.then.label, err, m.res)
		return
	}
	m.then.handle(x, m.res)
}

func (m *workResult[S, T, R]) fail(to *cell, _ payload, err error, why uint8) {
	to.deadLetter(why, m.then.label, err, m.res)
}

// workEnded returns ErrStopped, wrapping the failure that caused it, if a
// restart has ended the incarnation whose work w is; else nil.
func (c *cell) workEnded(w *workSet) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return w.ended
}

// endWork ends the work of the incarnation a restart replaces, because of
// cause: its functions' ctx is cancelled, the fresh state's Go starts a
// new set, and results of the old one are dead letters (see workResult).
// On the actor's turn.
func (c *cell) endWork(cause error) {
	c.mu.Lock()
	var w *workSet
	if c.ext != nil {
		w, c.ext.work = c.ext.work, nil
	}
	if w != nil {
		w.ended = stoppedBy(cause)
	}
	c.mu.Unlock()
	if w != nil {
		w.cancel()
	}
}

// workSet returns the actor's work, making it on first use. On the
// actor's turn only. Under mu, as a stop's take: a kill or finalize whose
// status change this read did not see takes the cancel stored here (take
// hands it over on a kill and at finalize, so nothing else registers it).
func (c *cell) workSet() (*workSet, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.status.Load() != statusRunning {
		return nil, ErrStopped
	}
	e := c.extLocked()
	if e.work == nil {
		ctx, cancel := context.WithCancel(context.Background())
		e.work = &workSet{ctx: ctx, cancel: cancel}
	}
	return e.work, nil
}

// deliver queues a result, on the work's goroutine. It does not ask
// whether the actor is running, as a Cast does: a result that arrives
// during a graceful stop still runs; once the actor has finalized its
// mailbox is closed: deliver returns the refusal, and the caller reports
// the result as a dead letter. A refusal once the actor is killed or
// finalizing is ErrStopped (ReasonStopped), whatever the mailbox said;
// once a restart ended the work's incarnation, ErrStopped wrapping the
// restart's cause, as for a result queued before it.
func (w *workSet) deliver(c *cell, e envelope) error {
	sched, err := c.mb.TryPush(e)
	if errors.Is(err, mailbox.ErrFull) && c.mb.Blocks() {
		sched, err = c.pushWait(w.ctx, e)
	}
	if err != nil {
		if ended := c.workEnded(w); ended != nil {
			// A restart ended the work's incarnation (and cancelled the
			// wait for room): refused as its queued results are (see
			// workResult.run).
			return ended
		}
		if c.status.Load() >= statusKilling || w.ctx.Err() != nil {
			// Refused by the stop, not by a full mailbox: a kill or
			// the finalize cancelled the wait for room (context
			// canceled), or the killed actor's mailbox is full of
			// calls it is failing.
			return c.stopErr()
		}
		return pushErr(err)
	}
	if sched {
		c.schedule()
	}
	return nil
}
