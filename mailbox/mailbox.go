package mailbox

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
)

// Mailbox is the queue of one consumer (an actor) fed by any number of
// producers: a system lane popped first, a user lane filtered by the admit
// filter, an optional capacity, and the idle/scheduled flag (see the
// package documentation for the protocol). Build one with [New]; the zero
// Mailbox is not usable.
//
// Push, PushSystem, Close, Len, Held, Scheduled and Admitted are safe for
// concurrent use. The consumer's methods (Pop, Idle, Admit, AdmitAll) must
// be called by one goroutine at a time: the one running the consumer's
// turn. A Mailbox runs no goroutines.
type Mailbox[T any] struct {
	// Everything producers write per message lives in *q, a separate
	// allocation: the fields here are read by the consumer on every Pop,
	// and sharing a cache line with the producers' lock and counters
	// would bounce that line between their cores on every message
	// (measured: 1→1 oneway 100 → 65 ns). It also keeps an idle mailbox
	// small: q comes with the first message.
	cfg *Config[T]
	q   atomic.Pointer[queues[T]] // nil until the first Push, PushSystem, Admit or Close

	// sched is the flag: flagIdle or flagScheduled. A producer that moves
	// it from idle to scheduled must schedule the consumer.
	sched atomic.Uint32
	// sysN counts system messages, so the consumer's lock-free fast path
	// can see that one must come first.
	sysN atomic.Int32
	// active mirrors len(q.active): held keys the filter admits.
	active atomic.Int32
	// filtered mirrors q.filter.only for the consumer's fast path.
	filtered bool
	// closed is set by Close; guarded by q's lock (it lives here, on the
	// line producers read anyway, to keep q's first line for the queue).
	closed bool
	// trim is the consumer's record for TrimIdle (trimListed, trimUsed);
	// consumer only.
	trim uint8
}

const (
	flagIdle      = 0
	flagScheduled = 1
)

// entry is a held message with its arrival number: messages are numbered
// only when Pop moves them to a held queue, in the order it reaches them,
// which is their arrival order (the main queue stays 8 bytes a message
// smaller, which is what a consumer reading it from another core pays for).
type entry[T any] struct {
	seq uint64
	msg T
}

// queues holds what a mailbox allocates lazily: the user queue (lane, for
// an unbounded mailbox; main, under the lock, for a bounded one), the lock
// and the rest. Fields after mu are guarded by it; pending and backlog are
// also read without it.
//
// A Push into a bounded mailbox makes two atomic writes (the lock and its
// release), not three: the consumer learns of new messages from pending,
// which only the push into an empty main queue sets, and Len is computed
// under the lock from the queues' lengths rather than kept in a shared
// counter.
//
// Layout: the struct's size is a multiple of 64, so the allocator places
// it on a cache-line boundary, and what one Push touches is one line: the
// lane's producer half (its first 64 bytes) for an unbounded mailbox, mu
// to main's header (the third 64 bytes) for a bounded one. A Push to a
// cold actor misses on one line of it, not two (fan-out over 10,000
// actors is bound by such misses). The second line is the consumer's: the
// lane's consumer half and the held queues.
type queues[T any] struct {
	lane lane[T] // the user queue of an unbounded mailbox
	// The held queues, on the lane's consumer line: the consumer writes
	// them (under mu), producers of a bounded mailbox only to evict.
	held     map[Key]*heldQueue[T] // every key ever held; reused when empty
	nonEmpty []*heldQueue[T]       // the held queues with messages; see active

	mu sync.Mutex
	// pending is 1 while main is not empty (set by the push into an empty
	// main, cleared when Pop empties it), for the consumer's lock-free
	// checks.
	//
	// Two ways to save its write were measured (alternated A/B, five
	// rounds, 2 cores, on unbounded mailboxes, before they had the lane)
	// and not kept. One word for pending and the
	// scheduled flag, so a push into an empty main publishes and claims in
	// one Or: fan-out 5–12% faster, but 1→1 9–17% and 8→1 8–15% slower (the
	// flag's word sits on the Mailbox line the consumer reads at every
	// Pop). A push that claims an idle consumer skipping the write, the
	// consumer's turn starting "cold" under the lock: no change beyond
	// noise (±5%) on any oneway or fan-out row.
	pending atomic.Uint32
	// backlog is main's length, published every backlogEvery pushes and
	// when main empties: a cheap hint for producers (Backlog).
	backlog atomic.Int32
	main    ring[T] // a bounded mailbox's user messages not yet looked at by Pop
	seq     uint64  // arrival number of the last message moved to held

	heldN int // messages in the held queues

	space chan struct{} // closed when room frees or a batch is taken; made by a waiter
	// spaceWanted is set when space is made in an unbounded mailbox, so
	// that the consumer, which reads the lane without the lock, takes it
	// to close space at its next batch.
	spaceWanted atomic.Bool
	sys         ring[T]
	filter      filter
	// active lists the held queues of nonEmpty the filter admits. Each
	// queue knows its index in both.
	active []*heldQueue[T]
	_      [queuesPad]byte
}

