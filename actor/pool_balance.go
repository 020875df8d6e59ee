package actor

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/troupe-go/troupe/internal/engine"
	"github.com/troupe-go/troupe/mailbox"
)

// sharedQueue is a Balancing pool's one queue. Calls wait in it, in
// arrival order, until a worker takes them; a worker takes one call at a
// time, on its own turn, by running its pull token, a message the queue
// sends it when there is work:
//
//   - submit queues a call and, if a worker is idle (its token neither
//     queued nor running), arms that worker: queues its token (under
//     mu: see armLocked).
//   - The token's run takes the next call and runs it inline, as if it
//     had come through the worker's mailbox; then, if calls still wait,
//     sends itself again (the worker stays armed), else the worker goes
//     back to idle. One call per token run keeps a worker's turn budget,
//     its stop and its restart between calls.
//   - A worker that is stopped or killed fails its queued token: the
//     worker is disarmed and another idle one armed if calls wait. A
//     worker whose call panicked and that restarts stays armed: its token
//     waits out the backoff in its mailbox, so it is given no call
//     meanwhile.
//   - When the last worker leaves (and no replacement joins), or the pool
//     is killed, the calls still waiting fail with ErrStopped. A graceful
//     stop of the pool, or of its owner (the runtime, a parent: see
//     serves), has its workers take what waits before they leave.
//
// Every decision is made under mu, and a worker's token is queued with
// it; the worker's turn is scheduled after mu is released (scheduling may
// finalize a worker whose runtime closed, which re-enters). Pool.Stop
// marks the pool stopping under mu too: a call accepted before has its
// worker's token queued when the stop reaches that worker, and runs.
// So no call is lost: a call queued while every worker is armed is taken
// by one of them, whose after-check sees it under mu.
type sharedQueue struct {
	r       *router
	mu      sync.Mutex // guards the fields below and every member's armed flag
	buf     []envelope // a ring: n calls from head; len is a power of two
	head, n int
	idle    []*member // joined members whose token is neither queued nor running
	joined  []*member // members not yet left

	// test holds this package's tests' hooks (nil otherwise), set before
	// the pool is used concurrently.
	test struct {
		joined func() // in join, once mu is released
		armed  func() // in submit, once mu is released, before the worker armed is woken
	}
}

// pullKey is the pull token's mailbox key: no method has it.
var pullKey = mailbox.Key(nextKey.Add(1))

func (q *sharedQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}

// submit queues e (a routed call or cast) and arms an idle worker.
// caller, the actor making the call from its handler (or nil), is told
// ErrCallCycle if it is the only worker: it would wait for itself, since
// a worker takes no call while it runs one. Errors: ErrPoolStopped,
// ErrPoolFull, ErrCallCycle.
func (q *sharedQueue) submit(e envelope, caller *cell, label string) error {
	q.mu.Lock()
	if q.r.state.Load() != routerRunning || len(q.joined) == 0 {
		q.mu.Unlock()
		return q.r.refusal()
	}
	if caller != nil && len(q.joined) == 1 && q.joined[0].c == caller {
		q.mu.Unlock()
		return errCycleSelf(caller, label)
	}
	var dead []envelope
	if l := int(q.r.limit); l > 0 && q.n >= l*len(q.joined) {
		// Full: calls whose callers gave up make room (they would never
		// run); if none did, refuse.
		dead = q.purgeLocked()
		if q.n >= l*len(q.joined) {
			q.mu.Unlock()
			q.fail(dead, ErrTimeout, engine.ReasonExpired)
			return ErrPoolFull
		}
	}
	q.pushLocked(e)
	m := q.armForLocked(caller)
	q.mu.Unlock()
	if q.test.armed != nil {
		q.test.armed()
	}
	q.fail(dead, ErrTimeout, engine.ReasonExpired)
	q.wake(m)
	return nil
}

// purgeLocked takes the calls no longer live (their callers gave up) out
// of the queue and returns them. O(queued).
func (q *sharedQueue) purgeLocked() []envelope {
	var dead []envelope
	n := q.n
	for range n {
		e := q.popLocked()
		if e.live() {
			q.pushLocked(e)
		} else {
			dead = append(dead, e)
		}
	}
	return dead
}

