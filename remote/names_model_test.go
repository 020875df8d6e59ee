package remote_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/remote"
)

// The names model: nodes of one process share a table of the actors
// spawned for claimed names (mInst), each with the window in which it
// owns its name, and check at every change that no name has two owners
// at once (see namesModel.own).
//
// What the docs allow, and so what an owner's window is:
//   - it begins once its name is claimed for it: at its first handled call
//     (a call reaches the name only once it is claimed and exported), or
//     when its LookupOrSpawn returns created. Not at its Started hook: of
//     concurrent LookupOrSpawns, the losers' actors start too (factory and
//     Starter "may have run for nothing"), and the winner's starts before
//     its Claim, perhaps while the name's previous owner still lives;
//   - it ends at the end of its Stopping hook (the claim is released once
//     the actor is done), or when its node's stop begins: Shutdown and
//     Close release the claims but leave the runtime, and so the actor,
//     running (a handler that runs then finishes, as the doc says; none
//     begins once the stop has returned, nor, once the name has another
//     owner, at all: the release fences what is queued at the actor).
//
// A loser (every actor of a LookupOrSpawn that did not return created)
// never handles a call: LookupOrSpawn kills it "before any call reaches
// it".
type namesModel struct {
	mu     sync.Mutex
	insts  []*mInst
	closed map[string]bool // nodes whose stop has returned
	bad    []string
	// counts, for the log (and to see the run did something)
	created, calls, handled, quits, stops int
}

type mInst struct {
	id       int
	name     string
	node     string
	ref      *actor.Ref[*mSess]
	started  bool
	ended    bool // Stopping hook done, or its node's stop begun
	stopped  bool // Stopping hook done
	owner    bool
	loser    bool
	handled  int
	ownSince time.Time
}

// mSess is the actors' state: it records into the model.
type mSess struct {
	m   *namesModel
	rec *mInst
}

func (s *mSess) Started(c *actor.Ctx) {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	s.rec.started, s.rec.ref = true, actor.Self[*mSess](c)
}

func (s *mSess) Stopping(c *actor.Ctx) {
	s.m.mu.Lock()
	defer s.m.mu.Unlock()
	s.rec.stopped, s.rec.ended = true, true
}

var (
	// mTouch takes d of the actor's time: calls queue at it.
	mTouch = actor.NewMethod("touch", func(s *mSess, c *actor.Ctx, d time.Duration) (int, error) {
		id := s.m.handle(s.rec)
		time.Sleep(d)
		return id, nil
	})
	// mQuit stops the actor from a call (a remote stop).
	mQuit = actor.NewMethod("quit", func(s *mSess, c *actor.Ctx, _ int) (int, error) {
		id := s.m.handle(s.rec)
		c.Stop()
		return id, nil
	})
)

func (m *namesModel) violation(format string, args ...any) {
	m.bad = append(m.bad, fmt.Sprintf(format, args...)) // m.mu held
}

// spawned makes the record of an actor LookupOrSpawn spawns on node.
func (m *namesModel) spawned(name, node string) *mSess {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec := &mInst{id: len(m.insts) + 1, name: name, node: node}
	m.insts = append(m.insts, rec)
	return &mSess{m: m, rec: rec}
}

// own makes rec its name's owner, checking that no other is. m.mu held.
func (m *namesModel) own(rec *mInst, why string) {
	if rec.owner {
		return
	}
	rec.owner = true
	if rec.ended {
		return // its window is over already (say, quit before its LookupOrSpawn returned)
	}
	rec.ownSince = time.Now()
	for _, o := range m.insts {
		if o != rec && o.name == rec.name && o.owner && !o.ended {
			m.violation("name %q has two owners: #%d on %s (since %v ago) and #%d on %s (%s)",
				rec.name, o.id, o.node, time.Since(o.ownSince), rec.id, rec.node, why)
		}
	}
}

