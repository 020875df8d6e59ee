package actor

import (
	"errors"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/troupe-go/troupe/internal/engine"
)

// router is what a Pool and a Group share: the members, the strategy that
// picks one per call, and the state that refuses calls once stopped. It is
// untyped: only the calls (route_call.go) know the method's types.
//
// Membership is copy-on-write: members holds an immutable slice, replaced
// under the owner's lock, so routing a call reads it with one atomic load
// and takes no lock.
type router struct {
	kind    strategy
	stagger time.Duration // First: delay between asks; 0 asks all at once
	keys    []any         // Hash: a func(Q) string per request type
	limit   int32         // WithMaxQueued: per member; 0 = no limit
	group   bool          // members are refs the router does not own
	sys     *engine.System
	home    *cell        // reports (dead letters) what the router refuses itself
	shared  *sharedQueue // Balancing only
	members atomic.Pointer[[]*member]
	next    atomic.Uint64 // round robin position (also LeastBusy's tie-break)
	state   atomic.Uint32 // routerRunning, then routerStopping, then routerKilled
}

const (
	routerRunning  uint32 = iota
	routerStopping        // Stop: no new calls; workers finish theirs
	routerKilled          // Kill, or the pool lost its last worker
)

// strategy is how a router picks a member; see the PoolOption
// constructors.
type strategy uint8

const (
	roundRobin strategy = iota
	randomPick
	leastBusy
	hashed
	balancing
	firstReply
)

func (r *router) init(sys *engine.System, cfg *poolConfig, name string) {
	r.kind, r.stagger, r.keys, r.limit, r.sys = cfg.kind, cfg.stagger, cfg.keys, int32(cfg.limit), sys
	r.home = &cell{sys: sys, name: name}
	if r.kind == balancing {
		r.shared = &sharedQueue{r: r}
	}
	r.members.Store(new([]*member))
}

// snapshot is the current members; the slice must not be modified.
func (r *router) snapshot() []*member { return *r.members.Load() }

// publish replaces the members; the owner holds its lock.
func (r *router) publish(ms []*member) { r.members.Store(&ms) }

// refusal is the error of a call the router cannot route: it was stopped,
// a group has no member left, or no worker of a running pool can take
// calls (all stopping with the runtime, or the only one being replaced).
func (r *router) refusal() error {
	switch {
	case r.state.Load() != routerRunning:
		return ErrPoolStopped
	case r.group:
		return ErrEmptyGroup
	}
	return ErrStopped
}

// refused reports a message the router could not queue as a dead letter
// (guarantee 6), as cell.refused does for an actor.
func (r *router) refused(method string, err error, payload any) {
	switch {
	case errors.Is(err, ErrEmptyGroup), errors.Is(err, ErrStopped):
		r.home.deadLetter(engine.ReasonStopped, method, err, payload)
	case errors.Is(err, ErrMailboxFull):
		r.home.deadLetter(engine.ReasonMailboxFull, method, err, payload)
	}
}

// member is one worker of a pool or one ref of a group, as the router
// sees it. Members are padded to two cache lines: their counters are
// written by callers and by the member's turn, and adjacent members must
// not share a line.
type member struct {
	c          *cell
	seed       uint64       // rendezvous seed: a pool slot (kept by a replacement), or a group member's actor id
	inflight   atomic.Int32 // routed messages queued or running here
	restarting atomic.Bool  // a pool worker waits out a restart's backoff: routed around
	left       atomic.Bool  // no longer a member (shrunk, removed, stopped)
	restarts   bool         // the worker restarts after a panic (set at spawn)
	sticky     bool         // a caller's next call likely comes here too (Hash): see poolCall.run
	armed      bool         // Balancing: its pull token is queued or running; guarded by the shared queue's mu
	pull       pullMsg      // Balancing: the token that makes it take one call from the shared queue
	_          [32]byte     // to 128 bytes: see TestMemberLayout
}

// eligible reports whether a call may go to m: a member still, running,
// and not the calling actor (which would wait for itself).
func (m *member) eligible(caller *cell) bool {
	return m.c != caller && !m.left.Load() && m.c.status.Load() == statusRunning
}

