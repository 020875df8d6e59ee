package timer

// scheduleLocked places t, due at tick when, and makes sure the driver is
// running and wakes up no later than t's slot comes due.
func (w *Wheel) scheduleLocked(t *Timer, when uint64) {
	t.setWhen(when)
	w.armedLocked(w.placeLocked(t))
}

// armedLocked counts a timer just placed in a slot due at tick due, and
// makes sure the driver is running and wakes up no later than that.
func (w *Wheel) armedLocked(due uint64) {
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
	lv.slots[s].timers.pushBack(t)
	lv.occupied |= 1 << uint(s)
	t.setPos(uint8(lvl), uint8(s))
	return slotDeadline(w.cur, lvl, s)
}

// removeLocked takes the pending timer t out of its slot.
func (w *Wheel) removeLocked(t *Timer) {
	lv := &w.levels[t.level()]
	sl := &lv.slots[t.slot()].timers
	sl.remove(t)
	if lv.slots[t.slot()].empty() {
		lv.occupied &^= 1 << t.slot()
	}
	t.setPos(notPending, 0)
	w.n--
}

// placeNodeLocked puts node s of c into the slot for its due tick and
// returns the tick at which that slot comes due.
func (w *Wheel) placeNodeLocked(c *chunk, s int) uint64 {
	n := &c.nodes[s]
	lvl, sl := position(w.cur, n.pos.when())
	lv := &w.levels[lvl]
	w.arena.pushBack(&lv.slots[sl].nodes, c.id(s), n)
	lv.occupied |= 1 << uint(sl)
	n.pos.setPos(uint8(lvl), uint8(sl))
	return slotDeadline(w.cur, lvl, sl)
}

// removeNodeLocked takes the pending node s of c out of its slot and
// frees it.
func (w *Wheel) removeNodeLocked(c *chunk, s int) {
	n := &c.nodes[s]
	lvl, sl := int(n.pos.level()), int(n.pos.slot())
	lv := &w.levels[lvl]
	w.arena.remove(&lv.slots[sl].nodes, n)
	if lv.slots[sl].empty() {
		lv.occupied &^= 1 << uint(sl)
	}
	w.arena.free(c, s)
	w.n--
}

// dropLocked unlinks every pending timer and returns how many there were,
// and the callbacks among them that are Droppers (to be told, outside the
// lock).
func (w *Wheel) dropLocked() (int, []Dropper) {
	var ds []Dropper
	for l := range w.levels {
		for s := range w.levels[l].slots {
			sl := &w.levels[l].slots[s].timers
			for t := sl.popFront(); t != nil; t = sl.popFront() {
				t.setPos(notPending, 0)
				if d, ok := t.cb.(Dropper); ok {
					ds = append(ds, d)
				}
			}
			nl := &w.levels[l].slots[s].nodes
			for c, i, ok := w.arena.popFront(nl); ok; c, i, ok = w.arena.popFront(nl) {
				w.arena.free(c, i)
			}
		}
		w.levels[l].occupied = 0
	}
	n := w.n
	w.n = 0
	return n, ds
}
