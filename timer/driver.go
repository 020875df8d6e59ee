package timer

import "time"

// Work the driver does per hold of the lock, so that AfterFunc and Stop
// callers never wait long behind a big cascade or a burst of expiries.
const (
	fireBatch  = 64   // callbacks taken out to run
	moveBudget = 1024 // timers moved down a level
)

// run is the driver goroutine: it processes due slots, runs the callbacks
// taken out of them outside the lock, and sleeps until the next occupied
// slot comes due (on one reused time.Timer) or, with nothing pending,
// until a timer is added. It exits when the wheel is stopped, closing
// w.done, unless Wheel.Stop is still telling the Droppers it dropped:
// then Stop closes it once they have returned.
func (w *Wheel) run() {
	defer w.exit()
	s := sleeper{armed: never}
	defer s.stop()
	var batch [fireBatch]Callback
	target := never // the tick the driver last chose to wake at
	for {
		now := w.now()
		w.mu.Lock()
		if w.stopped {
			w.mu.Unlock()
			return
		}
		if w.wakeAt != 0 {
			target = min(target, w.wakeAt) // lowered by AfterFunc or Reset
		}
		w.wakeAt = 0 // running: no need to notify
		fs, more := w.advanceLocked(now, batch[:0])
		if len(fs) == 0 && !more {
			_, _, next, ok := w.levels.next(w.cur)
			switch {
			case !ok:
				target = never
			case target <= now:
				target = next
			default:
				// Keep an earlier wake-up asked for a timer stopped
				// since: waking for nothing is cheap, while waking
				// later would make the next such AfterFunc notify
				// the driver again.
				target = min(target, next)
			}
			w.wakeAt = target
			w.mu.Unlock()
			s.sleep(w, target)
			continue
		}
		// The first callback is begun now, under the lock that saw the
		// wheel running; the others are held until fire begins them.
		w.held = max(len(fs)-1, 0)
		w.mu.Unlock()
		w.fire(fs)
		clear(fs)
	}
}

// exit closes w.done as the driver exits, or leaves that to Wheel.Stop
// if it is still calling the Dropped methods of the pending timers it
// dropped (Done is closed only once every Dropped has returned).
func (w *Wheel) exit() {
	w.mu.Lock()
	leave := w.dropping
	w.exited = leave // only then: a driver ended by a Goexit closed done already
	w.mu.Unlock()
	if !leave {
		close(w.done)
	}
}

// fire runs the callbacks fs taken out to run, the first of which the
// driver has begun already. Before each of the others it takes the lock
// to begin it, unless the wheel has been stopped: then Stop has counted
// the rest among those it dropped, and none of them runs (the Droppers
// among them are told, here, before the driver exits). So no callback
// begins once Stop has returned, and Stop need not wait for the driver.
// Cost: one uncontended lock per callback after the first of a batch.
func (w *Wheel) fire(fs []Callback) {
	for i, f := range fs {
		if i > 0 {
			w.mu.Lock()
			if w.stopped {
				w.mu.Unlock()
				for _, f := range fs[i:] {
					if d, ok := f.(Dropper); ok {
						w.drop(d)
					}
				}
				return
			}
			w.held--
			w.mu.Unlock()
		}
		w.call(f)
	}
}

// now returns the current tick, on the monotonic clock.
func (w *Wheel) now() uint64 {
	return uint64(time.Since(w.start) / w.tick)
}

// advanceLocked processes, in deadline order, the slots due at or before
// tick now: it moves the timers of a higher-level slot down the wheel and
// takes those of a level-0 slot out to run, appending their callbacks to
// fs. It stops early, returning more, when fs is full or it has moved
// moveBudget timers; otherwise it advances w.cur to now.
func (w *Wheel) advanceLocked(now uint64, fs []Callback) (_ []Callback, more bool) {
	budget := moveBudget
	for {
		lvl, s, due, ok := w.levels.next(w.cur)
		if !ok || due > now {
			w.cur = max(w.cur, now)
			return fs, false
		}
		w.cur = max(w.cur, due)
		lv := &w.levels[lvl]
		sl, nl := &lv.slots[s].timers, &lv.slots[s].nodes
		switch {
		case lvl == 0:
			// Every timer here is due at or before w.cur. A node is
			// freed as it is taken out: its Handle can no longer stop it.
			for !sl.empty() && len(fs) < cap(fs) {
				t := sl.popFront()
				t.setPos(notPending, 0)
				w.n--
				fs = append(fs, t.cb)
			}
			for !nl.empty() && len(fs) < cap(fs) {
				c, i, _ := w.arena.popFront(nl)
				f := c.fns[i]
				w.arena.free(c, i)
				w.n--
				fs = append(fs, funcCallback(f))
			}
		case lvl < topLevel:
			// Each lands on a lower level (or level 0's due slot), so
			// this slot can be emptied in several steps.
			for !sl.empty() && budget > 0 {
				w.placeLocked(sl.popFront())
				budget--
			}
			for !nl.empty() && budget > 0 {
				c, i, _ := w.arena.popFront(nl)
				w.placeNodeLocked(c, i)
				budget--
			}
		default:
			// A top-level timer can land back in this very slot, for
			// the next turn: detach the whole slot first.
			all, nall := *sl, *nl
			*sl, *nl = list{}, nlist{}
			for t := all.popFront(); t != nil; t = all.popFront() {
				w.placeLocked(t)
				budget--
			}
			for c, i, ok := w.arena.popFront(&nall); ok; c, i, ok = w.arena.popFront(&nall) {
				w.placeNodeLocked(c, i)
				budget--
			}
		}
		if lv.slots[s].empty() {
			lv.occupied &^= 1 << uint(s)
		}
		if len(fs) == cap(fs) || budget <= 0 {
			return fs, true
		}
	}
}
