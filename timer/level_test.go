package timer

import (
	"math/bits"
	"math/rand/v2"
	"testing"
	"time"
)

func TestPosition(t *testing.T) {
	tests := []struct {
		cur, when uint64
		lvl, slot int
		due       uint64
	}{
		{cur: 0, when: 0, lvl: 0, slot: 0, due: 0},
		{cur: 10, when: 3, lvl: 0, slot: 10, due: 10}, // overdue: due now
		{cur: 0, when: 63, lvl: 0, slot: 63, due: 63},
		{cur: 0, when: 64, lvl: 1, slot: 1, due: 64},
		{cur: 63, when: 64, lvl: 1, slot: 1, due: 64},
		{cur: 64, when: 127, lvl: 0, slot: 63, due: 127},
		{cur: 100, when: 4095, lvl: 1, slot: 63, due: 4032},
		{cur: 0, when: 4096, lvl: 2, slot: 1, due: 4096},
		{cur: 0, when: 1<<36 - 1, lvl: 5, slot: 63, due: 63 << 30},
		// Beyond the span: top level, when's slot, in the next turn.
		{cur: 0, when: 1 << 36, lvl: 5, slot: 0, due: 1 << 36},
		{cur: 5 << 30, when: 1<<36 + 5<<30 + 7, lvl: 5, slot: 5, due: 1<<36 + 5<<30},
		{cur: 5 << 30, when: 1<<36 + 2<<30, lvl: 5, slot: 2, due: 1<<36 + 2<<30},
		// Crossing a turn of the top level one tick ahead.
		{cur: 1<<36 - 1, when: 1 << 36, lvl: 5, slot: 0, due: 1 << 36},
	}
	for _, tt := range tests {
		lvl, slot := position(tt.cur, tt.when)
		due := slotDeadline(tt.cur, lvl, slot)
		if lvl != tt.lvl || slot != tt.slot || due != tt.due {
			t.Errorf("position(%d, %d) = level %d slot %d due %d; want level %d slot %d due %d",
				tt.cur, tt.when, lvl, slot, due, tt.lvl, tt.slot, tt.due)
		}
	}
}

// checkPlacement verifies, for a timer due at tick when seen from tick
// cur, that its slot is reached no later than when and no earlier than
// cur, that the slot's deadline does not move while time advances short of
// it, that the hierarchy finds it, and that cascading from slot to slot
// ends on level 0 at exactly max(cur, when).
func checkPlacement(t *testing.T, cur, when, step uint64) {
	t.Helper()
	want := max(cur, when)
	for round := 0; ; round++ {
		lvl, slot := position(cur, when)
		if lvl < 0 || lvl >= numLevels || slot < 0 || slot >= numSlots {
			t.Fatalf("position(%d, %d) = level %d slot %d: out of range", cur, when, lvl, slot)
		}
		due := slotDeadline(cur, lvl, slot)
		if due < cur || due > want {
			t.Fatalf("cur %d when %d: level %d slot %d due %d; want within [%d, %d]", cur, when, lvl, slot, due, cur, want)
		}
		if lvl == 0 && due != want {
			t.Fatalf("cur %d when %d: level 0 slot %d due %d; want %d (fires early or late)", cur, when, slot, due, want)
		}
		if due > cur {
			// The clock moves to some tick short of due: same deadline.
			now := cur + step%(due-cur)
			if got := slotDeadline(now, lvl, slot); got != due {
				t.Fatalf("cur %d when %d level %d slot %d: due %d, but %d seen from %d", cur, when, lvl, slot, due, got, now)
			}
		}
		var h hierarchy
		h[lvl].occupied = 1 << uint(slot)
		if l, s, d, ok := h.next(cur); !ok || l != lvl || s != slot || d != due {
			t.Fatalf("next(%d) with level %d slot %d = %d %d %d %v; want due %d", cur, lvl, slot, l, s, d, ok, due)
		}
		if lvl == 0 {
			return
		}
		// Cascade: the slot comes due and the timer is placed again.
		nl, _ := position(due, when)
		if nl >= lvl && !(lvl == topLevel && due > cur) {
			t.Fatalf("cur %d when %d: cascade from level %d at %d lands on level %d", cur, when, lvl, due, nl)
		}
		if round > 2*numLevels+64 {
			t.Fatalf("cur %d when %d: not fired after %d cascades", cur, when, round)
		}
		cur = due
	}
}

// FuzzSlotArithmetic checks the placement of a timer for any current and
// deadline tick: never fired early, reached by cascading, fired at its
// tick. Ticks are kept below 2^62 (146 years of nanosecond ticks).
func FuzzSlotArithmetic(f *testing.F) {
	seeds := [][3]uint64{
		{0, 0, 0}, {0, 1, 0}, {5, 3, 1}, {0, 63, 0}, {0, 64, 0}, {63, 64, 0},
		{100, 4095, 7}, {4095, 4096, 0}, {0, 1<<36 - 1, 99}, {0, 1 << 36, 1},
		{1<<36 - 1, 1 << 36, 0}, {5 << 30, 1<<36 + 5<<30 + 7, 12345},
		{123456789, 123456789 + 1<<40, 1 << 33}, {1<<42 + 17, 1<<42 + 1<<37 + 3, 77},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, cur, when, step uint64) {
		cur &= 1<<62 - 1
		when &= 1<<62 - 1
		// Keep the number of top-level turns bounded.
		if when > cur && bits.Len64(when-cur) > 42 {
			when = cur + (when-cur)&(1<<42-1)
		}
		checkPlacement(t, cur, when, step)
	})
}

// divTick agrees with / and % for every tick a wheel can have and every
// n below 2^63, at the edges and at random.
func TestDivTick(t *testing.T) {
	ticks := []uint64{1000, 1001, 999_983, 1_000_000, 7_000_000, 1 << 20, 3<<40 + 1, 1<<62 + 12345, 1<<63 - 1}
	for range 50 {
		ticks = append(ticks, 1000+rand.Uint64N(1<<62))
	}
	for _, tick := range ticks {
		w := &Wheel{tick: time.Duration(tick), recip: reciprocal(tick)}
		ns := []uint64{0, 1, tick - 1, tick, tick + 1, 2*tick - 1, 1<<63 - 1, 1<<63 - 2, (1<<63 - 1) / tick * tick}
		for range 2000 {
			ns = append(ns, rand.Uint64N(1<<63))
		}
		for _, n := range ns {
			if q, r := w.divTick(n); q != n/tick || r != n%tick {
				t.Fatalf("divTick(%d) with tick %d = %d, %d; want %d, %d", n, tick, q, r, n/tick, n%tick)
			}
		}
	}
}