func (q *sharedQueue) pushLocked(e envelope) {
	if q.n == len(q.buf) {
		buf := make([]envelope, max(16, 2*len(q.buf)))
		for i := range q.n {
			buf[i] = q.buf[(q.head+i)&(len(q.buf)-1)]
		}
		q.buf, q.head = buf, 0
	}
	q.buf[(q.head+q.n)&(len(q.buf)-1)] = e
	q.n++
}

func (q *sharedQueue) popLocked() envelope {
	e := q.buf[q.head]
	q.buf[q.head] = envelope{}
	q.head = (q.head + 1) & (len(q.buf) - 1)
	q.n--
	return e
}

// armLocked arms an idle member, if calls wait and one is idle: it
// queues that member's token, under mu, and returns the member if the
// caller took its scheduled flag and must schedule its turn (after
// releasing mu: see wake). A member whose mailbox is closed (it
// finalized) is passed over: it is leaving, not idle. The token is
// queued under mu, not after, so that no worker is armed with its
// mailbox still empty: a graceful stop reaching it then would stop it at
// once (an idle actor with nothing queued), and the call it was armed
// for would wait for a worker that never comes. A worker's mailbox is
// unbounded (see spawn): the push calls back nothing.
func (q *sharedQueue) armLocked() *member { return q.armForLocked(nil) }

// armForLocked is armLocked passing over caller (nil: none), a worker
// that submitted from a handler run outside the queue (a direct call, a
// timer, a BroadcastPool) and waits: its token would queue behind that
// wait, and the call it was armed for would wait for it while other
// workers idle. It stays idle, for the next call. Under mu.
func (q *sharedQueue) armForLocked(caller *cell) *member {
	for q.n > 0 {
		i := len(q.idle) - 1
		for i >= 0 && (q.idle[i].c == caller || !q.idle[i].takes()) {
			i--
		}
		if i < 0 {
			return nil
		}
		m := q.idle[i]
		q.idle = slices.Delete(q.idle, i, i+1)
		sched, err := m.c.mb.TryPush(envelope{msg: &m.pull.self})
		if err != nil {
			continue
		}
		m.armed = true
		if sched {
			return m
		}
		return nil
	}
	return nil
}

// wake schedules the turn of m, armed by armLocked, if not nil. Not under
// mu: if the scheduler is closed, scheduling finalizes m here, which
// fails its token and re-enters the queue (dropped, then Pool.gone).
func (q *sharedQueue) wake(m *member) {
	if m != nil {
		m.c.schedule()
	}
}

// stopping marks the router stopping gracefully (Pool.Stop), under mu: a
// call is accepted before it, with its worker's token queued (see
// armLocked), and runs; or refused after it, with ErrPoolStopped.
func (q *sharedQueue) stopping() {
	q.mu.Lock()
	q.stopLocked()
	next := q.armLocked()
	q.mu.Unlock()
	q.wake(next)
}

// stopLocked marks the router stopping gracefully, if it runs, and puts
// back on the idle list the members that stopped by themselves while it
// ran and are still alive (stopping: waiting for their children, say):
// they took no more calls then (see serves), to be replaced, but no
// replacement is made once the pool stops (nor once its owner does: see
// Pool.gone), and they serve a stopping pool, so that the calls accepted
// before run. The caller arms one (armLocked) if calls wait. Under mu.
func (q *sharedQueue) stopLocked() {
	if !q.r.state.CompareAndSwap(routerRunning, routerStopping) {
		return
	}
	for _, o := range q.joined {
		if !o.armed && !o.left.Load() && o.c.status.Load() == statusStopping && !slices.Contains(q.idle, o) {
			q.idle = append(q.idle, o)
		}
	}
}

// sendToken queues m's token. Unlike push it ignores the worker's status:
// a worker stopping gracefully takes calls until the queue is empty. It
// fails only once the mailbox is closed.
func sendToken(m *member) error {
	sched, err := m.c.mb.TryPush(envelope{msg: &m.pull.self})
	if err != nil {
		return err
	}
	if sched {
		m.c.schedule()
	}
	return nil
}

