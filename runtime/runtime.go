package runtime

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/engine"
	"github.com/troupe-go/troupe/scheduler"
	"github.com/troupe-go/troupe/timer"
)

// Runtime hosts actors. Create it with New; pass it to actor.Spawn. Safe for
// concurrent use.
//
// Its stop is one sequence, run once on a goroutine the runtime owns and
// started by the first Shutdown or Close: stop every actor gracefully
// (newest first, children before parents) until forced, then kill what is
// left and wait for it (bounded by the call timeout), then stop the timer
// wheel and drain the scheduler. Shutdown and Close only start it,
// force it, and wait for it, each bounded by its own terms: like
// net/http.Server, a second Shutdown does not wait for the first.
type Runtime struct {
	sys         *engine.System
	sched       *scheduler.Scheduler
	wheel       *timer.Wheel
	names       *registry
	spawning    spawning // LookupOrSpawn's spawns in progress, by name
	sink        sink
	reports     reporter // reports the wheel's and the loops' panics off their goroutines
	callTimeout time.Duration

	begin  sync.Once          // starts the stop sequence
	forced context.Context    // done once the stop is forced
	force  context.CancelFunc // forces the stop: kill what is left
	done   chan struct{}      // closed when the stop sequence has finished
	err    error              // the sequence's result; read after done
}

var _ actor.Spawner = (*Runtime)(nil)

// New validates opts and returns a runtime. It starts the worker pool's two
// housekeeping goroutines; workers and the timer driver start on demand.
func New(opts ...Option) (*Runtime, error) {
	c := defaults()
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: nil option", ErrInvalidOption)
		}
		o.apply(&c)
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	rt := &Runtime{names: newRegistry(), done: make(chan struct{}), callTimeout: c.callTimeout}
	rt.sink = sink{hook: c.hook, errHook: c.errHook, logger: c.logger, rate: int64(c.logRate), start: time.Now()}
	rt.reports = reporter{report: rt.sink.report, write: rt.sink.write}
	// A callback's panic (a bug of troupe's) is reported off the wheel's
	// goroutine: the error hook is user code, and may block. It gets an
	// *actor.PanicError, as WithErrorHook says.
	wheel, err := timer.New(timer.WithTick(c.tick), timer.WithPanicHandler(func(pe *timer.PanicError) {
		rt.reports.put(&actor.PanicError{Method: "timer callback", Value: pe.Value, Stack: pe.Stack})
	}))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidOption, err)
	}
	rt.wheel = wheel
	sched, err := scheduler.New(scheduler.WithThroughput(c.throughput), scheduler.WithPoolSize(c.poolSize),
		scheduler.WithPanicHandler(rt.reports.loopPanic))
	if err != nil {
		wheel.Stop() // no timer was started: no driver to wait for
		return nil, fmt.Errorf("%w: %w", ErrInvalidOption, err)
	}
	rt.sched = sched
	rt.sys, err = engine.New(engine.Config{
		Scheduler:   sched,
		Wheel:       wheel,
		CallTimeout: c.callTimeout,
		Names:       rt.names,
		DeadLetter:  rt.sink.deliver,
	})
	if err != nil {
		sched.Close()
		wheel.Stop() // no timer was started: no driver to wait for
		return nil, fmt.Errorf("%w: %w", ErrInvalidOption, err)
	}
	rt.forced, rt.force = context.WithCancel(context.Background())
	return rt, nil
}

// Engine makes a *Runtime an actor.Spawner. It is sealed: only troupe's
// own packages can call it. A nil or zero *Runtime (not made by New)
// returns nil (and Spawn then fails with actor.ErrNilRuntime).
func (rt *Runtime) Engine(engine.Seal) *engine.System {
	if rt == nil {
		return nil
	}
	return rt.sys
}

// made reports whether rt was made by New: every method of a nil or zero
// *Runtime returns actor.ErrNilRuntime (DeadLetters: zero counts).
func (rt *Runtime) made() bool { return rt != nil && rt.sys != nil }

