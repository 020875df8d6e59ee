package timer

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// sim drives a wheel by hand, without its goroutine or a clock: ticks are
// handed to advanceLocked directly, so the cascade can be checked at every
// step for any sequence of adds, stops and clock jumps.
type sim struct {
	t     *testing.T
	w     *Wheel
	now   uint64            // the tick the last advance ran at
	fired map[*Timer]uint64 // tick it fired at
	batch [fireBatch]Callback
	// Every other add is a Schedule node, for which a Timer (never armed)
	// stands as the key; handles maps it to the node's Handle.
	handles map[*Timer]Handle
	adds    int
}

func newSim(t *testing.T) *sim {
	w, err := New()
	if err != nil {
		t.Fatal(err)
	}
	return &sim{t: t, w: w, fired: map[*Timer]uint64{}, handles: map[*Timer]Handle{}}
}

// add schedules a timer due at tick when (no goroutine is started): a
// Timer or, every other time, a Schedule node.
func (s *sim) add(when uint64) *Timer {
	if s.adds++; s.adds%2 == 0 {
		return s.addNode(when)
	}
	tm := &Timer{}
	tm.w.Store(s.w)
	tm.setPos(notPending, 0)
	tm.cb = funcCallback(func() {
		if _, ok := s.fired[tm]; ok {
			s.t.Fatalf("timer due at %d fired twice", tm.when())
		}
		s.fired[tm] = s.now
	})
	tm.setWhen(when)
	s.w.placeLocked(tm)
	s.w.n++
	return tm
}

// addNode schedules a Schedule node due at tick when and returns the
// Timer that stands for it.
func (s *sim) addNode(when uint64) *Timer {
	key := &Timer{}
	key.setWhen(when)
	c, i := s.w.arena.alloc(s.w)
	c.fns[i] = func() {
		if _, ok := s.fired[key]; ok {
			s.t.Fatalf("node due at %d fired twice", when)
		}
		s.fired[key] = s.now
	}
	c.nodes[i].pos.setWhen(when)
	s.w.placeNodeLocked(c, i)
	s.w.n++
	s.handles[key] = Handle{c: c, ref: c.nodes[i].gen<<chunkBits | uint64(i)}
	return key
}

// stop stops the timer tm stands for.
func (s *sim) stop(tm *Timer) bool {
	if h, ok := s.handles[tm]; ok {
		return h.Stop()
	}
	return tm.Stop()
}

// pending reports whether the timer tm stands for is pending.
func (s *sim) pending(tm *Timer) bool {
	if h, ok := s.handles[tm]; ok {
		n := &h.c.nodes[h.ref&chunkMask]
		return n.gen == h.ref>>chunkBits && n.pos.level() != notPending
	}
	return tm.level() != notPending
}

// advance runs the wheel at tick now until nothing more is due.
func (s *sim) advance(now uint64) {
	s.now = now
	for {
		fs, more := s.w.advanceLocked(now, s.batch[:0])
		for _, f := range fs {
			f.Fire()
		}
		s.check()
		if len(fs) == 0 && !more {
			return
		}
	}
}

// check verifies the wheel's invariants: bitmaps match the lists, links
// are consistent, each timer sits where it is reached in time, and the
// count matches.
func (s *sim) check() {
	w := s.w
	n := 0
	for l := range numLevels {
		lv := &w.levels[l]
		for sl := range numSlots {
			lst := &lv.slots[sl].timers
			var prev *Timer
			for tm := lst.head; tm != nil; tm = tm.next {
				n++
				if tm.prev != prev || int(tm.level()) != l || int(tm.slot()) != sl {
					s.t.Fatalf("level %d slot %d: bad links or position (%d, %d)", l, sl, tm.level(), tm.slot())
				}
				due := slotDeadline(w.cur, l, sl)
				if due < w.cur {
					s.t.Fatalf("level %d slot %d due %d behind cur %d", l, sl, due, w.cur)
				}
				if due > max(tm.when(), w.cur) {
					s.t.Fatalf("level %d slot %d due %d after timer's tick %d (cur %d): would fire late", l, sl, due, tm.when(), w.cur)
				}
				prev = tm
			}
			if lst.tail != prev {
				s.t.Fatalf("level %d slot %d: tail is not the last timer", l, sl)
			}
			nl := &lv.slots[sl].nodes
			if got, want := lv.occupied&(1<<uint(sl)) != 0, !lst.empty() || !nl.empty(); got != want {
				s.t.Fatalf("level %d slot %d: occupied bit %v; want %v (nodes)", l, sl, got, want)
			}
			var prevID uint32
			for id := nl.head; id != 0; id = w.arena.node(id).next {
				n++
				nd := w.arena.node(id)
				if nd.prev != prevID || int(nd.pos.level()) != l || int(nd.pos.slot()) != sl {
					s.t.Fatalf("level %d slot %d: bad node links or position (%d, %d)", l, sl, nd.pos.level(), nd.pos.slot())
				}
				if due := slotDeadline(w.cur, l, sl); due > max(nd.pos.when(), w.cur) {
					s.t.Fatalf("level %d slot %d due %d after node's tick %d (cur %d): would fire late", l, sl, due, nd.pos.when(), w.cur)
				}
				prevID = id
			}
			if nl.tail != prevID {
				s.t.Fatalf("level %d slot %d: tail is not the last node", l, sl)
			}
		}
	}
	if n != w.n {
		s.t.Fatalf("%d timers in slots; n = %d", n, w.n)
	}
}