// join adds m to the workers; it is armed at once if calls wait. A
// member that has left already (it stopped: see Pool.gone, whose leave
// then found nothing to remove) is not added.
func (q *sharedQueue) join(m *member) {
	q.mu.Lock()
	if m.left.Load() {
		q.mu.Unlock()
		return
	}
	q.joined = append(q.joined, m)
	q.idle = append(q.idle, m)
	next := q.armLocked()
	q.mu.Unlock()
	if q.test.joined != nil {
		q.test.joined()
	}
	q.wake(next)
}

// leave removes m from the workers (shrunk or stopped). If it was the
// last, the calls still waiting fail with ErrStopped.
func (q *sharedQueue) leave(m *member) {
	q.mu.Lock()
	i := slices.Index(q.joined, m)
	if i < 0 {
		q.mu.Unlock()
		return
	}
	q.joined = slices.Delete(q.joined, i, i+1)
	if j := slices.Index(q.idle, m); j >= 0 {
		q.idle = slices.Delete(q.idle, j, j+1)
	}
	var dead []envelope
	if len(q.joined) == 0 {
		dead = q.drainLocked()
	}
	q.mu.Unlock()
	q.fail(dead, ErrStopped, engine.ReasonStopped)
}

// failAll fails every waiting call with err (Kill).
func (q *sharedQueue) failAll(err error) {
	q.mu.Lock()
	dead := q.drainLocked()
	q.mu.Unlock()
	q.fail(dead, err, engine.ReasonStopped)
}

func (q *sharedQueue) drainLocked() []envelope {
	dead := make([]envelope, 0, q.n)
	for q.n > 0 {
		dead = append(dead, q.popLocked())
	}
	return dead
}

func (q *sharedQueue) fail(dead []envelope, err error, why uint8) {
	for _, e := range dead {
		e.fail(q.r.home, err, why)
	}
}

// stranded reports whether calls wait that no worker but m, which has
// stopped, would take: m is the last member not yet left.
func (q *sharedQueue) stranded(m *member) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.n == 0 {
		return false
	}
	for _, o := range q.joined {
		if o != m && !o.left.Load() {
			return false
		}
	}
	return true
}

// serves reports whether m takes calls from the queue: a member still,
// and running, or stopping with the pool (a pool's graceful stop drains
// the queue). A worker that stops by itself while the pool runs takes no
// more: it would serve the queue for as long as calls keep coming, never
// stopping, and its replacement would wait as long. But one stopping
// gracefully while its owner stops (the runtime's Shutdown, its parent's
// Stop: see member.orphaned) cannot be replaced: the pool stops with its
// owner, gracefully, as by Pool.Stop — marked stopping here, under mu, so
// it takes no new call — and m serves, so that the last worker to stop
// runs what waits. Under mu.
func (q *sharedQueue) serves(m *member) bool {
	if m.left.Load() {
		return false
	}
	if m.c.status.Load() == statusRunning || q.r.state.Load() != routerRunning {
		return true
	}
	if m.c.status.Load() != statusStopping || !m.orphaned() {
		return false
	}
	q.stopLocked()
	return true
}

// take is the token's first step: the next call for m, counted at m; or, if
// none waits or m does not serve (see serves), m is disarmed (and another
// member armed if calls wait).
func (q *sharedQueue) take(m *member) (envelope, bool) {
	q.mu.Lock()
	if q.n == 0 || !q.serves(m) {
		next := q.disarmLocked(m)
		q.mu.Unlock()
		q.wake(next)
		return envelope{}, false
	}
	e := q.popLocked()
	m.inflight.Add(1)
	q.mu.Unlock()
	(*e.msg).(routed).bind(m)
	return e, true
}

// disarmLocked ends m's token: m is idle again if it still serves; it
// returns another member to arm if calls wait.
func (q *sharedQueue) disarmLocked(m *member) *member {
	m.armed = false
	if q.serves(m) && slices.Contains(q.joined, m) && !slices.Contains(q.idle, m) {
		// (serves may have put m back already: see stopLocked)
		q.idle = append(q.idle, m)
	}
	return q.armLocked()
}

