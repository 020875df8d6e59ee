package runtime

import (
	"fmt"
	"sync"

	"github.com/cespare/xxhash/v2"
	"github.com/troupe-go/troupe/actor"
)

const shards = 64 // a power of two

// registry maps names to running actors, split into shards by the name's
// xxhash so that spawns and lookups of different names rarely contend.
type registry struct {
	shards [shards]shard
}

type shard struct {
	mu sync.RWMutex           // guards m
	m  map[string]actor.Actor // name → the actor holding it
	_  [40]byte               // keep shards on separate cache lines
}

var _ actor.Names = (*registry)(nil)

func newRegistry() *registry {
	r := &registry{}
	for i := range r.shards {
		r.shards[i].m = make(map[string]actor.Actor)
	}
	return r
}

func (r *registry) shard(name string) *shard {
	return &r.shards[xxhash.Sum64String(name)&(shards-1)]
}

// Register claims name for a. A name held by a stopping or stopped actor
// is free. O(1).
func (r *registry) Register(name string, a actor.Actor) error {
	s := r.shard(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.m[name]; ok && !old.Stopped() {
		return fmt.Errorf("%w: %q", actor.ErrNameTaken, name)
	}
	s.m[name] = a
	return nil
}

// Unregister frees name if a still holds it. O(1).
func (r *registry) Unregister(name string, a actor.Actor) {
	s := r.shard(name)
	s.mu.Lock()
	if s.m[name] == a {
		delete(s.m, name)
	}
	s.mu.Unlock()
}

// lookup returns the running actor holding name. O(1).
func (r *registry) lookup(name string) (actor.Actor, bool) {
	s := r.shard(name)
	s.mu.RLock()
	a, ok := s.m[name]
	s.mu.RUnlock()
	if !ok || a.Stopped() {
		return nil, false
	}
	return a, true
}