// Shutdown stops the runtime gracefully and waits: it refuses new actors,
// stops every actor (each finishes what is queued; children before
// parents, newest first; timers and restart backoffs are cancelled at
// once), then stops the timer wheel and drains the pool. It returns nil
// once every goroutine of the runtime has exited.
//
// If ctx ends first, the stop is forced, as by Close, and Shutdown returns
// at once a *actor.StopError naming the actors that had not stopped
// (matching ctx's error) — or ctx's error if only the runtime's own
// goroutines were left. Call Close to wait for the forced stop to finish.
//
// Safe to call many times and concurrently with Close: each caller waits
// for the one stop sequence, bounded by its own ctx. From a handler, pass
// a ctx that ends (or call Close): the stop waits for that handler's
// actor, which waits for Shutdown, so with a ctx that never ends neither
// returns until something else forces the stop. A nil ctx returns
// actor.ErrNilContext and stops nothing; a nil or zero *Runtime (not made
// by New), actor.ErrNilRuntime.
func (rt *Runtime) Shutdown(ctx context.Context) error {
	if !rt.made() {
		return actor.ErrNilRuntime
	}
	if ctx == nil {
		return actor.ErrNilContext
	}
	rt.begin.Do(rt.startStop)
	select {
	case <-rt.done:
		return rt.err
	case <-ctx.Done():
	}
	select {
	case <-rt.done: // finished too (select chose at random): nothing to force
		return rt.err
	default:
	}
	late := rt.sys.Running()
	rt.force()
	if len(late) == 0 {
		return ctx.Err()
	}
	return &actor.StopError{Actors: late, Err: ctx.Err()}
}

// Close stops the runtime now and waits: every actor is killed (the running
// handlers' Contexts are cancelled; every queued call fails with
// actor.ErrStopped), then Close waits for running handlers to return,
// bounded by the call timeout (WithCallTimeout), and for every goroutine
// of the runtime to exit. It returns nil, or a *actor.StopError naming the
// actors whose handlers (or actor.Go functions, or, for an actor whose
// Spawn was refused after a Lookup found it, the dead-letter hook called
// for the calls it had got) had not returned by then:
// their goroutines are the only ones left, and exit as those return. A
// sync caller still waiting on such a handler without a deadline of its
// own (on the call timeout) gets actor.ErrStopped when Close stops the
// timer wheel, if its timeout has not fired by then. An error hook
// (WithErrorHook) still running, by then, the report of a panic that
// escaped the runtime's own goroutines is given up on the same way: Close then returns an error matching
// context.DeadlineExceeded (joined with the *actor.StopError, if any),
// and the hook's goroutine exits as the hook returns.
//
// Close forces a Shutdown under way (which then returns), and after a
// Shutdown that timed out it finishes the job. Safe to call many times;
// every call returns the same result. A nil or zero *Runtime (not made by
// New) returns actor.ErrNilRuntime.
func (rt *Runtime) Close() error {
	if !rt.made() {
		return actor.ErrNilRuntime
	}
	rt.begin.Do(rt.startStop)
	rt.force()
	<-rt.done
	return rt.err
}

// startStop starts the stop sequence on a goroutine the runtime owns; it
// ends in bounded time once forced, and closes done.
func (rt *Runtime) startStop() {
	go func() {
		defer close(rt.done)
		rt.err = rt.stop()
	}()
}

// stop is the stop sequence; see Runtime.
func (rt *Runtime) stop() error {
	g := grace{d: rt.callTimeout}
	defer g.end()
	var err error
	if late := rt.sys.Close(rt.forced); late != nil {
		// Forced: what was left is being killed. Give running handlers
		// the call timeout to see their cancelled Context and return.
		ctx := g.ctx()
		late = rt.sys.Wait(ctx)
		if late == nil {
			// Every actor has stopped; what may be left is counted
			// work, some of it on turns (the end of an actor whose
			// Spawn was refused, in a dead-letter hook): wait for it
			// before the drain, which would wait for such a turn
			// unbounded.
			late = rt.sys.WaitWork(ctx)
		}
		rt.stopWheel()
		if late != nil {
			_ = rt.sched.Shutdown(ctx) // returns at once: ctx is done
		} else {
			// Every actor has stopped: no turn is left to run, so the
			// drain ends on its own, as in the graceful stop. Waiting for
			// it unbounded keeps Close's result to what its doc allows
			// (nil: nothing of ours is left); the bounded Shutdown(ctx)
			// returned a bare ctx error when the actors stopped just as
			// the grace period ended.
			rt.sched.Close()
		}
		// Go's functions that would not return are named as the actors
		// whose handlers would not return are.
		if late = mergeNames(late, rt.sys.WaitWork(ctx)); late != nil {
			err = &actor.StopError{Actors: late, Err: ctx.Err()}
		}
		err = joinErr(err, rt.waitReports(&g))
	} else {
		// Every actor has stopped. The counted work is waited for before
		// the drain: some of it runs on turns (the end of an actor whose
		// Spawn was refused, in a dead-letter hook), which the drain
		// would wait for unbounded.
		err = rt.waitWork(&g)
		rt.stopWheel()
		if err != nil {
			_ = rt.sched.Shutdown(g.ctx()) // returns at once: the grace is over
		} else {
			rt.sched.Close() // no turn is left to run
		}
		err = joinErr(err, rt.waitReports(&g))
	}
	return err
}

// grace bounds what is left of a forced stop: the call timeout, from the
// first time it is asked for (on the stop's goroutine only).
type grace struct {
	d      time.Duration
	c      context.Context
	cancel context.CancelFunc
}

