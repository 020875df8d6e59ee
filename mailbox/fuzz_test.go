package mailbox

import (
	"context"
	"errors"
	"maps"
	"slices"
	"testing"
)

// model is the reference the fuzz test checks the mailbox against: plain
// slices, everything recomputed by linear scans.
type model struct {
	capacity  int
	policy    Policy
	withLive  bool
	sys       []msg
	user      []msg        // in arrival order, held or not
	held      map[int]bool // ids of user messages Pop moved to a held queue
	only      bool
	admitted  []Key
	dead      map[int]bool
	closed    bool
	scheduled bool
	made      bool  // the mailbox has queues (Trim gives them back)
	trim      uint8 // the consumer's trim record (trimListed, trimUsed)
}

// trimmed returns what Trim must return: the queues were made and hold
// nothing, no filter, not closed (no producer ever waits here).
func (md *model) trimmed() bool {
	if !md.made || md.closed || len(md.sys) > 0 || len(md.user) > 0 || md.only {
		return false
	}
	md.made = false
	return true
}

func (md *model) admits(k Key) bool { return !md.only || slices.Contains(md.admitted, k) }

// push returns what Push must return, the message it must evict and the
// dead ones it must discard (to OnExpire), by id.
func (md *model) push(v msg) (schedule bool, err error, evicted *msg, expired []int) {
	if md.closed {
		return false, ErrClosed, nil, nil
	}
	if md.capacity > 0 && len(md.user) >= md.capacity && md.withLive {
		md.user = slices.DeleteFunc(md.user, func(u msg) bool {
			if md.dead[u.id] {
				expired = append(expired, u.id)
			}
			return md.dead[u.id]
		})
	}
	if md.capacity > 0 && len(md.user) >= md.capacity {
		if md.policy != DropOldest {
			return false, ErrFull, nil, expired
		}
		evicted = &md.user[0]
		md.user = md.user[1:]
	}
	md.user = append(md.user, v)
	md.made = true
	schedule, md.scheduled = !md.scheduled, true
	return schedule, nil, evicted, expired
}

// offer returns what Offer must return: Push that makes no room.
func (md *model) offer(v msg) (schedule bool, err error) {
	if md.closed {
		return false, ErrClosed
	}
	if md.capacity > 0 && len(md.user) >= md.capacity {
		return false, ErrFull
	}
	md.user = append(md.user, v)
	md.made = true
	schedule, md.scheduled = !md.scheduled, true
	return schedule, nil
}

func (md *model) pushSystem(v msg) (bool, error) {
	if md.closed {
		return false, ErrClosed
	}
	md.sys = append(md.sys, v)
	md.made = true
	schedule := !md.scheduled
	md.scheduled = true
	return schedule, nil
}

func (md *model) pop() (msg, bool, bool) {
	if len(md.sys) > 0 {
		v := md.sys[0]
		md.sys = md.sys[1:]
		return v, true, true
	}
	for i, v := range md.user {
		if md.admits(v.key) {
			if !md.held[v.id] { // Pop scanned past the older ones: held now
				for _, u := range md.user[:i] {
					md.held[u.id] = true
				}
			}
			delete(md.held, v.id)
			md.user = slices.Delete(md.user, i, i+1)
			return v, false, true
		}
	}
	for _, u := range md.user {
		md.held[u.id] = true
	}
	return msg{}, false, false
}

// heldEach is what HeldEach must give: the live held messages per key,
// in arrival order.
func (md *model) heldEach() map[Key][]msg {
	out := map[Key][]msg{}
	for _, u := range md.user {
		if md.held[u.id] && !(md.withLive && md.dead[u.id]) {
			out[u.key] = append(out[u.key], u)
		}
	}
	return out
}

// heldCounts is what Held must return: live held messages per key.
func (md *model) heldCounts() map[Key]int {
	out := map[Key]int{}
	for k, msgs := range md.heldEach() {
		out[k] = len(msgs)
	}
	return out
}

func (md *model) hasAdmitted() bool {
	return len(md.sys) > 0 || slices.ContainsFunc(md.user, func(v msg) bool { return md.admits(v.key) })
}

