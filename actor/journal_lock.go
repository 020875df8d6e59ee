package actor

// The producers' lock. A Send used to take a sync.Mutex (a CAS), store
// tail (an XCHG: Go's atomic store is sequentially consistent) and unlock
// (an XADD): three locked instructions, the better part of its cost. The
// lock now lives in the word readers load tail from, state = tail<<1 | 1
// while a producer holds the journal: lockP is one CAS, and unlockP one
// store that releases the lock and publishes the new tail at once.
//
// Ordering. Everything a producer writes under the lock (the new item's
// slot, pt, ph, zeroed, …) precedes its unlocking store, so the next
// producer, whose CAS reads that store, sees it, and so does a reader
// that loads tail from it. A reader that loads state while it is locked
// gets the tail published by the last unlock: the slot being written is
// at or beyond it, and no reader reads it.
//
// Waiting. A producer that finds the lock held yields its processor a
// few times (the holder runs a few dozen instructions, unless it is at a
// gate, walking the readers for room or closing the stream; it wakes
// readers after its unlock) and then parks on pwake, a channel of
// capacity 1, after counting itself in pwait. The parker adds to pwait before it loads state one last time;
// the unlocker stores state before it loads pwait: in Go's sequentially
// consistent order of atomics one of them sees the other, so either the
// parker finds the lock free and retries, or the unlocker sees it and
// puts a token in pwake (a token already there will wake a parker just
// as well). A token can outlive the parker it was for (which retried on
// its own): the next parker then wakes at once and retries, no harm done.
// A woken parker that loses the lock again counts itself again, and the
// winner's unlock wakes it. So while the lock is free and some producer
// is parked, a token waits in pwake or a woken producer runs: none is
// left behind.

import "runtime"

// spinP is how many times a producer retries a held lock, yielding its
// processor in between, before it parks.
const spinP = 4

// lockP takes the journal for a producer; unlockP releases it. A producer
// that holds it may read and write pt, ph, zeroed, starts and total.
func (j *journal[E]) lockP() {
	if !j.tryLockP() {
		j.lockSlowP()
	}
}

// tryLockP is lockP's fast path, which the hot callers (Send, SendWait)
// spell out: lockP itself is over the inliner's budget.
func (j *journal[E]) tryLockP() bool {
	s := j.state.Load() &^ 1
	return j.state.CompareAndSwap(s, s|1) // fails if held
}

func (j *journal[E]) lockSlowP() {
	for spin := 0; ; spin++ {
		s := j.state.Load()
		if s&1 == 0 {
			if j.state.CompareAndSwap(s, s|1) {
				return
			}
			continue
		}
		if spin < spinP {
			runtime.Gosched()
			continue
		}
		j.pwait.Add(1)
		if j.state.Load()&1 == 0 { // freed meanwhile: its unlock may not have seen us
			j.pwait.Add(-1)
			continue
		}
		<-j.pwake
		j.pwait.Add(-1)
	}
}

// unlockP releases the journal and publishes pt as the new tail: readers
// that load it from now on read the items below it.
func (j *journal[E]) unlockP() {
	j.state.Store(j.pt << 1)
	if j.pwait.Load() > 0 {
		select {
		case j.pwake <- struct{}{}:
		default: // a token waits already
		}
	}
}

// tailNow is the tail as published: items below it can be read.
func (j *journal[E]) tailNow() uint64 { return j.state.Load() >> 1 }