// queuesPad rounds queues up to 320 bytes, a size class whose objects
// start on 64-byte boundaries; TestQueuesLayout checks it.
const queuesPad = 8

// backlogEvery is how often (in pushes, a power of two) a push publishes
// main's length.
const backlogEvery = 64

// lock returns the queues, made on first use, with their lock held. Queues
// that Trim retired while we waited for their lock are left for the
// current ones (one more load of m.q per lock).
func (m *Mailbox[T]) lock() *queues[T] { return m.lockFor(false) }

// pushLock is lock for a Push (see lockPush).
func (m *Mailbox[T]) pushLock() *queues[T] { return m.lockFor(true) }

// lockFor is lock, or pushLock for a producer.
func (m *Mailbox[T]) lockFor(producer bool) *queues[T] {
	for {
		q := m.made()
		if producer {
			q.lockPush()
		} else {
			q.mu.Lock()
		}
		if m.q.Load() == q {
			return q
		}
		q.mu.Unlock()
	}
}

// made returns the queues, made if there are none. Lock-free.
func (m *Mailbox[T]) made() *queues[T] {
	for {
		if q := m.q.Load(); q != nil {
			return q
		}
		q := new(queues[T])
		if m.q.CompareAndSwap(nil, q) {
			return q
		}
	}
}

// lockMade is lock for those who only read: it returns nil, and makes
// nothing, if the mailbox has no queues (no message yet, or Trim gave them
// back). Like lock, it never returns queues that Trim retired while it
// waited for their lock: read under that lock, the consumer's fields
// (out) would race with the consumer writing them under the new one's.
func (m *Mailbox[T]) lockMade() *queues[T] {
	for {
		q := m.q.Load()
		if q == nil {
			return nil
		}
		q.mu.Lock()
		if m.q.Load() == q {
			return q
		}
		q.mu.Unlock()
	}
}

// New returns an empty, idle mailbox using cfg, which it keeps: cfg must
// not change afterwards. It returns an error wrapping [ErrInvalidConfig]
// if cfg is nil, has no Key, a negative Capacity or an unknown Policy.
// New allocates only the Mailbox itself (32 bytes on 64-bit platforms):
// queue storage comes with the first message.
func New[T any](cfg *Config[T]) (*Mailbox[T], error) {
	m := new(Mailbox[T])
	if err := m.Init(cfg); err != nil {
		return nil, err
	}
	return m, nil
}

// Init prepares a zero Mailbox in place, for embedding one in a larger
// struct (an actor) without a separate allocation. It validates cfg like
// New and must be called once, before any other method.
func (m *Mailbox[T]) Init(cfg *Config[T]) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	m.cfg = cfg
	return nil
}

// Push adds msg to the user lane. It is safe for concurrent use.
//
// schedule is true iff this Push moved the mailbox from idle to scheduled:
// the caller must then schedule the consumer (exactly once).
//
// On a full mailbox, dead messages are discarded first if [Config.Live] is
// set; then the [Policy] applies: [Reject] returns [ErrFull], [DropOldest]
// evicts the oldest user message, [Block] waits for room until ctx is done
// and returns ctx.Err() ([Mailbox.TryPush] never waits). ctx is
// used only to wait: a Push that need not wait succeeds even if ctx is
// done. After [Mailbox.Close], Push returns [ErrClosed].
//
// Cost: O(1) amortised, no allocation in steady state, lock-free in an
// unbounded mailbox; O(n) on the full path when Live is set, O(h) with
// DropOldest when h keys are held.
func (m *Mailbox[T]) Push(ctx context.Context, msg T) (schedule bool, err error) {
	return m.push(ctx, pushWait, msg)
}

// TryPush is Push without waiting: on a full [Block] mailbox it returns
// [ErrFull] at once, like [Reject]. Safe for concurrent use; O(1) amortised.
func (m *Mailbox[T]) TryPush(msg T) (schedule bool, err error) {
	return m.push(context.Background(), pushTry, msg)
}

// Offer is TryPush that never makes room: on a full mailbox it returns
// [ErrFull] at once, whatever the [Policy], and discards nothing (no dead
// message goes to [Config.OnExpire], none is evicted to [Config.OnDrop]).
// So it runs no callback: a caller that must not run the owner's code
// (a timer's goroutine, say) offers first, and pushes from elsewhere on
// ErrFull. schedule means what it means for [Mailbox.Push]; after
// [Mailbox.Close] Offer returns [ErrClosed]. Safe for concurrent use;
// O(1) amortised.
func (m *Mailbox[T]) Offer(msg T) (schedule bool, err error) {
	return m.push(context.Background(), pushOffer, msg)
}

