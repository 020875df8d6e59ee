package actor

import (
	"fmt"
	"slices"

	"github.com/troupe-go/troupe/internal/nilness"
)

// spawn starts a worker with the given rendezvous seed. Its factory is
// the pool's, wrapped: the first state is made here (so that a bad factory
// fails NewPool or Resize), and a restart's new state clears the worker's
// restarting flag — the pool routes around it until then. A factory that
// fails at a restart kills the worker (its queued calls fail with
// ErrStopped wrapping the cause), which the pool then replaces.
func (p *Pool[S]) spawn(seed uint64) (*member, error) {
	s, err := p.make()
	if err != nil {
		return nil, err
	}
	m := &member{seed: seed}
	last, first := s, true
	fresh := func() S {
		if first { // SpawnFunc's own call, on this goroutine
			first = false
			return last
		}
		s, err := p.make() // a restart, on the worker's turn
		if err != nil {
			m.c.kill(err)
			return last
		}
		last = s
		m.restarting.Store(false)
		return s
	}
	// Whatever panicked (a routed call, or the worker's own timer or
	// Started hook), a planned restart routes around the worker.
	restarting := optionFunc(func(c *spawnConfig) {
		c.restarting = func() { m.restarting.Store(true) }
		c.onTurn = func() bool { return p.replaces(m) }
		if q := p.r.shared; q != nil {
			c.admitted = func() { q.readmit(m) }
		}
	})
	ref, err := SpawnFunc(p.spawner, fresh, WithSupervision(p.sup), restarting)
	if err != nil {
		return nil, err
	}
	m.c = &ref.c
	m.restarts = p.sup.Directive == Restart
	m.sticky = p.r.kind == hashed
	m.pull = pullMsg{q: p.r.shared, m: m}
	m.pull.self = &m.pull
	if !m.c.atStop(func() { p.gone(m) }) {
		return nil, ErrStopped // the runtime or parent began stopping
	}
	return m, nil
}

// replaces reports whether m, were it to stop now, might be replaced (see
// gone): its stop must then finalize it on its own turn, for the
// replacement runs the factory, user code, which must not run on a
// stopper's goroutine (a Kill does not wait, a Stop waits only until its
// ctx ends). Once false it stays false: m has left, its owner stops, or
// the pool stops with no call left in its shared queue (it takes no new
// one).
func (p *Pool[S]) replaces(m *member) bool {
	if m.left.Load() || m.orphaned() {
		return false
	}
	switch p.r.state.Load() {
	case routerRunning:
		return true
	case routerStopping:
		return p.r.shared != nil && p.r.shared.len() > 0
	}
	return false
}

// orphaned reports whether m's owner, where it was spawned, is stopping:
// its parent actor or, for a top-level worker, the runtime. Nothing can
// be spawned there any more: m, once stopped, cannot be replaced.
func (m *member) orphaned() bool {
	if p := m.c.parent; p != nil {
		return p.status.Load() != statusRunning
	}
	return m.c.sys.Closed()
}

// make calls the factory, turning a panic or a nil state into ErrFactory.
func (p *Pool[S]) make() (s S, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%w: %w", ErrFactory, newPanicError("factory", v))
		}
	}()
	s = p.factory()
	if nilness.Is(s) {
		return s, fmt.Errorf("%w: %w", ErrFactory, ErrNilState)
	}
	return s, nil
}

