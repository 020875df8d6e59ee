package timer

import "math/bits"

// The wheel has numLevels levels of numSlots slots. A slot of level L
// covers 64^L ticks, so level L turns once every 64^(L+1) ticks and the
// whole wheel spans 2^36 ticks.
const (
	slotBits  = 6
	numSlots  = 1 << slotBits
	slotMask  = numSlots - 1
	numLevels = 6
	topLevel  = numLevels - 1

	// notPending is Timer.level of a timer that is in no slot.
	notPending = 0xFF
)

// level is one ring of slots. Bit s of occupied is set when slots[s]
// holds a timer of either kind, so the next non-empty slot is found with
// one bit scan.
type level struct {
	occupied uint64
	slots    [numSlots]slot
}

// slot holds the timers due in one slot: Timers and Schedule's nodes, in
// a list each, side by side so that adding or removing one touches one
// cache line of the level.
type slot struct {
	timers list
	nodes  nlist
}

// empty reports whether s holds no timer of either kind.
func (s *slot) empty() bool { return s.timers.empty() && s.nodes.empty() }

// position returns the level and slot where a timer due at tick when goes,
// seen from tick cur, the first tick the wheel has not yet processed.
//
// The level is the highest 6-bit digit in which when and cur differ: the
// timer goes into the slot of level L that holds when, which is ahead of
// cur's slot on that level since all higher digits agree. When that slot
// comes due (at its first tick, no later than when), the timer is placed
// again and lands on a lower level, until it reaches level 0 at exactly
// when. A timer due at or before cur goes into cur's own slot of level 0,
// which is due now. Digits above the top level (a delay beyond the span)
// put the timer on the top level in when's slot, reached once per turn
// until the remaining delay fits.
func position(cur, when uint64) (lvl, slot int) {
	if when <= cur {
		return 0, int(cur & slotMask)
	}
	lvl = (bits.Len64(cur^when) - 1) / slotBits
	if lvl > topLevel {
		lvl = topLevel
	}
	return lvl, int(when>>(uint(lvl)*slotBits)) & slotMask
}

// slotDeadline returns the tick at which slot of level lvl comes due, seen
// from tick cur: the slot's first tick in cur's turn of that level. Below
// the top level, slots behind cur's are never occupied. On the top level a
// slot at or behind cur's holds only timers due in a later turn, so it
// comes due in the next turn.
func slotDeadline(cur uint64, lvl, slot int) uint64 {
	shift := uint(lvl) * slotBits
	turn := uint64(1) << (shift + slotBits) // ticks in one turn of lvl
	d := cur&^(turn-1) + uint64(slot)<<shift
	if lvl == topLevel && slot <= int(cur>>shift)&slotMask {
		d += turn
	}
	return d
}

// hierarchy is the levels of a wheel, lowest first.
type hierarchy [numLevels]level

// next returns the occupied slot that comes due first, seen from tick cur,
// and the tick at which it does; ok is false when every slot is empty.
// Ties go to the lower level. Cost: O(numLevels).
func (ls *hierarchy) next(cur uint64) (lvl, slot int, deadline uint64, ok bool) {
	for l := range numLevels {
		occ := ls[l].occupied
		if occ == 0 {
			continue
		}
		shift := uint(l) * slotBits
		cs := int(cur>>shift) & slotMask
		var s int
		if l < topLevel {
			// Only slots at or after cur's are occupied; cur's own slot
			// while it is being emptied.
			m := occ >> uint(cs)
			if m == 0 {
				continue
			}
			s = cs + bits.TrailingZeros64(m)
		} else {
			// The top level is a ring: search from the slot after cur's,
			// ending with cur's own (next turn).
			s = (cs + 1 + bits.TrailingZeros64(bits.RotateLeft64(occ, -(cs+1)))) & slotMask
		}
		d := slotDeadline(cur, l, s)
		if !ok || d < deadline {
			lvl, slot, deadline, ok = l, s, d, true
		}
	}
	return lvl, slot, deadline, ok
}