// How push makes room on a full mailbox.
const (
	pushWait  = iota // per the Policy; Block waits (Push)
	pushTry          // per the Policy; Block never waits (TryPush)
	pushOffer        // never: ErrFull (Offer)
)

func (m *Mailbox[T]) push(ctx context.Context, mode uint8, msg T) (schedule bool, err error) {
	if !m.Bounded() {
		return m.pushLane(msg)
	}
	var evicted T
	var expired []T
	dropped := false
	q := m.pushLock()
	if m.closed {
		q.mu.Unlock()
		return false, ErrClosed
	}
	full := m.fullLocked(q)
	if full {
		if mode == pushOffer {
			q.mu.Unlock()
			return false, ErrFull
		}
		q, evicted, dropped, err = m.makeRoomLocked(q, ctx, mode == pushWait, &expired)
		if err != nil {
			q.mu.Unlock()
			m.expired(expired)
			return false, err
		}
	}
	q.main.push(msg)
	if n := q.main.n; n == 1 {
		q.pending.Store(1)
	} else if n&(backlogEvery-1) == 0 {
		q.backlog.Store(n)
	}
	q.mu.Unlock()
	if full { // the overflow path's hand-offs, off the common path
		m.expired(expired)
		if dropped && m.cfg.OnDrop != nil {
			m.cfg.OnDrop(evicted)
		}
	}
	return m.claim(), nil
}

// pushLane is push for an unbounded mailbox: into the lane, lock-free.
func (m *Mailbox[T]) pushLane(msg T) (schedule bool, err error) {
	for {
		q := m.made()
		t := q.lane.push(msg)
		if t == 0 {
			return m.claim(), nil
		}
		if t&laneRetired == 0 {
			return false, ErrClosed
		}
		// Trim retired these queues: push into the next ones, once Trim
		// has let go of these (it is between two instructions).
		if m.q.Load() == q {
			runtime.Gosched()
		}
	}
}

// expired hands discarded dead messages to OnExpire, without the lock.
func (m *Mailbox[T]) expired(msgs []T) {
	if f := m.cfg.OnExpire; f != nil {
		for _, msg := range msgs {
			f(msg)
		}
	}
}

// PushSystem adds msg to the system lane, which is unbounded, ignores the
// admit filter and is popped before any user message. schedule means what
// it means for [Mailbox.Push]. It returns [ErrClosed] after Close. It never
// blocks (beyond the internal lock) and is safe for concurrent use.
// Cost: O(1) amortised, no allocation in steady state.
func (m *Mailbox[T]) PushSystem(msg T) (schedule bool, err error) {
	q := m.lock()
	if m.closed {
		q.mu.Unlock()
		return false, ErrClosed
	}
	q.sys.push(msg)
	m.sysN.Add(1)
	q.mu.Unlock()
	return m.claim(), nil
}

// Claim moves the flag from idle to scheduled without pushing anything and
// reports whether it did: on true the caller is the consumer until it ends
// a turn with Idle (or Closes the mailbox), exactly as if a Push had
// returned schedule == true. It lets an owner act on an idle mailbox (stop
// it, say) on its own goroutine. Safe for concurrent use; O(1).
func (m *Mailbox[T]) Claim() bool { return m.claim() }

// claim moves the flag from idle to scheduled and reports whether it did.
// It is called after enqueueing. The plain load first keeps producers of a
// busy mailbox from bouncing the flag's cache line with a failing CAS; it
// is safe because Idle stores idle before its re-check of the counters,
// and all these operations are sequentially consistent: a producer that
// still sees scheduled enqueued before the consumer's re-check.
func (m *Mailbox[T]) claim() bool {
	return m.sched.Load() == flagIdle && m.sched.CompareAndSwap(flagIdle, flagScheduled)
}

// Len returns the number of pending user messages, queued and held, dead
// ones included. It is safe for concurrent use; O(1), under the lock.
func (m *Mailbox[T]) Len() int {
	q := m.lockMade()
	if q == nil {
		return 0
	}
	defer q.mu.Unlock()
	return m.lenLocked(q)
}