// after is the token's last step, once its call has run (or panicked):
// if calls wait, m sends itself its token again; else it goes idle.
func (q *sharedQueue) after(m *member) {
	q.mu.Lock()
	if q.n > 0 && q.serves(m) && m.takes() {
		q.mu.Unlock()
		if sendToken(m) == nil {
			return
		}
		q.mu.Lock()
		m.armed = false
		next := q.armLocked()
		q.mu.Unlock()
		q.wake(next)
		return
	}
	next := q.disarmLocked(m)
	q.mu.Unlock()
	q.wake(next)
}

// takes reports whether m's whitelist (Ctx.Only) lets its pull token
// run: a worker whose whitelist holds the token is passed over, neither
// armed nor re-armed, and the others take the calls (its token would
// wait, held, and the call it was armed for with it, while other workers
// idle). Safe under mu: it takes the mailbox's lock, never the other way.
func (m *member) takes() bool { return m.c.mb.Admitted(pullKey) }

// readmit is told that m's whitelist changed, on m's turn: if it now
// holds m's token, queued already, another idle member is armed for the
// calls that wait; if it lets the token run again, m may be armed. A
// member not yet joined is armed (or not) when it joins.
func (q *sharedQueue) readmit(m *member) {
	q.mu.Lock()
	if !slices.Contains(q.joined, m) {
		q.mu.Unlock()
		return
	}
	next := q.armLocked()
	q.mu.Unlock()
	q.wake(next)
}

// dropped handles a token its worker never ran (the worker stopped or was
// killed): another member is armed if calls wait.
func (q *sharedQueue) dropped(m *member) {
	q.mu.Lock()
	m.armed = false
	next := q.armLocked()
	q.mu.Unlock()
	q.wake(next)
}

// pullMsg is a worker's pull token (see sharedQueue). It lives in the
// member: sending it allocates nothing.
type pullMsg struct {
	self message // the token itself (see envelope)
	q    *sharedQueue
	m    *member
	cur  envelope // the call taken, while it runs; touched only on the worker's turn
}

func (t *pullMsg) key() mailbox.Key { return pullKey }
func (t *pullMsg) live() bool       { return true }

// name is the running call's method, so that its handler's panic is a
// *PanicError naming it (see cell.recovered), as through any other
// strategy; else (the token queued or held, see Ref.Held) "balancing".
// cur is written on the worker's turn, and zero whenever the token is in
// the mailbox: a read under the mailbox's lock does not race.
func (t *pullMsg) name() string {
	if t.cur.msg != nil {
		return t.cur.name()
	}
	return "balancing"
}

func (t *pullMsg) run(x *Ctx, _ payload) {
	e, ok := t.q.take(t.m)
	if !ok {
		return
	}
	t.cur = e
	e.run(x)
	t.cur = envelope{}
	t.q.after(t.m)
}

// fail is the failure of the call the token runs, if any (its handler
// panicked: the call's caller gets the *PanicError), or else of the token
// itself (the worker stopped before running it).
func (t *pullMsg) fail(to *cell, _ payload, err error, why uint8) {
	if t.cur.msg == nil {
		t.q.dropped(t.m)
		return
	}
	cur := t.cur
	t.cur = envelope{}
	cur.fail(to, err, why)
	if why == engine.ReasonFailed && t.m.restarts {
		// The worker now waits out its restart's backoff: it stays armed,
		// so it is given no call meanwhile; its token, queued behind the
		// backoff, takes the next call (or puts it back to idle) after.
		if sendToken(t.m) == nil {
			return
		}
	}
	t.q.after(t.m)
}

// callContext gives the running call's context to Ctx.Context, as if the
// call had come through the mailbox.
func (t *pullMsg) callContext() (context.Context, time.Time) {
	if cc, ok := (*t.cur.msg).(interface {
		callContext() (context.Context, time.Time)
	}); ok {
		return cc.callContext()
	}
	return nil, time.Time{}
}