// TestSimCascade checks, in tick arithmetic only, that timers of every
// level and beyond the span fire at the first advance at or after their
// tick (overdue ones at the next advance), with adds and stops interleaved
// with clock jumps of every size.
func TestSimCascade(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	s := newSim(t)
	stopped := map[*Timer]bool{}
	added := map[*Timer]uint64{} // tick of the last advance before the add
	var all, live []*Timer       // every timer; those not fired or stopped
	steps := 3000
	if testing.Short() {
		steps = 500
	}
	for range steps {
		for range rng.IntN(20) {
			var when uint64
			switch k := rng.IntN(9); k {
			case 0: // overdue
				when = s.now - min(s.now, rng.Uint64N(100))
			case 7, 8: // beyond the span
				when = s.now + 1 + rng.Uint64N(1<<40)
			default: // within level k-1
				when = s.now + 1 + rng.Uint64N(1<<(6*k))
			}
			tm := s.add(when)
			added[tm] = s.now
			all = append(all, tm)
			live = append(live, tm)
		}
		for range rng.IntN(5) {
			tm := all[rng.IntN(len(all))]
			pending := s.pending(tm)
			if got := s.stop(tm); got != pending {
				t.Fatalf("Stop = %v; want %v", got, pending)
			} else if got {
				stopped[tm] = true
			}
		}
		var jump uint64
		switch rng.IntN(10) {
		case 0:
			jump = rng.Uint64N(1 << 37)
		case 1, 2:
			jump = rng.Uint64N(1 << 20)
		default:
			jump = rng.Uint64N(80)
		}
		prev := s.now
		s.advance(s.now + jump)
		live = slices.DeleteFunc(live, func(tm *Timer) bool {
			at, ok := s.fired[tm]
			due := max(tm.when(), added[tm]+1) // overdue: the next advance
			switch {
			case stopped[tm] && ok:
				t.Fatalf("stopped timer fired")
			case ok && at < tm.when():
				t.Fatalf("timer due at %d fired early at %d", tm.when(), at)
			case ok && due <= prev:
				t.Fatalf("timer due at %d (added after %d) fired at %d; due by the advance at %d", tm.when(), added[tm], at, prev)
			case !ok && !stopped[tm] && due <= s.now:
				t.Fatalf("timer due at %d (added after %d) not fired at %d", tm.when(), added[tm], s.now)
			}
			return ok || stopped[tm]
		})
	}
	s.advance(s.now + 1<<42)
	if s.w.n != 0 {
		t.Fatalf("%d timers left; want 0", s.w.n)
	}
	if got, want := len(s.fired)+len(stopped), len(all); got != want {
		t.Fatalf("fired %d + stopped %d = %d; want %d", len(s.fired), len(stopped), got, want)
	}
}

// TestSimChunkedCascade interrupts the cascade of a crowded slot, which
// the driver spreads over several holds of the lock, with adds and stops,
// and checks every timer still fires at its tick.
func TestSimChunkedCascade(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	s := newSim(t)
	var all []*Timer
	// Ticks 4096..8191: slot 1 of level 2, due at 4096.
	for range 5 * moveBudget {
		all = append(all, s.add(4096+rng.Uint64N(4096)))
	}
	stopped := map[*Timer]bool{}
	s.now = 4096
	for round := 0; ; round++ {
		fs, more := s.w.advanceLocked(4096, s.batch[:0])
		for _, f := range fs {
			f.Fire()
		}
		s.check()
		if len(fs) == 0 && !more {
			break
		}
		// Between two holds of the lock: add around the current tick
		// and stop timers wherever they are.
		for range 50 {
			all = append(all, s.add(4090+rng.Uint64N(8000)))
		}
		for range 50 {
			tm := all[rng.IntN(len(all))]
			if s.stop(tm) {
				stopped[tm] = true
			}
		}
		if round > 1000 {
			t.Fatalf("cascade not done after %d rounds", round)
		}
	}
	for now := uint64(4097); now < 20000; now += 1 + rng.Uint64N(3) {
		s.advance(now)
	}
	for _, tm := range all {
		at, ok := s.fired[tm]
		switch {
		case stopped[tm] && ok:
			t.Fatalf("stopped timer fired")
		case !stopped[tm] && !ok:
			t.Fatalf("timer due at %d never fired", tm.when())
		case ok && at < tm.when():
			t.Fatalf("timer due at %d fired early at %d", tm.when(), at)
		case ok && at > max(tm.when(), 4096)+2:
			t.Fatalf("timer due at %d fired late at %d", tm.when(), at)
		}
	}
}
