package engine

import (
	"slices"
	"sync"
)

// Tally counts what is in progress, by key: the goroutines of actor.Go by
// actor (System's work), for a stop that names whoever holds it up. Safe
// for concurrent use; its zero value is empty.
type Tally[K comparable] struct {
	mu   sync.Mutex
	n    map[K]int
	idle chan struct{} // closed when the tally empties; nil while it is empty
}

// Add counts one more for k. O(1).
func (t *Tally[K]) Add(k K) {
	t.mu.Lock()
	if t.n == nil {
		t.n = make(map[K]int)
	}
	if len(t.n) == 0 {
		t.idle = make(chan struct{})
	}
	t.n[k]++
	t.mu.Unlock()
}

// Done ends one that Add counted for k. O(1).
func (t *Tally[K]) Done(k K) {
	t.mu.Lock()
	if t.n[k]--; t.n[k] <= 0 {
		delete(t.n, k)
		if len(t.n) == 0 {
			close(t.idle)
			t.idle = nil
		}
	}
	t.mu.Unlock()
}

// Idle returns a channel closed once nothing is counted, or nil if
// nothing is now.
func (t *Tally[K]) Idle() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.idle
}

// Names returns the names of the keys counted now, sorted (nil if none).
// O(keys).
func (t *Tally[K]) Names(name func(K) string) []string {
	t.mu.Lock()
	var names []string
	for k := range t.n {
		names = append(names, name(k))
	}
	t.mu.Unlock()
	slices.Sort(names)
	return names
}
