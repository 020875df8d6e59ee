package actor

import (
	"fmt"
	"slices"
	"sync"
)

// Group routes calls over actors it does not own — refs spawned
// elsewhere, named actors found with runtime.Lookup — with the strategies
// of a Pool (but Balancing, which needs workers that share a queue: a
// group's members have mailboxes of their own). A member leaves the group
// when it stops, so a call never goes to a stopped member; Add and Remove
// change the members of a live group. Call it with CallPool, CastPool,
// AskPool and BroadcastPool.
//
// A group never stops or restarts its members, nor does it route around a
// member waiting out a restart's backoff (a pool does, for its workers): a call
// routed there waits in the member's mailbox, bounded by its deadline, and runs
// once the member has restarted; Stats counts such a member as Restarting. Each
// member that ever joined keeps a reference to the group until it stops (the
// hook that makes it leave). A Group is safe for concurrent use and runs no
// goroutine. A nil or zero Group (not made by NewGroup) has no members: calls
// through it and Add fail with ErrNilPool.
type Group[S any] struct {
	r  router
	mu sync.Mutex // guards the fields below and r.members' writes
	// list is the members, in join order; r.members is a copy.
	list []*member
	// watched maps every ref whose stop the group watches to its member:
	// the members, and refs removed but still running (a ref's stop hook
	// is registered once, however often it rejoins).
	watched map[*cell]*member
}

var _ Router[int] = (*Group[int])(nil)

// NewGroup makes a group of the running refs among members (stopped ones
// are left out). Options: a strategy (RoundRobin by default, Random,
// LeastBusy, Hash, First) and WithMaxQueued. Errors: ErrNilRef (a nil
// ref), ErrEmptyGroup (no running ref), ErrInvalidOption (Balancing, or a
// bad option). Cost: O(len(members)).
func NewGroup[S any](members []*Ref[S], opts ...PoolOption) (*Group[S], error) {
	cfg, err := poolConfigOf(opts)
	if err != nil {
		return nil, err
	}
	if cfg.kind == balancing {
		return nil, fmt.Errorf("%w: Balancing needs a pool: a group's members have mailboxes of their own", ErrInvalidOption)
	}
	for i, ref := range members {
		if !ref.valid() {
			return nil, fmt.Errorf("%w: member %d", ErrNilRef, i)
		}
	}
	if len(members) == 0 {
		return nil, ErrEmptyGroup
	}
	g := &Group[S]{watched: make(map[*cell]*member)}
	g.r.init(members[0].c.sys, cfg, "group")
	g.r.group = true
	for _, ref := range members {
		_ = g.Add(ref) // a stopped ref is left out
	}
	if g.Len() == 0 {
		return nil, ErrEmptyGroup
	}
	return g, nil
}

func (g *Group[S]) route() (*router, *S) {
	if !g.made() {
		return nil, nil
	}
	return &g.r, nil
}

// made reports whether g was made by NewGroup (which sets its runtime).
func (g *Group[S]) made() bool { return g != nil && g.r.sys != nil }

// Add makes ref a member (a no-op if it is one). Errors: ErrNilPool,
// ErrNilRef, ErrStopped (ref is stopping or stopped), ErrPoolStopped (the
// group is closed). O(members).
func (g *Group[S]) Add(ref *Ref[S]) error {
	if !g.made() {
		return ErrNilPool
	}
	if !ref.valid() {
		return ErrNilRef
	}
	c := &ref.c
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.r.state.Load() != routerRunning {
		return ErrPoolStopped
	}
	if c.status.Load() != statusRunning {
		return ErrStopped
	}
	m, ok := g.watched[c]
	if !ok {
		m = &member{c: c, seed: c.id, sticky: g.r.kind == hashed}
		if !c.atStop(func() { g.leave(m) }) {
			return ErrStopped
		}
		g.watched[c] = m
	} else if slices.Contains(g.list, m) {
		return nil
	}
	m.left.Store(false)
	g.list = append(g.list, m)
	g.r.publish(slices.Clone(g.list))
	return nil
}

// Remove takes ref out of the group; it reports whether ref was a member.
// Calls already routed to it run there; later ones go elsewhere. O(members).
func (g *Group[S]) Remove(ref *Ref[S]) bool {
	if !g.made() || !ref.valid() {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	m := g.watched[&ref.c]
	return m != nil && g.dropLocked(m)
}

// leave runs when a member (or a removed ref still watched) stops, on the
// goroutine that finalizes it.
func (g *Group[S]) leave(m *member) {
	g.mu.Lock()
	delete(g.watched, m.c)
	g.dropLocked(m)
	g.mu.Unlock()
}

func (g *Group[S]) dropLocked(m *member) bool {
	i := slices.Index(g.list, m)
	if i < 0 {
		return false
	}
	m.left.Store(true)
	g.list = slices.Delete(g.list, i, i+1)
	g.r.publish(slices.Clone(g.list))
	return true
}

// Members returns the members, in join order. O(members).
func (g *Group[S]) Members() []*Ref[S] {
	if g == nil {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	refs := make([]*Ref[S], len(g.list))
	for i, m := range g.list {
		refs[i] = m.c.self.(*Ref[S])
	}
	return refs
}

// Len is the number of members. O(1).
func (g *Group[S]) Len() int {
	if !g.made() {
		return 0
	}
	return len(g.r.snapshot())
}

// Stats counts the members by state, as Pool.Stats does; a member's
// queue is its whole mailbox (it may have callers beside the group), and
// Restarting counts members waiting out a restart's backoff. O(members).
func (g *Group[S]) Stats() PoolStats {
	if !g.made() {
		return PoolStats{}
	}
	return g.r.stats()
}

// Close stops routing: later calls fail with ErrPoolStopped; calls
// already routed run. The members are not stopped. Idempotent.
func (g *Group[S]) Close() {
	if g != nil {
		g.r.state.Store(routerKilled)
	}
}
