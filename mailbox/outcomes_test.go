package mailbox

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestConcurrentOutcomes: four producers Push (with short contexts),
// TryPush and Offer while the consumer pops, admits, lifts the filter, trims and
// checks Len, then closes the mailbox with producers still running or
// blocked; for every policy, with and without Live, at several
// capacities. Every accepted message comes out exactly once (popped,
// returned by Close, dropped or expired), nothing else comes out, and
// order holds per producer (and per producer and key for pops).
func TestConcurrentOutcomes(t *testing.T) {
	for _, pol := range []Policy{Reject, DropOldest, Block} {
		for _, live := range []bool{false, true} {
			for _, capa := range []int{0, 1, 3, 16} {
				t.Run(fmt.Sprintf("%v/live=%v/cap=%d", pol, live, capa), func(t *testing.T) {
					for round := range 2 {
						stressOnce(t, pol, live, capa, uint64(round))
					}
				})
			}
		}
	}
}

func stressOnce(t *testing.T, pol Policy, withLive bool, capa int, seed uint64) {
	const producers, each = 4, 1000
	var dead sync.Map
	var mu sync.Mutex
	outcome := map[int]string{}
	record := func(id int, what string) {
		mu.Lock()
		defer mu.Unlock()
		if old, ok := outcome[id]; ok {
			t.Errorf("message %d: %s after %s", id, what, old)
		}
		outcome[id] = what
	}
	cfg := Config[msg]{Capacity: capa, Policy: pol,
		OnDrop:   func(v msg) { record(v.id, "dropped") },
		OnExpire: func(v msg) { record(v.id, "expired") },
	}
	if withLive {
		cfg.Live = func(v msg) bool { _, d := dead.Load(v.id); return !d }
	}
	m := newTest(t, cfg)
	var accepted sync.Map
	var wg sync.WaitGroup
	var stop atomic.Bool
	var running atomic.Int32
	running.Store(producers)
	for p := range producers {
		wg.Go(func() {
			defer running.Add(-1)
			r := rand.New(rand.NewPCG(seed, uint64(p)))
			for i := range each {
				id := p*1_000_000 + i
				v := msg{Key(r.IntN(3)), id}
				ctx, cancel := context.WithTimeout(context.Background(), time.Duration(r.IntN(200))*time.Microsecond)
				var err error
				switch r.IntN(8) {
				case 0, 1:
					_, err = m.TryPush(v)
				case 2:
					_, err = m.Offer(v)
				default:
					_, err = m.Push(ctx, v)
				}
				cancel()
				switch {
				case err == nil:
					accepted.Store(id, true)
					if withLive && r.IntN(3) == 0 {
						dead.Store(id, true)
					}
				case errors.Is(err, ErrClosed):
					return
				case errors.Is(err, ErrFull), errors.Is(err, context.DeadlineExceeded):
				default:
					t.Errorf("Push: %v", err)
				}
			}
		})
	}
	r := rand.New(rand.NewPCG(seed, 99))
	lastPop := map[int]int{}
	pops := 0
	for !stop.Load() && running.Load() > 0 {
		switch r.IntN(20) {
		case 0:
			m.Admit(Key(r.IntN(3)))
		case 1:
			m.AdmitAll()
		case 2:
			m.Trim()
		case 3:
			if l := m.Len(); l < 0 || (capa > 0 && l > capa) {
				t.Errorf("Len %d, capacity %d", l, capa)
			}
		default:
			v, _, ok := m.Pop()
			if ok {
				record(v.id, "popped")
				pk := v.id/1_000_000*10 + int(v.key)
				if l, ok := lastPop[pk]; ok && v.id <= l {
					t.Errorf("Pop: %v after %d", v, l)
				}
				lastPop[pk] = v.id
				pops++
				if pops > producers*each/3 {
					stop.Store(true)
				}
			} else {
				m.AdmitAll()
			}
		}
	}
	rest := m.Close()
	last := map[int]int{}
	for _, v := range rest {
		record(v.id, "closed")
		p := v.id / 1_000_000
		if l, ok := last[p]; ok && v.id <= l {
			t.Errorf("Close: producer %d's %d after %d", p, v.id, l)
		}
		last[p] = v.id
		pk := v.id/1_000_000*10 + int(v.key)
		if l, ok := lastPop[pk]; ok && v.id <= l {
			t.Errorf("Close: %v after popped %d", v, l)
		}
	}
	wg.Wait()
	if m.Len() != 0 {
		t.Errorf("Len after close %d", m.Len())
	}
	mu.Lock()
	defer mu.Unlock()
	accepted.Range(func(k, _ any) bool {
		id := k.(int)
		if _, ok := outcome[id]; !ok {
			t.Errorf("accepted message %d lost", id)
		}
		return true
	})
	for id, what := range outcome {
		if _, ok := accepted.Load(id); !ok {
			t.Errorf("message %d %s but not accepted", id, what)
		}
	}
}