func (g *grace) ctx() context.Context {
	if g.c == nil {
		g.c, g.cancel = context.WithTimeout(context.Background(), g.d)
	}
	return g.c
}

func (g *grace) end() {
	if g.cancel != nil {
		g.cancel()
	}
}

// waitWork waits, once every actor has stopped gracefully, for the
// goroutines of actor.Go (their functions' ctxs ended with their actors,
// and each hands its result over, a dead letter by now, and exits) and
// for the ends of actors whose Spawn was refused after they had joined
// (their calls fail on a turn of their own, as dead letters). If the
// stop is forced meanwhile they get the call timeout, as running handlers
// do; past it, the actors whose functions would not return are named.
func (rt *Runtime) waitWork(g *grace) error {
	if rt.sys.WaitWork(rt.forced) == nil {
		return nil
	}
	ctx := g.ctx()
	if late := rt.sys.WaitWork(ctx); late != nil {
		return &actor.StopError{Actors: late, Err: ctx.Err()}
	}
	return nil
}

// waitReports waits, once the wheel has stopped, for the errors its
// goroutine handed to the reporter to be reported (the error hook is user
// code and may block): until the stop is forced, then for what is left of
// the grace. Past it, the rest is written out as the hook returns, and
// the stop returns an error matching the grace's.
func (rt *Runtime) waitReports(g *grace) error {
	if rt.reports.wait(rt.forced) {
		return nil
	}
	ctx := g.ctx()
	if rt.reports.wait(ctx) {
		return nil
	}
	rt.reports.abandon()
	return fmt.Errorf("troupe: the error hook did not return from a report: %w", ctx.Err())
}

// joinErr joins the stop's errors: a, b, or both.
func joinErr(a, b error) error {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	return errors.Join(a, b)
}

// stopWheel stops the timer wheel and waits for its driver to exit, which
// it does as soon as the callback in progress, if any, returns: before the
// scheduler closes, no callback runs user code, so each is short (a
// callback's panic goes to the error hook through rt.reports, off the
// driver; the stop waits for it after the scheduler). (A tick,
// an idle check, a backoff's end or a First group's stagger only offers a
// message to a mailbox, or hands it to the actor's system lane, and
// schedules a turn: the dead letters of a full mailbox, and the hooks of
// an actor's stop, run on that turn. Once the scheduler has closed, a
// turn that cannot be scheduled runs where it was asked for: on the
// driver, if the wheel still ran.) A sync caller still waiting on a
// handler Close gave up on, on the call timeout, gets actor.ErrStopped
// here (the wheel drops its deadline).
func (rt *Runtime) stopWheel() {
	rt.wheel.Stop()
	<-rt.wheel.Done()
}

// mergeNames returns the names of a and b, sorted, each once; nil if
// there are none.
func mergeNames(a, b []string) []string {
	if len(a)+len(b) == 0 {
		return nil
	}
	all := slices.Concat(a, b)
	slices.Sort(all)
	return slices.Compact(all)
}