// gone runs when worker m has stopped (at its finalize, on that
// goroutine): m leaves the pool, and a worker that stopped on its own is
// replaced by a fresh one with its seed, so its keys come back to the
// replacement. It is replaced while the pool runs and, if the pool is
// stopping gracefully, when m was the last worker to take from the shared
// queue (it stopped by itself, and so took no more) and calls wait there:
// the replacement runs them, then stops. What the replacement becomes is
// decided once it is made (see add), since the pool may have begun
// stopping meanwhile. If none can be made (the factory fails) and no
// worker is left, nor one being made by a Resize, the pool stops. None is tried if m's owner (the runtime
// or the parent) is stopping: a Balancing pool then stops with it, as by
// Pool.Stop (see sharedQueue.serves), its other workers draining the
// shared queue: those still alive, stopped by themselves or not (see
// sharedQueue.stopLocked). If none is, the calls waiting fail with
// ErrStopped as m leaves.
func (p *Pool[S]) gone(m *member) {
	m.left.Store(true)
	orphaned := m.orphaned()
	if q := p.r.shared; q != nil && orphaned && p.r.state.Load() == routerRunning {
		// The pool stops with its owner (see sharedQueue.serves): here
		// if m stopped without taking from the queue again (it was idle,
		// or killed). Not under mu: stopping may arm a worker and
		// schedule its turn, and with the scheduler closed that
		// finalizes it here, re-entering gone.
		q.stopping()
	}
	p.mu.Lock()
	i := slices.Index(p.slots, m)
	if i >= 0 {
		p.slots = slices.Delete(p.slots, i, i+1)
		p.r.publish(slices.Clone(p.slots))
	} else if j := slices.Index(p.retiring, m); j >= 0 {
		p.retiring = slices.Delete(p.retiring, j, j+1)
	}
	state := p.r.state.Load()
	replace := i >= 0 && !orphaned && (state == routerRunning ||
		state == routerStopping && p.r.shared != nil && p.r.shared.stranded(m))
	if replace {
		p.replacing = append(p.replacing, m.seed)
	}
	p.mu.Unlock()
	for replace {
		nm, err := p.spawn(m.seed)
		if err != nil {
			p.mu.Lock()
			p.unreplaceLocked(m.seed)
			p.mu.Unlock()
			break
		}
		// A replacement that stopped before add counted it (it joined
		// the shared queue first, and may take at once a call that
		// stops it) is replaced in its turn: add keeps its seed being
		// replaced. Each such try ran a call, so this ends.
		replace = !p.add(nm, true) && p.replacingSeed(m.seed)
	}
	if q := p.r.shared; q != nil {
		q.leave(m) // after the replacement joined: waiting calls stay for it
	}
	p.lost()
}

// lost kills a running pool that has no worker left and none being made
// (a replacement, or a Resize's worker): it lost its last worker, and
// none could be made. With Balancing the calls waiting fail with
// ErrStopped. Done closes if nothing is left.
func (p *Pool[S]) lost() {
	p.mu.Lock()
	if p.sizeLocked()+p.growing == 0 && p.r.state.Load() == routerRunning {
		p.r.state.Store(routerKilled)
	}
	p.mu.Unlock()
	if q := p.r.shared; q != nil && p.r.state.Load() == routerKilled {
		q.failAll(ErrStopped)
	}
	p.checkDone()
}

// add makes m, a worker just spawned, one of the pool's, and reports
// whether it did. It does not if the pool was killed, or was stopped
// before m (made by NewPool or Resize) joined it, or if m replaces a
// stopped worker (replacement) and a Resize has meanwhile shrunk the pool
// past its seed: m is then stopped (killed, if the pool was), counted as
// retiring (Done waits for it); nor if m has stopped already (the runtime
// is stopping). A replacement made as the pool began
// stopping gracefully does join, as a retiring worker (not routed to),
// and is stopped gracefully at once: like the pool's other workers, it
// first runs what waits in the shared queue (Balancing).
func (p *Pool[S]) add(m *member, replacement bool) bool {
	if q := p.r.shared; q != nil {
		// Before Stop can see m: a graceful stop then finds its pull token
		// queued, if calls wait, and runs them before it stops.
		q.join(m)
	}
	p.mu.Lock()
	if m.left.Load() {
		// It has stopped already (the runtime is stopping, or it took
		// from the shared queue a call that stopped it), and left the
		// pool (see gone): it must not be counted, or Done would wait
		// for it forever. A replacement's seed stays being replaced, for
		// gone to try again (or give up, if the runtime is stopping).
		p.mu.Unlock()
		return false
	}
	wanted := !replacement || p.unreplaceLocked(m.seed)
	state := p.r.state.Load()
	switch {
	case wanted && state == routerRunning:
		i, _ := slices.BinarySearchFunc(p.slots, m.seed, func(a *member, s uint64) int {
			return cmpU64(a.seed, s)
		})
		p.slots = slices.Insert(p.slots, i, m)
		p.r.publish(slices.Clone(p.slots))
		p.mu.Unlock()
		return true
	case wanted && replacement && state == routerStopping:
		p.retiring = append(p.retiring, m) // a worker, but not routed to
		p.mu.Unlock()
		m.c.requestStop(false)
		return true
	}
	m.left.Store(true) // it takes nothing more from the shared queue
	p.retiring = append(p.retiring, m)
	p.mu.Unlock()
	m.c.requestStop(state == routerKilled)
	return false
}

// unreplaceLocked ends the replacement of the worker with seed; it
// reports whether one was under way (a Resize may have cancelled it).
func (p *Pool[S]) unreplaceLocked(seed uint64) bool {
	i := slices.Index(p.replacing, seed)
	if i < 0 {
		return false
	}
	p.replacing = slices.Delete(p.replacing, i, i+1)
	return true
}

// replacingSeed reports whether the replacement of the worker with seed is
// still under way (a Resize may have cancelled it).
func (p *Pool[S]) replacingSeed(seed uint64) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Contains(p.replacing, seed)
}