// acquire counts one more routed message at m, failing if m already has
// limit (limit 0: no limit).
func (m *member) acquire(limit int32) bool {
	if limit == 0 {
		m.inflight.Add(1)
		return true
	}
	for {
		n := m.inflight.Load()
		if n >= limit {
			return false
		}
		if m.inflight.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// release ends a routed message at m (nil: it never reached a member).
func (m *member) release() {
	if m != nil {
		m.inflight.Add(-1)
	}
}

// load is what LeastBusy minimises: the routed messages queued or running
// at m and, for a group (whose members have other callers too), its whole
// mailbox.
func (r *router) load(m *member) int {
	n := int(m.inflight.Load())
	if r.group {
		n += m.c.mb.Len()
	}
	return n
}

// routed is a message the router queues at a member: it learns which, to
// release it when done.
type routed interface {
	message
	bind(m *member)
}

// errBusy is offer's refusal by a member at its limit (or with a full
// mailbox): the router tries another, and reports ErrPoolFull if all are.
var errBusy = errors.New("actor: member busy")

// route queues e at a member picked by the strategy and returns it. A
// member that stopped meanwhile, or is at its limit, is passed over for
// the next candidate; a restarting worker only if no other can take the
// call. caller, the actor making the call from its handler (or nil), is
// never picked, and is checked for call cycles. Errors: ErrPoolFull,
// ErrPoolStopped, ErrEmptyGroup, ErrCallCycle. Cost: O(1) for RoundRobin
// and Random, O(members) for LeastBusy and Hash, when nothing is refused.
func (r *router) route(e envelope, rm routed, t target) (*member, error) {
	caller := t.caller
	ms := r.snapshot()
	n := len(ms)
	if n == 0 {
		return nil, r.refusal()
	}
	full := false
	if r.kind == hashed {
		for range n {
			m := r.rendezvous(ms, t.h, caller)
			if m == nil {
				break
			}
			switch err := r.offer(m, e, rm, t); {
			case err == nil:
				return m, nil
			case err == errBusy:
				return nil, ErrPoolFull // a key keeps its worker: no other will do
			case !errors.Is(err, ErrStopped):
				return nil, err
			}
		}
	} else {
		start := r.start(ms, caller)
		for pass := range 2 { // restarting workers only in the second pass
			for k := range n {
				m := ms[(start+k)%n]
				if !m.eligible(caller) || m.restarting.Load() != (pass == 1) {
					continue
				}
				switch err := r.offer(m, e, rm, t); {
				case err == nil:
					return m, nil
				case err == errBusy:
					full = true
				case !errors.Is(err, ErrStopped):
					return nil, err
				}
			}
		}
	}
	switch {
	case full:
		return nil, ErrPoolFull
	case r.state.Load() != routerRunning:
		return nil, ErrPoolStopped
	case n == 1 && caller != nil && ms[0].c == caller:
		return nil, errCycleSelf(caller, t.label)
	}
	return nil, r.refusal()
}

// start is where a scan of the members begins: the round robin position,
// a random member, or the least busy one (idle first; ties broken by the
// round robin position so that concurrent callers spread).
func (r *router) start(ms []*member, caller *cell) int {
	n := len(ms)
	switch r.kind {
	case randomPick:
		return rand.IntN(n)
	case leastBusy:
		from := int(r.next.Add(1) % uint64(n))
		best, min := from, int(^uint(0)>>1)
		for k := range n {
			i := (from + k) % n
			m := ms[i]
			if !m.eligible(caller) || m.restarting.Load() {
				continue
			}
			if l := r.load(m); l < min {
				best, min = i, l
				if l == 0 {
					break
				}
			}
		}
		return best
	}
	return int((r.next.Add(1) - 1) % uint64(n))
}

// offer queues e at m, counting it there and recording the caller's wait for
// the cycle check (if it waits). It fails with errBusy if m is at its limit,
// with ErrStopped if m stopped, or with ErrCallCycle.
func (r *router) offer(m *member, e envelope, rm routed, t target) error {
	if !m.acquire(r.limit) {
		return errBusy
	}
	rm.bind(m)
	caller := t.caller
	if t.wait == nil {
		caller = nil
	}
	if caller != nil {
		t.wait.to.Store(m.c)
		if err := enterCall(caller, t.wait, t.label); err != nil {
			m.release()
			return err
		}
	}
	if err := tryPush(m.c, e); err != nil {
		m.release()
		if caller != nil {
			caller.waitingOn.Store(nil)
		}
		if errors.Is(err, ErrMailboxFull) {
			return errBusy
		}
		return err
	}
	return nil
}

// tryPush is push without waiting: a Block-policy mailbox that is full
// refuses at once (ErrMailboxFull), so routing never blocks on a member
// and can try another. Not for the timer wheel's goroutine: a full
// mailbox makes room per its policy (evicting a message, discarding the
// dead ones), and each such loss runs the dead-letter hook, user code
// (the wheel offers instead: see keyed.tick, gatherCall.offer).
func tryPush(c *cell, e envelope) error {
	if c.status.Load() != statusRunning {
		return ErrStopped
	}
	sched, err := c.mb.TryPush(e)
	if err != nil {
		return pushErr(err)
	}
	if sched {
		c.schedule()
	} else if c.owner == nil && c.mb.Backlog() > floodBacklog {
		runtime.Gosched() // the soft back-pressure of push
	}
	return nil
}

// rendezvous returns the eligible member with the highest score for key
// hash h (highest random weight hashing): a key keeps its member while
// that member stays, whatever else joins or leaves, and a member that
// leaves moves only its own keys. O(members), no allocation.
func (r *router) rendezvous(ms []*member, h uint64, caller *cell) *member {
	var best *member
	var top uint64
	for _, m := range ms {
		if !m.eligible(caller) {
			continue
		}
		if s := mix64(h ^ m.seed*0x9e3779b97f4a7c15); best == nil || s > top {
			best, top = m, s
		}
	}
	return best
}

// mix64 is splitmix64's finalizer: every input bit moves every output bit.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}