// LookupOrSpawn returns the running actor named name or, if there is none,
// spawns one with actor.SpawnFunc(rt, factory, opts..., actor.WithName(name))
// and returns it: get-or-create by name, the session-per-user pattern.
// Race-free: of concurrent callers for one name, one spawns and all get
// its ref; factory runs only for the actor that is spawned (the others
// wait for that spawn, factory included, then look the name up; that wait
// is bounded as the one for a stopping actor below, and fails the same
// way: a factory that looks its own name up gets that timeout). created
// says whether this call spawned it. The one exception to "factory runs
// once": a plain Spawn that takes the name between this call's lookup and
// its spawn leaves the state factory made unused; LookupOrSpawn then
// returns that actor. A name whose actor is stopping is still taken (see
// Names in the package doc): LookupOrSpawn waits for that actor's Done,
// then spawns, so that two actors of one name never run at once; it waits
// until ctx's deadline, or at most the call timeout (WithCallTimeout) if
// ctx has none, then fails with an error wrapping actor.ErrTimeout (an
// error wrapping ctx's cause if ctx is cancelled first). From a handler,
// pass its Context (or a ctx derived from it), as to a call: a wait for
// a stop that waits for that handler — the name is its own actor's or an
// ancestor's (a handler or the Stopping hook of a stopping actor looking
// up its own name, say), or, as for Ref.Stop, an actor's that waits for
// it in a sync call — fails at once with an error wrapping
// actor.ErrCallCycle instead of waiting out the deadline. Errors: those
// of Lookup (but ErrNotFound) and of actor.SpawnFunc, actor.ErrNilContext,
// that timeout, actor.ErrCallCycle; a factory that panics panics here, and
// the next caller tries again. O(1) when the actor exists.
func LookupOrSpawn[S any](ctx context.Context, rt *Runtime, name string, factory func() S, opts ...actor.Option) (ref *actor.Ref[S], created bool, err error) {
	if ctx == nil {
		return nil, false, actor.ErrNilContext
	}
	var until time.Time // the waits' end without a ctx deadline: the call timeout from the first
	for {
		ref, err = Lookup[S](rt, name)
		if !errors.Is(err, ErrNotFound) {
			return ref, false, err
		}
		if old, ok := rt.names.stopping(name); ok {
			until = rt.waitBound(ctx, until)
			err := waitName(ctx, name, "stopping", until, func(ctx context.Context) error {
				return old.WaitDone(engine.Seal{}, ctx)
			})
			if err != nil {
				return nil, false, err
			}
			continue // its end freed the name: look again
		}
		done, first := rt.spawning.begin(name)
		if !first {
			// Another caller is spawning it (its factory may be slow, or
			// be this very caller's): wait for that spawn as for a
			// stopping actor, then look again.
			until = rt.waitBound(ctx, until)
			err := waitName(ctx, name, "being spawned", until, func(ctx context.Context) error {
				select {
				case <-done:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			})
			if err != nil {
				return nil, false, err
			}
			continue
		}
		ref, created, err = spawnNamed(rt, name, factory, opts, done)
		if !errors.Is(err, actor.ErrNameTaken) {
			return ref, created, err
		}
		// A plain Spawn took the name first: look it up again.
	}
}

// waitBound returns until, the end of LookupOrSpawn's waits for another
// holder of the name when ctx has no deadline: the call timeout from the
// first wait (zero while ctx has a deadline, which bounds them).
func (rt *Runtime) waitBound(ctx context.Context, until time.Time) time.Time {
	if _, has := ctx.Deadline(); !has && until.IsZero() {
		return time.Now().Add(rt.callTimeout)
	}
	return until
}

// waitName runs wait, LookupOrSpawn's wait for the actor named name to
// end its state ("stopping", "being spawned" by another caller), bounded
// by ctx and, if until is not zero, until then.
func waitName(ctx context.Context, name, state string, until time.Time, wait func(context.Context) error) error {
	if !until.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, until)
		defer cancel()
	}
	err := wait(ctx)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, actor.ErrCallCycle):
		return fmt.Errorf("runtime: LookupOrSpawn %q: %w", name, err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: the actor named %q is still %s", actor.ErrTimeout, name, state)
	}
	return fmt.Errorf("runtime: LookupOrSpawn %q: the actor of the name is still %s: %w", name, state, context.Cause(ctx))
}

// spawnNamed is LookupOrSpawn's spawn, by the caller that began the
// name's spawn (done): it looks the name up once more (a spawn may have
// ended between the caller's lookup and its begin) and spawns if it is
// still free.
func spawnNamed[S any](rt *Runtime, name string, factory func() S, opts []actor.Option, done chan struct{}) (*actor.Ref[S], bool, error) {
	defer rt.spawning.end(name, done)
	ref, err := Lookup[S](rt, name)
	if !errors.Is(err, ErrNotFound) {
		return ref, false, err
	}
	ref, err = actor.SpawnFunc(rt, factory, append(opts[:len(opts):len(opts)], actor.WithName(name))...)
	return ref, err == nil, err
}

// spawning is LookupOrSpawn's single flight: the names being spawned, each
// with a channel closed when its spawn has ended (spawned, failed or
// panicked).
type spawning struct {
	mu sync.Mutex
	m  map[string]chan struct{}
}

// begin returns the channel of name's spawn in progress, or starts one
// (first: the caller spawns, then calls end).
func (s *spawning) begin(name string) (done chan struct{}, first bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if done, ok := s.m[name]; ok {
		return done, false
	}
	if s.m == nil {
		s.m = make(map[string]chan struct{})
	}
	done = make(chan struct{})
	s.m[name] = done
	return done, true
}

// end ends name's spawn: the callers waiting for it look again.
func (s *spawning) end(name string, done chan struct{}) {
	s.mu.Lock()
	delete(s.m, name)
	s.mu.Unlock()
	close(done)
}

// Lookup returns the running actor named name, typed. Errors:
// actor.ErrNilRuntime (a nil or zero *Runtime), actor.ErrInvalidName,
// ErrNotFound (no such actor, or it is stopping or stopped), ErrWrongType.
// O(1).
func Lookup[S any](rt *Runtime, name string) (*actor.Ref[S], error) {
	if !rt.made() {
		return nil, actor.ErrNilRuntime
	}
	if err := engine.ValidName(name); err != nil {
		return nil, err
	}
	a, ok := rt.names.lookup(name)
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	r, ok := a.(*actor.Ref[S])
	if !ok {
		return nil, fmt.Errorf("%w: %q is %T", ErrWrongType, name, a)
	}
	return r, nil
}
