package mailbox

import "slices"

// filter is the admit filter. The zero filter admits everything.
type filter struct {
	only bool  // if false, every key is admitted
	keys []Key // sorted, distinct: the admitted keys when only is set
}

// admits reports whether k passes the filter. O(log len(keys)).
func (f *filter) admits(k Key) bool {
	if !f.only {
		return true
	}
	if len(f.keys) <= 8 {
		return slices.Contains(f.keys, k)
	}
	_, found := slices.BinarySearch(f.keys, k)
	return found
}

// set admits exactly keys, reusing the filter's storage.
func (f *filter) set(keys []Key) {
	f.only = true
	f.keys = append(f.keys[:0], keys...)
	slices.Sort(f.keys)
	f.keys = slices.Compact(f.keys)
}

// Admit sets the admit filter: from now on Pop returns only user messages
// whose key is among keys (none if keys is empty); the others are held, in
// arrival order, until admitted. System messages are never filtered.
// Consumer only, like Pop (during its turn): Pop reads whether a filter is
// set without the lock, so a call from another goroutine races with it (a
// data race, and a Pop that may still return what the filter no longer
// admits); nor would it schedule the consumer for the held messages it
// admits. Cost: O(len(keys)·log(len(keys)) + h) for h held keys; it
// allocates only to store more keys than any earlier call.
func (m *Mailbox[T]) Admit(keys ...Key) {
	q := m.lock()
	q.filter.set(keys)
	m.filtered = true
	m.rebuildActiveLocked(q)
	q.mu.Unlock()
}

// AdmitAll lifts the admit filter (the default): every held message
// becomes poppable, oldest first. Call it from the consumer, like
// [Mailbox.Admit]. Cost: O(h) for h held keys; no allocation.
func (m *Mailbox[T]) AdmitAll() {
	q := m.q.Load()
	if q == nil {
		return
	}
	q.mu.Lock()
	q.filter.only = false
	q.filter.keys = q.filter.keys[:0]
	m.filtered = false
	m.rebuildActiveLocked(q)
	q.mu.Unlock()
}

// Admitted reports whether the filter admits k. Safe for concurrent use;
// O(log n) for a filter of n keys.
func (m *Mailbox[T]) Admitted(k Key) bool {
	q := m.lockMade()
	if q == nil {
		return true
	}
	defer q.mu.Unlock()
	return q.filter.admits(k)
}

// HeldEach calls f with each live held message, key by key, in arrival
// order within a key. It runs under the mailbox's lock: f must be cheap,
// must not block and must not call back into the mailbox. For debugging;
// O(held).
func (m *Mailbox[T]) HeldEach(f func(msg T)) {
	q := m.lockMade()
	if q == nil {
		return
	}
	defer q.mu.Unlock()
	live := m.cfg.Live
	for _, hq := range q.nonEmpty {
		for i := range hq.r.n {
			if msg := hq.r.at(i).msg; live == nil || live(msg) {
				f(msg)
			}
		}
	}
}

// Held returns, per key, how many held messages are live (all of them if
// [Config.Live] is nil); keys with none are absent. For debugging: it is
// safe for concurrent use but takes the lock for O(held messages) and
// allocates the map. Messages still in the main queue are not counted:
// they are moved to held only when Pop reaches them.
func (m *Mailbox[T]) Held() map[Key]int {
	out := make(map[Key]int)
	q := m.lockMade()
	if q == nil {
		return out
	}
	defer q.mu.Unlock()
	live := m.cfg.Live
	for _, hq := range q.nonEmpty {
		n := hq.r.n
		if live != nil {
			n = 0
			for i := range hq.r.n {
				if live(hq.r.at(i).msg) {
					n++
				}
			}
		}
		if n > 0 {
			out[hq.key] = int(n)
		}
	}
	return out
}