// FuzzMailbox runs random operations on a mailbox and on the model and
// requires the same results. The first byte picks the configuration; each
// following byte is an operation (low 3 bits) and its argument.
func FuzzMailbox(f *testing.F) {
	// Offer (op 1 with 0x20) on a full mailbox of each policy, with a dead
	// message (Live): ErrFull, nothing evicted or expired; then Push.
	f.Add([]byte{0x32, 0, 8, 0x07, 0x21, 0x29, 0, 3})    // reject, unbounded
	f.Add([]byte{0x34, 0, 8, 0x07, 0x21, 0x29, 0, 3, 3}) // reject, capacity 2
	f.Add([]byte{0x20, 0, 8, 0x07, 0x21, 0x29, 0, 3, 3}) // drop-oldest
	f.Add([]byte{0x2a, 0, 8, 0x07, 0x21, 0x29, 1, 0, 3}) // block
	f.Add([]byte{0x0a, 0, 0x15, 3, 8, 0x21, 0x0e, 0x21, 0x3d, 3, 3})
	f.Add([]byte{0, 0, 8, 16, 3, 4, 2, 3, 3, 3})
	f.Add([]byte{0x23, 0, 8, 0x15, 16, 24, 3, 4, 5, 6, 3, 3, 7, 0, 0, 1})
	f.Add([]byte{0x0a, 0, 8, 16, 24, 0x15, 3, 3, 0, 8, 0x0f, 8, 16, 6, 4, 4, 0xff})
	f.Add([]byte{0x3b, 0, 8, 0, 8, 0x25, 3, 7, 15, 0, 0, 0x0e, 3, 3, 3, 3, 0x3d, 4, 4})
	// Trim (0x1e), Claim (0x3e), Touch (0x5e), TrimIdle (0x7e), Idle (0x0e);
	// TryPush is op 1.
	f.Add([]byte{0, 0x1e, 0, 8, 3, 0x1e, 3, 3, 0x1e, 0x0e, 0x1e, 0, 0x5e, 0x7e, 3, 0x7e, 0x0e, 0x5e, 0x7e, 0x7e, 0x7e, 16, 3})
	f.Add([]byte{0x0a, 0, 0x15, 3, 0x1e, 0x06, 0x1e, 2, 3, 0x1e, 8, 0x2d, 0x1e, 3, 0x1e, 0x1e, 0x3f})
	// Block, capacity 3: TryPush fills it, then fails; Claim while scheduled.
	f.Add([]byte{0x12, 1, 9, 17, 25, 0x3e, 3, 0x3e, 0x0e, 0x3e, 1, 0x0e})
	// Block, capacity 2: Push with a done context (op 0 with 0x20) on a
	// full mailbox, with and without a dead message (Live); CloseIfEmpty
	// (0x2e) on a full, then an empty mailbox.
	f.Add([]byte{0x12, 0, 8, 0x20, 0x2e, 3, 3, 0x2e, 0x0e, 0x20})
	f.Add([]byte{0x32, 0, 8, 0x07, 0x20, 0x20, 3, 3, 0x1e, 0x2e})
	f.Fuzz(func(t *testing.T, ops []byte) {
		if len(ops) == 0 {
			return
		}
		conf := ops[0]
		md := &model{
			capacity: int(conf % 5),
			policy:   Policy(conf >> 3 % 3),
			withLive: conf&0x20 != 0,
			dead:     map[int]bool{},
			held:     map[int]bool{},
		}
		var dropped []msg
		var expired []int
		cfg := Config[msg]{
			Capacity: md.capacity, Policy: md.policy,
			OnDrop:   func(v msg) { dropped = append(dropped, v) },
			OnExpire: func(v msg) { expired = append(expired, v.id) },
		}
		if md.withLive {
			cfg.Live = func(v msg) bool { return !md.dead[v.id] }
		}
		m := newTest(t, cfg)
		ctx := context.Background()
		next := 1
		for step, op := range ops[1:] {
			arg := op >> 3
			switch op & 7 {
			case 0, 1: // Push (0), TryPush (1), Offer (1 with arg&4)
				v := msg{Key(arg % 4), next}
				next++
				ctx = context.Background()
				cancelled := md.policy == Block && op&7 == 0 && arg&4 != 0
				switch {
				case cancelled: // wait, but for a context already done
					c, cancel := context.WithCancel(ctx)
					cancel()
					ctx = c
				case md.policy == Block:
					ctx = nil // fail instead of waiting
				}
				dropped, expired = dropped[:0], expired[:0]
				var wantS bool
				var wantErr error
				var wantEv *msg
				var wantExp []int
				offer := op&7 == 1 && arg&4 != 0
				if offer {
					wantS, wantErr = md.offer(v)
				} else {
					wantS, wantErr, wantEv, wantExp = md.push(v)
					if cancelled && wantErr == ErrFull {
						wantErr = context.Canceled
					}
				}
				var s bool
				var err error
				switch {
				case offer:
					s, err = m.Offer(v)
				case op&7 == 1:
					s, err = m.TryPush(v)
				default:
					s, err = m.Push(ctx, v)
				}
				slices.Sort(expired)
				slices.Sort(wantExp)
				if !slices.Equal(expired, wantExp) {
					t.Fatalf("step %d Push(%v) (offer %v): expired %v; want %v", step, v, offer, expired, wantExp)
				}
				if s != wantS || !errors.Is(err, wantErr) || (err == nil) != (wantErr == nil) {
					t.Fatalf("step %d Push(%v): got %v, %v; want %v, %v", step, v, s, err, wantS, wantErr)
				}
				switch {
				case wantEv == nil && len(dropped) != 0:
					t.Fatalf("step %d Push: dropped %v; want nothing", step, dropped)
				case wantEv != nil && (len(dropped) != 1 || dropped[0] != *wantEv):
					t.Fatalf("step %d Push: dropped %v; want [%v]", step, dropped, *wantEv)
				}
			case 2: // PushSystem
				v := msg{Key(arg % 4), next}
				next++
				wantS, wantErr := md.pushSystem(v)
				s, err := m.PushSystem(v)
				if s != wantS || err != wantErr {
					t.Fatalf("step %d PushSystem: got %v, %v; want %v, %v", step, s, err, wantS, wantErr)
				}
			case 3, 4: // Pop
				wv, ws, wok := md.pop()
				v, s, ok := m.Pop()
				if v != wv || s != ws || ok != wok {
					t.Fatalf("step %d Pop: got %v %v %v; want %v %v %v", step, v, s, ok, wv, ws, wok)
				}
			case 5: // Admit a subset of the keys 0..3
				var keys []Key
				for k := range Key(4) {
					if arg&(1<<k) != 0 {
						keys = append(keys, k)
					}
				}
				md.only, md.admitted, md.made = true, keys, true
				m.Admit(keys...)
			case 6:
				if arg&1 == 0 {
					md.only, md.admitted = false, nil
					m.AdmitAll()
					break
				}
				if arg&2 != 0 { // Claim, Trim, Touch or TrimIdle, as the consumer
					if !md.scheduled {
						if !m.Claim() {
							t.Fatalf("step %d Claim: got false on an idle mailbox", step)
						}
						md.scheduled = true
					}
					switch arg >> 2 & 3 {
					case 0:
						if got, want := m.Trim(), md.trimmed(); got != want {
							t.Fatalf("step %d Trim: got %v; want %v", step, got, want)
						}
					case 1:
						if m.Claim() {
							t.Fatalf("step %d Claim: got true on a scheduled mailbox", step)
						}
					case 2:
						want := md.trim&trimListed == 0
						if md.trim == trimListed|trimUsed {
							want = false
						}
						md.trim = trimListed | trimUsed
						if got := m.Touch(); got != want {
							t.Fatalf("step %d Touch: got %v; want %v", step, got, want)
						}
					case 3:
						want := true
						switch {
						case md.trim&trimUsed != 0:
							md.trim = trimListed
						case md.trimmed():
							md.trim, want = 0, false
						}
						if got := m.TrimIdle(); got != want {
							t.Fatalf("step %d TrimIdle: got %v; want %v", step, got, want)
						}
					}
					break
				}
				if arg&7 == 5 { // CloseIfEmpty, as the consumer
					want := md.closed || len(md.sys) == 0 && len(md.user) == 0
					md.closed, md.made = want, true
					if got := m.CloseIfEmpty(); got != want {
						t.Fatalf("step %d CloseIfEmpty: got %v; want %v", step, got, want)
					}
					break
				}
				if m.Idle() {
					if md.hasAdmitted() {
						t.Fatalf("step %d Idle: got true with admitted work pending", step)
					}
					md.scheduled = false
				}
			case 7:
				if arg >= 28 || len(md.user) == 0 {
					want := append(slices.Clone(md.sys), md.user...)
					if md.closed {
						want = nil
					}
					md.closed, md.sys, md.user = true, nil, nil
					if got := m.Close(); !slices.Equal(got, want) {
						t.Fatalf("step %d Close: got %v; want %v", step, got, want)
					}
					break
				}
				md.dead[md.user[int(arg)%len(md.user)].id] = true // the caller gave up
			}
			if got, want := m.Len(), len(md.user); got != want {
				t.Fatalf("step %d: Len got %d; want %d", step, got, want)
			}
			if got, want := m.Scheduled(), md.scheduled; got != want {
				t.Fatalf("step %d: Scheduled got %v; want %v", step, got, want)
			}
			if got, want := m.Held(), md.heldCounts(); !maps.Equal(got, want) {
				t.Fatalf("step %d: Held got %v; want %v", step, got, want)
			}
			each := map[Key][]msg{}
			m.HeldEach(func(v msg) { each[v.key] = append(each[v.key], v) })
			if got, want := each, md.heldEach(); !maps.EqualFunc(got, want, slices.Equal) {
				t.Fatalf("step %d: HeldEach got %v; want %v", step, got, want)
			}
			if k := Key(op % 4); m.Admitted(k) != md.admits(k) {
				t.Fatalf("step %d: Admitted(%d) got %v; want %v", step, k, !md.admits(k), md.admits(k))
			}
		}
		want := append(slices.Clone(md.sys), md.user...)
		if md.closed {
			want = nil
		}
		if got := m.Close(); !slices.Equal(got, want) {
			t.Fatalf("final Close: got %v; want %v", got, want)
		}
	})
}
