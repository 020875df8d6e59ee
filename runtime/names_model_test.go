package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	troupe "github.com/troupe-go/troupe/runtime"
)

// The names model test: goroutines and handlers get, spawn, look up,
// call, stop and kill actors of a few names at random, in a synctest
// bubble. Whatever the interleaving:
//
//   - two actors of one name never run at once: from the first turn of
//     one (its Started hook) to the end of its Stopping hook, no other of
//     its name runs a hook or a handler;
//   - every operation returns one of its documented errors, and never
//     waits out a deadline (a LookupOrSpawn from a handler of the name's
//     own stopping actor fails with ErrCallCycle at once);
//   - a handler looking its own name up spawns nothing;
//   - every actor that started runs its Stopping hook by the end of the
//     runtime's Shutdown, and nothing is left running (the bubble ends).

// tenant is a named actor of the model.
type tenant struct {
	name string
	id   int
	tab  *nameTab
}

// nameTab records which actor of each name is in its life window.
type nameTab struct {
	t       *testing.T
	mu      sync.Mutex
	live    map[string]int // name -> id of the actor in its window (0: none)
	started map[int]bool
	stopped map[int]bool
	nextID  int
}

// enter marks actor id of name as running; it fails the test if another
// of the name is in its window.
func (nt *nameTab) enter(name string, id int, what string) {
	nt.mu.Lock()
	defer nt.mu.Unlock()
	if other := nt.live[name]; other != 0 && other != id {
		nt.t.Errorf("%s: actor %d of %q runs while actor %d of it is not done", what, id, name, other)
	}
	nt.live[name] = id
}

func (nt *nameTab) newTenant(name string) *tenant {
	nt.mu.Lock()
	defer nt.mu.Unlock()
	nt.nextID++
	return &tenant{name: name, id: nt.nextID, tab: nt}
}

func (tn *tenant) Started(*actor.Ctx) error {
	tn.tab.enter(tn.name, tn.id, "Started")
	tn.tab.mu.Lock()
	tn.tab.started[tn.id] = true
	tn.tab.mu.Unlock()
	return nil
}

func (tn *tenant) Stopping(*actor.Ctx) {
	tn.tab.enter(tn.name, tn.id, "Stopping")
	time.Sleep(time.Millisecond) // the window stays open a while
	tn.tab.mu.Lock()
	defer tn.tab.mu.Unlock()
	tn.tab.stopped[tn.id] = true
	if tn.tab.live[tn.name] == tn.id {
		tn.tab.live[tn.name] = 0
	}
}

// tenantWork is what a handler does: sleep, then perhaps look its own name
// up, or stop an actor of another name.
type tenantWork struct {
	Sleep  time.Duration
	Self   bool   // LookupOrSpawn its own name
	StopOf string // Stop the actor of this name, if any
}

var (
	modelRT   *troupe.Runtime // set per bubble, read by handlers
	modelRTMu sync.Mutex
)

var tenantDo = actor.NewMethod("do", func(tn *tenant, c *actor.Ctx, w tenantWork) (int, error) {
	tn.tab.enter(tn.name, tn.id, "a handler")
	time.Sleep(w.Sleep)
	modelRTMu.Lock()
	rt := modelRT
	modelRTMu.Unlock()
	if w.Self {
		_, created, err := troupe.LookupOrSpawn(c.Context(), rt, tn.name, func() *tenant { return tn.tab.newTenant(tn.name) })
		switch {
		case err == nil && created:
			tn.tab.t.Errorf("actor %d of %q: LookupOrSpawn of its own name from its handler spawned another", tn.id, tn.name)
		case err == nil, errors.Is(err, actor.ErrCallCycle):
		default:
			tn.tab.t.Errorf("actor %d of %q: LookupOrSpawn of its own name from its handler: %v", tn.id, tn.name, err)
		}
	}
	if w.StopOf != "" && w.StopOf != tn.name {
		if ref, err := troupe.Lookup[*tenant](rt, w.StopOf); err == nil {
			// A handler's Context ends when its actor is killed: the
			// Stop then returns that end.
			if err := ref.Stop(c.Context()); err != nil && !errors.Is(err, actor.ErrCallCycle) && c.Context().Err() == nil {
				tn.tab.t.Errorf("actor %d of %q: Stop of %q: %v", tn.id, tn.name, w.StopOf, err)
			}
		}
	}
	return tn.id, nil
})

func TestNamesModelRandom(t *testing.T) {
	for seed := range uint64(16) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			testkit.Bubble(t, func(t *testing.T) { runNamesModel(t, seed) })
		})
	}
}

func runNamesModel(t *testing.T, seed uint64) {
	rt, err := troupe.New()
	if err != nil {
		t.Fatal(err)
	}
	modelRTMu.Lock()
	modelRT = rt
	modelRTMu.Unlock()
	nt := &nameTab{t: t, live: map[string]int{}, started: map[int]bool{}, stopped: map[int]bool{}}
	names := []string{"n0", "n1", "n2"}
	// okCall: the outcomes a call to a named actor may have while others
	// stop and kill it.
	okCall := func(err error) bool {
		return err == nil || errors.Is(err, actor.ErrStopped) || errors.Is(err, actor.ErrCallCycle)
	}
	var wg sync.WaitGroup
	for g := range 5 {
		rng := rand.New(rand.NewPCG(seed, uint64(g)))
		wg.Go(func() {
			for range 30 {
				name := names[rng.IntN(len(names))]
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				w := tenantWork{Sleep: time.Duration(rng.IntN(3)) * time.Millisecond, Self: rng.IntN(4) == 0}
				if rng.IntN(5) == 0 {
					w.StopOf = names[rng.IntN(len(names))]
				}
				switch r := rng.IntN(10); {
				case r < 4:
					ref, _, err := troupe.LookupOrSpawn(ctx, rt, name, func() *tenant { return nt.newTenant(name) })
					if err != nil {
						t.Errorf("LookupOrSpawn %q: %v", name, err)
						break
					}
					if _, err := tenantDo.Call(ctx, ref, w); !okCall(err) {
						t.Errorf("call to %q: %v", name, err)
					}
				case r < 6:
					ref, err := actor.Spawn(rt, nt.newTenant(name), actor.WithName(name))
					switch {
					case errors.Is(err, actor.ErrNameTaken):
					case err != nil:
						t.Errorf("Spawn %q: %v", name, err)
					default:
						if err := tenantDo.Cast(ref, w); err != nil && !errors.Is(err, actor.ErrStopped) {
							t.Errorf("cast to %q: %v", name, err)
						}
					}
				case r < 9:
					ref, err := troupe.Lookup[*tenant](rt, name)
					if errors.Is(err, troupe.ErrNotFound) {
						break
					}
					if err != nil {
						t.Errorf("Lookup %q: %v", name, err)
						break
					}
					switch rng.IntN(3) {
					case 0:
						if err := ref.Stop(ctx); err != nil {
							t.Errorf("Stop %q: %v", name, err)
						}
					case 1:
						ref.Kill()
					default:
						if _, err := tenantDo.Call(ctx, ref, w); !okCall(err) {
							t.Errorf("call to %q: %v", name, err)
						}
					}
				default:
					time.Sleep(time.Duration(rng.IntN(5)) * time.Millisecond)
				}
				cancel()
			}
		})
	}
	wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rt.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	nt.mu.Lock()
	defer nt.mu.Unlock()
	for id := range nt.started {
		if !nt.stopped[id] {
			t.Errorf("actor %d started and never ran its Stopping hook", id)
		}
	}
}