// handle is a handler's run on rec; it returns rec's id.
func (m *namesModel) handle(rec *mInst) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.handled++
	rec.handled++
	switch {
	case rec.stopped:
		m.violation("#%d (%q on %s) handled a call after its Stopping hook", rec.id, rec.name, rec.node)
	case m.closed[rec.node]:
		m.violation("#%d (%q on %s) handled a call after its node's stop returned", rec.id, rec.name, rec.node)
	case rec.loser:
		m.violation("#%d (%q on %s) handled a call, though its LookupOrSpawn lost", rec.id, rec.name, rec.node)
	}
	if rec.ended && !rec.stopped {
		// Its node's stop has begun, and released the name: a handler
		// that begins now must not overlap another owner's window.
		for _, o := range m.insts {
			if o != rec && o.name == rec.name && o.owner && !o.ended {
				m.violation("#%d (%q on %s, whose stop has begun) began a handler while #%d on %s owns the name (since %v ago)",
					rec.id, rec.name, rec.node, o.id, o.node, time.Since(o.ownSince))
			}
		}
	}
	m.own(rec, "a call reached it")
	return rec.id
}

// lookedUp records a LookupOrSpawn's end: its last actor won if created,
// the others lost.
func (m *namesModel) lookedUp(spawned []*mSess, created bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, s := range spawned {
		if created && i == len(spawned)-1 {
			m.created++
			m.own(s.rec, "its LookupOrSpawn returned created")
			continue
		}
		s.rec.loser = true
		if s.rec.handled > 0 {
			m.violation("#%d (%q on %s) lost its LookupOrSpawn but handled %d calls", s.rec.id, s.rec.name, s.rec.node, s.rec.handled)
		}
	}
}

// retire ends the windows of node's actors: its stop begins.
func (m *namesModel) retire(node string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, rec := range m.insts {
		if rec.node == node {
			rec.ended = true
		}
	}
}

// owners returns the refs of the live owners of name.
func (m *namesModel) owners(name string) []*actor.Ref[*mSess] {
	m.mu.Lock()
	defer m.mu.Unlock()
	var refs []*actor.Ref[*mSess]
	for _, rec := range m.insts {
		if rec.name == name && rec.owner && !rec.ended && rec.ref != nil {
			refs = append(refs, rec.ref)
		}
	}
	return refs
}

// TestNamesModelRandom: three nodes on one server; workers LookupOrSpawn
// random names on random nodes, call them from random nodes, stop them
// (a remote quit, or Ref.Stop on their node), while one node is stopped
// (Shutdown or Close) at a random moment and a new one started in its
// place. At no moment does a name have two owners (see namesModel), and
// each operation gets one documented outcome.
func TestNamesModelRandom(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) { namesModelRun(t, seed) })
	}
}

