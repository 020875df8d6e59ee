package timer

// scheduleLocked places t, due at tick when, and makes sure the driver is
// running and wakes up no later than t's slot comes due.
func (w *Wheel) scheduleLocked(t *Timer, when uint64) {
	t.setWhen(when)
	due := w.placeLocked(t)
	w.n++
	if !w.started {
		w.started = true
		go w.run()
		return
	}
	if due < w.wakeAt {
		w.wakeAt = due
		w.notify()
	}
}

// placeLocked puts t into the slot for t.when and returns the tick at
// which that slot comes due.
func (w *Wheel) placeLocked(t *Timer) uint64 {
	lvl, s := position(w.cur, t.when())
	lv := &w.levels[lvl]
	lv.slots[s].pushBack(t)
	lv.occupied |= 1 << uint(s)
	t.setPos(uint8(lvl), uint8(s))
	return slotDeadline(w.cur, lvl, s)
}

// removeLocked takes the pending timer t out of its slot.
func (w *Wheel) removeLocked(t *Timer) {
	lv := &w.levels[t.level()]
	sl := &lv.slots[t.slot()]
	sl.remove(t)
	if sl.empty() {
		lv.occupied &^= 1 << t.slot()
	}
	t.setPos(notPending, 0)
	w.n--
}

// dropLocked unlinks every pending timer and returns how many there were.
func (w *Wheel) dropLocked() int {
	for l := range w.levels {
		for s := range w.levels[l].slots {
			sl := &w.levels[l].slots[s]
			for t := sl.popFront(); t != nil; t = sl.popFront() {
				t.setPos(notPending, 0)
			}
		}
		w.levels[l].occupied = 0
	}
	n := w.n
	w.n = 0
	return n
}
