package actor

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/troupe-go/troupe/internal/engine"
	"github.com/troupe-go/troupe/scheduler"
)

// maxBatch is the most items a reader takes from the journal under one
// lock: the per-reader buffer is at most this long.
const maxBatch = 64

// errEnd marks a clean end inside fetch; never returned.
var errEnd = errors.New("actor: end of stream")

// Follow is one reader of a stream, made by [Stream.Open], [Stream.Follow]
// or [Out.Follow]: harp's follow (All) and stream (Collected). It is
// attached to the stream from the moment it is made — the stream keeps
// its items for it within the journal's bounds, and its producer's
// Context stays alive — until it is detached: by Close, by a break out of
// All, by the end of its ctx, by a read timeout, or once it has read the
// stream's end. Once its ctx has ended, a read gets that end, not items
// (All: from its next batch on, and no item of its batch begins once the
// ctx's watch has detached it). A reader that falls behind the journal (its reads get a
// [*TruncatedError]) is half detached: it holds no position (the journal
// and SendWait no longer keep anything for it), but it keeps the
// producer's Context alive until Close or the end of its ctx, so that a
// resume with Since(Oldest) made before closing it never leaves the
// stream without a reader.
//
// A Follow costs no goroutine: a waiting reader parks on a channel the
// journal signals. Its memory is a small struct plus a buffer of up to 64
// items. All and Collected are for one goroutine at a time (another gets
// ErrFollowBusy); ID and Close are safe from any goroutine.
type Follow[E any] struct {
	j       *journal[E]
	ctx     context.Context
	timeout time.Duration
	sched   *scheduler.Scheduler // set when ctx is a handler's: its waits lend the worker
	busy    atomic.Bool
	halted  atomic.Bool   // detached by Close, its ctx or its read timeout: All yields no more of its batch
	wake    chan struct{} // capacity 1; signalled by the journal

	// Guarded by j.mu.
	next    uint64      // the sequence number of the next item to read
	idx     int         // in j.readers while attached, in j.cut while cut
	waiting bool        // in j.waiters
	done    bool        // detached, or ended by truncation (then cut)
	cut     bool        // ended by truncation and not yet closed: in j.cut, at idx
	final   error       // what a read gets once done; nil after a clean end
	unwatch func() bool // stops the ctx watch

	// Owned by the reading goroutine (busy).
	buf []Item[E]
	tm  *time.Timer
}

// newFollow attaches a reader to j at the position cfg asks for. It does
// not watch ctx yet: see watch.
//
// It holds the producers' lock too, so that no Send is halfway: SendWait
// checks for room against low and appends under that lock alone, and a
// reader placed and counted in low between the two would lose its first
// item to an append that never saw it (a *TruncatedError on its first
// read, in spite of the back-pressure). Order: the producers' lock, then
// mu, as at a gate. Cost: one short critical section under both, once
// per reader.
func (j *journal[E]) newFollow(ctx context.Context, cfg followConfig) *Follow[E] {
	f := &Follow[E]{j: j, ctx: ctx, timeout: cfg.timeout, wake: make(chan struct{}, 1)}
	if caller := callerOf(ctx); caller != nil && caller.owner == nil {
		f.sched = caller.sys.Scheduler
	}
	j.lockP()
	defer j.unlockP()
	j.mu.Lock()
	f.placeLocked(cfg)
	if f.next < j.low.Load() {
		j.low.Store(f.next)
	}
	if j.room != nil && f.next < j.roomAt {
		j.behind++
	}
	f.idx = len(j.readers)
	j.readers = append(j.readers, f)
	j.hadReader = true
	j.mu.Unlock()
	return f
}

// placeLocked sets the reader's position as cfg asks, in the journal as
// it is now. Open places its reader again once the handler's turn has
// run: "now" is when Open returns.
func (f *Follow[E]) placeLocked(cfg followConfig) {
	t := f.j.tailNow()
	h := f.j.headOf(t) // past t if Sends landed since t was loaded (Open's placing has no producers' lock)
	switch {
	case cfg.hasSince:
		f.next = cfg.since
	case cfg.hasRecent:
		f.next = max(t-min(uint64(cfg.recent), t), h)
	default:
		f.next = h
	}
}