// sizeLocked is the number of workers, counting those being replaced.
func (p *Pool[S]) sizeLocked() int { return len(p.slots) + len(p.replacing) }

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Resize grows or shrinks the pool to n workers. New workers take calls
// at once. Shrinking takes the newest workers out of the routing at once
// and stops them gracefully: each finishes the calls already queued for
// it, so none is lost (with Balancing nothing is queued at a worker; the
// shared queue stays with the others). With Hash only the keys of the
// workers added or removed move. It does not wait for the removed workers
// to finish (Stop and Done do). Safe for concurrent use; Resizes are
// serialised. Errors: ErrPoolSize (n ≤ 0), ErrPoolStopped, ErrNilPool,
// and, when growing, those of NewPool: the workers made before the error
// stay. Cost: one spawn per worker added.
func (p *Pool[S]) Resize(n int) error {
	if !p.made() {
		return ErrNilPool
	}
	if n <= 0 {
		return fmt.Errorf("%w: Resize(%d)", ErrPoolSize, n)
	}
	p.grow.Lock()
	defer p.grow.Unlock()
	if p.Stopped() {
		return ErrPoolStopped
	}
	for p.size() < n {
		// Counted while it is made, so that a Stop or Kill meanwhile
		// does not close Done before add stops it.
		p.mu.Lock()
		p.growing++
		p.mu.Unlock()
		m, err := p.spawn(p.freeSeed())
		added := err == nil && p.add(m, false)
		p.mu.Lock()
		p.growing--
		p.checkDoneLocked()
		p.mu.Unlock()
		if err != nil {
			// The pool's last worker may have stopped meanwhile, its
			// replacement failed too (see gone).
			p.lost()
			return err
		}
		if !added {
			return ErrPoolStopped
		}
	}
	p.mu.Lock()
	var out []*member
	for p.sizeLocked() > n {
		// The highest seed goes: the newest worker, or a replacement
		// under way, which is then not made.
		if len(p.replacing) > 0 {
			top := slices.Max(p.replacing)
			if len(p.slots) == 0 || top > p.slots[len(p.slots)-1].seed {
				p.unreplaceLocked(top)
				continue
			}
		}
		m := p.slots[len(p.slots)-1]
		p.slots = p.slots[:len(p.slots)-1]
		m.left.Store(true)
		p.retiring = append(p.retiring, m)
		out = append(out, m)
	}
	if out != nil {
		p.r.publish(slices.Clone(p.slots))
	}
	p.mu.Unlock()
	for _, m := range out {
		if q := p.r.shared; q != nil {
			q.leave(m)
		}
		m.c.requestStop(false)
	}
	return nil
}

// size is sizeLocked, locking.
func (p *Pool[S]) size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sizeLocked()
}

// freeSeed is the lowest seed no worker uses, retiring ones and those
// being replaced included (a key must not reach a new worker while the
// old one still runs its calls, nor two workers at once).
func (p *Pool[S]) freeSeed() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	for s := uint64(0); ; s++ {
		used := func(m *member) bool { return m.seed == s }
		if !slices.ContainsFunc(p.slots, used) && !slices.ContainsFunc(p.retiring, used) && !slices.Contains(p.replacing, s) {
			return s
		}
	}
}

// PoolStats is a snapshot of a pool's or group's workers (poolboy's
// status). Ready + Busy + Restarting is the number of workers.
type PoolStats struct {
	Ready      int // idle: nothing queued or running, not restarting
	Busy       int // running a call or with calls queued
	Queued     int // calls waiting to run: in workers' mailboxes, and in the shared queue (Balancing)
	Restarting int // waiting out a restart's backoff: they get no calls meanwhile
}

// Stats counts the pool's workers by state and the calls waiting. The
// figures are read one worker at a time, not atomically. Safe for
// concurrent use; O(workers), a mailbox lock per worker.
func (p *Pool[S]) Stats() PoolStats {
	if !p.made() {
		return PoolStats{}
	}
	return p.r.stats()
}

func (r *router) stats() PoolStats {
	var st PoolStats
	for _, m := range r.snapshot() {
		queued := m.c.mb.Len()
		if r.shared != nil {
			queued = 0 // a worker's mailbox holds at most its pull token
		}
		st.Queued += queued
		switch {
		case m.restarting.Load() || r.group && m.c.backoffPending():
			st.Restarting++
		case m.inflight.Load() > 0 || queued > 0:
			st.Busy++
		default:
			st.Ready++
		}
	}
	if r.shared != nil {
		st.Queued += r.shared.len()
	}
	return st
}

// backoffPending reports whether the actor waits out a restart's backoff.
func (c *cell) backoffPending() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ext != nil && c.ext.backoff != nil
}