func namesModelRun(t *testing.T, seed uint64) {
	const (
		slots   = 3
		workers = 6
		run     = 1500 * time.Millisecond
	)
	names := []string{"alice", "bob", "carol"}
	s := startServer(t)
	m := &namesModel{closed: map[string]bool{}}
	var nodes [slots]atomic.Pointer[remote.Node]
	gen := 0
	start := func(slot int) {
		gen++
		n := startNode(t, s.ClientURL(), remote.WithName(fmt.Sprintf("s%d-g%d", slot, gen)))
		nodes[slot].Store(n)
	}
	for i := range slots {
		start(i)
	}
	var closing atomic.Bool // a node's stop has begun: ErrClosed is an outcome
	methods := []remote.Entry[*mSess]{remote.Serve(mTouch), remote.Serve(mQuit)}

	// check records an operation's outcome: err must be one of ok's.
	check := func(op string, err error, ok ...error) {
		if err == nil {
			return
		}
		for _, o := range ok {
			if errors.Is(err, o) && (o != remote.ErrClosed && o != actor.ErrStopped || closing.Load()) {
				return
			}
		}
		m.mu.Lock()
		m.violation("%s: unexpected outcome %v", op, err)
		m.mu.Unlock()
	}

	end := time.Now().Add(run)
	var wg sync.WaitGroup
	for w := range workers {
		rng := rand.New(rand.NewPCG(seed, uint64(w)))
		wg.Go(func() {
			for time.Now().Before(end) {
				name := names[rng.IntN(len(names))]
				n := nodes[rng.IntN(slots)].Load()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				switch k := rng.IntN(10); {
				case k < 4:
					var spawned []*mSess
					node := n.ID()
					_, created, err := remote.LookupOrSpawn(ctx, n, name, func() *mSess {
						s := m.spawned(name, node)
						spawned = append(spawned, s)
						return s
					}, methods...)
					m.lookedUp(spawned, created)
					// actor.ErrStopped: SpawnFunc's, on the stopped node's
					// runtime, closed after it (an Owner before the stop).
					check("LookupOrSpawn("+name+") on "+node, err, remote.ErrClosed, actor.ErrStopped)
				case k < 8:
					_, err := remote.Bind(n, name, mTouch).Call(ctx, time.Duration(rng.IntN(6))*time.Millisecond)
					m.mu.Lock()
					m.calls++
					m.mu.Unlock()
					check("touch "+name+" from "+n.ID(), err, remote.ErrNotFound, remote.ErrStopped, remote.ErrClosed)
				case k < 9:
					_, err := remote.Bind(n, name, mQuit).Call(ctx, 0)
					m.mu.Lock()
					m.quits++
					m.mu.Unlock()
					check("quit "+name+" from "+n.ID(), err, remote.ErrNotFound, remote.ErrStopped, remote.ErrClosed)
				default:
					for _, ref := range m.owners(name) {
						err := ref.Stop(ctx)
						m.mu.Lock()
						m.stops++
						m.mu.Unlock()
						check("Ref.Stop of "+name, err)
					}
				}
				cancel()
			}
		})
	}

	// One node stops at a random moment, and perhaps another takes its place.
	rng := rand.New(rand.NewPCG(seed, 99))
	time.Sleep(time.Duration(float64(run) * (0.2 + 0.5*rng.Float64())))
	slot := rng.IntN(slots)
	victim := nodes[slot].Load()
	graceful := rng.IntN(2) == 0
	closing.Store(true)
	m.retire(victim.ID())
	stopped := make(chan error, 1)
	go func() {
		if graceful {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			stopped <- victim.Shutdown(ctx)
			return
		}
		stopped <- victim.Close()
	}()
	select {
	case err := <-stopped:
		if err != nil {
			t.Errorf("stop of %s (graceful %v): %v", victim.ID(), graceful, err)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("stop of %s (graceful %v) did not end in 15 s", victim.ID(), graceful)
	}
	m.mu.Lock()
	m.closed[victim.ID()] = true
	m.mu.Unlock()
	// The runtime stops too, as the process would: its actors, alive
	// still (the node's stop leaves them), stop.
	if err := victim.Runtime().Close(); err != nil {
		t.Errorf("runtime of %s: Close: %v", victim.ID(), err)
	}
	if rng.IntN(3) != 0 {
		start(slot)
	}
	wg.Wait()

	m.mu.Lock()
	defer m.mu.Unlock()
	t.Logf("seed %d: stopped %s (graceful %v); %d actors, %d created, %d touches, %d quits, %d Ref.Stops, %d handled",
		seed, victim.ID(), graceful, len(m.insts), m.created, m.calls, m.quits, m.stops, m.handled)
	if len(m.bad) > 0 {
		t.Errorf("%d violations:\n%s", len(m.bad), strings.Join(m.bad, "\n"))
	}
	if m.created == 0 || m.handled == 0 {
		t.Errorf("the run created %d owners and handled %d calls: nothing was checked", m.created, m.handled)
	}
}