// watch detaches f when its ctx ends, even if nobody reads it: a
// context.AfterFunc, which costs a goroutine only once ctx is done. A
// reader of a closed journal is watched too: it never waits, but the end
// of its ctx ends its reads and takes it off the journal's readers (an
// Out kept for later readers keeps no reader its ctx gave up).
func (f *Follow[E]) watch() {
	if f.ctx.Done() == nil {
		return
	}
	stop := context.AfterFunc(f.ctx, func() { f.detach(followCtxErr(f.ctx, f.j.label)) })
	j := f.j
	j.mu.Lock()
	if f.done {
		j.mu.Unlock()
		stop()
		return
	}
	f.unwatch = stop
	j.mu.Unlock()
}

// signal wakes f's reader, if it waits (never blocks).
func (f *Follow[E]) signal() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// ID is the stream's id, unique in the process: pass it to [Stream.Follow]
// to attach another reader. It does not block; a nil Follow's is 0.
func (f *Follow[E]) ID() uint64 {
	if f == nil || f.j == nil {
		return 0
	}
	return f.j.id
}

// FollowState reports where f stands in its stream: next, the sequence
// number of the next item it reads; tail, that of the next item the
// stream will hold; ended, whether the stream has ended (its tail is then
// final). One consistent look, under the journal's lock; a nil Follow's
// is (0, 0, true). Sealed: for troupe's remote package, whose serving
// node tells a remote reader what its stream holds now (its Collected).
func FollowState[E any](_ engine.Seal, f *Follow[E]) (next, tail uint64, ended bool) {
	if f == nil || f.j == nil {
		return 0, 0, true
	}
	j := f.j
	j.mu.Lock()
	defer j.mu.Unlock()
	ended = j.closed.Load() // before tail: a closed journal's tail is final
	return f.next, j.tailNow(), ended
}

// Follow attaches another reader to f's stream, placed by opts as for
// [Stream.Follow], whether f is attached, truncated, closed or ended, and
// whether or not the stream has ended: unlike Stream.Follow, which finds
// only open streams (ErrNoStream once one has ended), it reaches the
// stream through f, as [Out.Follow] does through the Out, so the new
// reader gets what the journal keeps and then the end. Resume a reader
// that got a [*TruncatedError] with f.Follow(ctx, Since(te.Oldest)), then
// Close f: a stream that ended meanwhile still gives its end. The reader
// lives until ctx ends or it is detached (see [Follow]); it does not
// block. Errors: ErrNilStream (a nil Follow), ErrNilContext,
// ErrInvalidOption, ErrNegativeDuration. Safe for concurrent use; a few
// allocations.
func (f *Follow[E]) Follow(ctx context.Context, opts ...FollowOption) (*Follow[E], error) {
	if f == nil || f.j == nil {
		return nil, ErrNilStream
	}
	if ctx == nil {
		return nil, ErrNilContext
	}
	cfg, err := followConfigOf(opts)
	if err != nil {
		return nil, err
	}
	g := f.j.newFollow(ctx, cfg)
	g.watch()
	return g, nil
}

// Close detaches the reader: an All in progress yields no item begun
// after Close and ends with (zero, ErrStreamClosed) as its last pair, and later reads get
// ErrStreamClosed (a reader that had already ended keeps its end: a
// truncated one its [*TruncatedError]). If it was the stream's last
// reader — a truncated reader counts until it is closed — the producer's
// [Out.Context] is cancelled. Idempotent, safe from any goroutine, never
// blocks beyond a short critical section; O(1). It returns ErrNilStream
// for a nil Follow, else nil.
func (f *Follow[E]) Close() error {
	if f == nil || f.j == nil {
		return ErrNilStream
	}
	f.detach(ErrStreamClosed)
	return nil
}