// Backlog is about how many messages wait for the consumer to take them:
// system messages, and user messages queued since the consumer began its
// current batch (held messages excluded). In an unbounded mailbox a batch
// is what was queued when the consumer had read the previous one
// through; in a bounded one, Backlog counts the queued user messages as
// of the last multiple of 64 pushes (it may lag by up to 63). Without the
// lock: a cheap hint for producers of how far ahead of the consumer they
// are. O(1), a few atomic loads.
func (m *Mailbox[T]) Backlog() int {
	q := m.q.Load()
	if q == nil {
		return 0
	}
	if !m.Bounded() {
		return q.lane.backlog() + int(m.sysN.Load())
	}
	return int(q.backlog.Load()) + int(m.sysN.Load())
}

// lenLocked is Len for a caller holding q's lock.
func (m *Mailbox[T]) lenLocked(q *queues[T]) int {
	if !m.Bounded() {
		return q.lane.len() + q.heldN
	}
	return int(q.main.n) + q.heldN
}

// Blocks reports whether a Push on a full mailbox waits for room (a
// bounded mailbox with the [Block] policy). O(1).
func (m *Mailbox[T]) Blocks() bool { return m.cfg.Capacity > 0 && m.cfg.Policy == Block }

// Evicts reports whether a Push or TryPush on a full mailbox evicts the
// oldest user message (a bounded mailbox with the [DropOldest] policy).
// O(1).
func (m *Mailbox[T]) Evicts() bool { return m.cfg.Capacity > 0 && m.cfg.Policy == DropOldest }

// Bounded reports whether the mailbox has a capacity, so that its
// Overflow policy applies to a push when it is full. It does not change
// after Init. Safe for concurrent use, O(1).
//
// Inside the package it also says where user messages are queued: an
// unbounded mailbox's are in the lock-free lane; a bounded one keeps them
// under the lock, in main, since a full one must reach every queued
// message from a producer (to purge dead ones, evict the oldest, or wake a
// waiter).
func (m *Mailbox[T]) Bounded() bool { return m.cfg.Capacity > 0 }

// Scheduled reports the flag: true if the consumer is scheduled or
// running, false if it is idle. For tests and debugging: the value may be
// stale by the time it is used. Safe for concurrent use, O(1).
func (m *Mailbox[T]) Scheduled() bool { return m.sched.Load() == flagScheduled }

// yieldTries is how many times a Push that finds the lock held yields
// before it sleeps on it.
const yieldTries = 4

// onYield, if set (by tests, before any Push), is called after each of
// yieldLock's yields.
var onYield func()

// yieldBacklog is the backlog (see Mailbox.Backlog) from which a Push that
// finds the lock held yields before it sleeps: the consumer is behind, and
// producers contend with each other more than with it.
const yieldBacklog = backlogEvery

// behind reports whether the consumer is behind by yieldBacklog messages
// or more (as of the last published backlog). Lock-free.
func (q *queues[T]) behind() bool { return q.backlog.Load() >= yieldBacklog }

// lockPush takes q's lock for a Push: at once if it is free; else, if the
// consumer is behind, with yields first (yieldLock); else by sleeping on
// it. The backlog is read only when the lock is contended.
func (q *queues[T]) lockPush() {
	if q.mu.TryLock() {
		return
	}
	if !q.behind() || !yieldLock(&q.mu) {
		q.mu.Lock()
	}
}

// yieldLock yields the processor and tries to take mu, up to yieldTries
// times, and reports whether it did; the caller, whose own try failed,
// then sleeps on mu with Lock.
//
// It serves bounded mailboxes (unbounded ones push into the lane, without
// the lock); the figures below were measured on unbounded ones, before
// the lane.
//
// Why: with many producers on few cores, sync.Mutex does not spin when
// other goroutines are runnable, so a Push that finds the lock held parks
// at once, and the Unlock that wakes it pays a hand-off: with 64 senders
// on 2 cores the lock's park/wake cycle was most of a message's cost. A
// yield runs another producer instead (whose Push, by then, often finds
// the lock free). Only while the consumer is behind (see behind): with a
// short queue the yields cost 8 senders of values 10–20% (their yielding
// took processor time from the consumer), and a consumer that keeps up
// gains nothing from them. Measured, alternated A/B of five rounds on 2
// cores, medians, ns/msg: oneway 64→1 163 → 91 with pointers, 192 → 134
// with values; 1→1 45 → 40; 8→1 141 → 132, with values 166 → 178; fan-out
// and pool calls unchanged. Call latency with 64 callers of one actor
// and 200 busy goroutines did not change even when every contended Push
// yielded (p50 140 µs, p99 320–390 µs).
// The consumer's lock (Pop, Close) stays a plain Lock: a consumer that
// yielded would only let producers refill the queue it is waiting to take.
// (Unbounded mailboxes push into the lane, without the lock.)
func yieldLock(mu *sync.Mutex) bool {
	for range yieldTries {
		runtime.Gosched()
		if onYield != nil {
			onYield()
		}
		if mu.TryLock() {
			return true
		}
	}
	return false
}
