package runtime

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/cespare/xxhash/v2"
	"github.com/troupe-go/troupe/internal/engine"
)

const shards = 64 // a power of two

// registry maps names to running actors, split into shards by the name's
// xxhash so that spawns and lookups of different names rarely contend.
type registry struct {
	shards [shards]shard
}

type shard struct {
	mu sync.RWMutex                // guards m
	m  map[string]engine.Stoppable // name → the actor holding it
	_  [shardPad]byte              // 64 bytes: shards on separate cache lines
}

// shardPad fills a shard to 64 bytes, whatever the word size.
const shardPad = 64 - unsafe.Sizeof(sync.RWMutex{}) - unsafe.Sizeof(map[string]engine.Stoppable(nil))

var _ engine.Names = (*registry)(nil)

func newRegistry() *registry {
	r := &registry{}
	for i := range r.shards {
		r.shards[i].m = make(map[string]engine.Stoppable)
	}
	return r
}

func (r *registry) shard(name string) *shard {
	return &r.shards[xxhash.Sum64String(name)&(shards-1)]
}

// Register claims name for a. A name stays held while its actor stops
// (its queued calls and Stopping hook still run): its end frees it
// (Unregister), just before its Done closes. O(1).
func (r *registry) Register(name string, a engine.Stoppable) error {
	s := r.shard(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.m[name]; ok {
		if old.Stopped() {
			return fmt.Errorf("%w: %q (its actor is stopping)", engine.ErrNameTaken, name)
		}
		return fmt.Errorf("%w: %q", engine.ErrNameTaken, name)
	}
	s.m[name] = a
	return nil
}

// Unregister frees name if a still holds it. O(1).
func (r *registry) Unregister(name string, a engine.Stoppable) {
	s := r.shard(name)
	s.mu.Lock()
	if s.m[name] == a {
		delete(s.m, name)
	}
	s.mu.Unlock()
}

// holder returns the actor holding name, running or stopping. O(1).
func (r *registry) holder(name string) (engine.Stoppable, bool) {
	s := r.shard(name)
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.m[name]
	return a, ok
}

// stopping returns the stopping actor that holds name, if one does. O(1).
func (r *registry) stopping(name string) (engine.Stoppable, bool) {
	if a, ok := r.holder(name); ok && a.Stopped() {
		return a, true
	}
	return nil, false
}

// lookup returns the running actor holding name. O(1).
func (r *registry) lookup(name string) (engine.Stoppable, bool) {
	if a, ok := r.holder(name); ok && !a.Stopped() {
		return a, true
	}
	return nil, false
}