// detach takes f off its journal, with why as what its reads get from now
// on. It reports false if f was already detached.
func (f *Follow[E]) detach(why error) bool {
	j := f.j
	f.halted.Store(true)
	j.mu.Lock()
	fx, ok := f.detachLocked(why)
	j.mu.Unlock()
	fx.run(j)
	return ok
}

// detached is what a detach leaves to do once the journal's lock is
// released. The cancel of the producer's Context is not among them: it
// is made under the lock (see cancelIfNoReaderLocked).
type detached struct {
	unwatch func() bool
	report  error // an end error nobody received, for the dead letters
	wake    func()
}

// deadSink is a journal as detached sees it.
type deadSink interface{ dead(err error) }

func (fx detached) run(j deadSink) {
	if fx.unwatch != nil {
		fx.unwatch()
	}
	if fx.wake != nil {
		fx.wake()
	}
	if fx.report != nil {
		j.dead(fx.report)
	}
}

func (f *Follow[E]) detachLocked(why error) (detached, bool) {
	j := f.j
	if f.done {
		if !f.cut {
			return detached{}, false
		}
		f.uncutLocked()
		fx := detached{unwatch: f.unwatch}
		f.unwatch = nil
		j.cancelIfNoReaderLocked()
		return fx, true
	}
	f.leaveLocked(why)
	fx := detached{unwatch: f.unwatch, wake: f.signal}
	f.unwatch = nil
	j.cancelIfNoReaderLocked()
	if j.unseenLocked() {
		fx.report = j.err
	}
	return fx, true
}

// truncateLocked ends f, which fell behind the journal, with te. It
// gives up its position, as a detach does (producers waiting for room
// no longer wait for it), but it stays in j.cut, a reader for the
// last-reader rule, until it is closed or its ctx ends (detachLocked):
// a reader that resumes with Since before closing it never shows the
// producer a moment without a reader. Its ctx stays watched. A reader
// truncated once the journal has ended has nothing left to count for
// (end released those truncated before it): it is detached outright.
func (f *Follow[E]) truncateLocked(te *TruncatedError) detached {
	j := f.j
	f.leaveLocked(te)
	var fx detached
	if j.closed.Load() {
		fx.unwatch, f.unwatch = f.unwatch, nil
	} else {
		f.cut = true
		f.idx = len(j.cut)
		j.cut = append(j.cut, f)
	}
	if j.unseenLocked() {
		fx.report = j.err
	}
	return fx
}

// leaveLocked takes f, attached, off the journal's readers and waiters,
// with why as what its reads get from now on.
func (f *Follow[E]) leaveLocked(why error) {
	j := f.j
	f.done, f.final = true, why
	last := len(j.readers) - 1
	j.readers[f.idx] = j.readers[last]
	j.readers[f.idx].idx = f.idx
	j.readers[last] = nil
	j.readers = j.readers[:last]
	if f.waiting {
		f.waiting = false
		for i, w := range j.waiters {
			if w == f {
				n := len(j.waiters) - 1
				copy(j.waiters[i:], j.waiters[i+1:])
				j.waiters[n] = nil
				j.waiters = j.waiters[:n]
				j.nwait.Store(int32(n))
				break
			}
		}
	}
	j.movedLocked(f.next, ^uint64(0))
}

// uncutLocked takes f, ended by truncation, off j.cut.
func (f *Follow[E]) uncutLocked() {
	j := f.j
	f.cut = false
	last := len(j.cut) - 1
	j.cut[f.idx] = j.cut[last]
	j.cut[f.idx].idx = f.idx
	j.cut[last] = nil
	j.cut = j.cut[:last]
}

// endLocked detaches f after it has taken the journal's last item: its
// reads get the end (errEnd for a clean one) from now on. The caller
// checked j.closed and f.next == j.tail.
func (f *Follow[E]) endLocked() (detached, error) {
	j := f.j
	end := j.err
	if end != nil {
		j.seen = true
	}
	fx, _ := f.detachLocked(end)
	if end == nil {
		end = errEnd
	}
	return fx, end
}
