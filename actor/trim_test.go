package actor_test

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
)

// liveHeap is the live heap after a full collection.
func liveHeap() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// TestIdleActorsTrimmed: actors that handled a call and then stayed idle
// give back their mailbox's queues within two sweeps (about 0.5 KB each),
// and work as before afterwards.
func TestIdleActorsTrimmed(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		ctx := context.Background()
		const n = 4000
		refs := make([]*actor.Ref[*Account], n)
		base := liveHeap()
		for i := range refs {
			refs[i] = spawnAccount(t, rt)
		}
		spawned := liveHeap()
		for _, ref := range refs {
			if _, err := Deposit.Call(ctx, ref, 1); err != nil {
				t.Fatal(err)
			}
		}
		called := liveHeap()
		time.Sleep(3 * time.Second) // two sweeps
		trimmed := liveHeap()
		per := func(h int64) int64 { return (h - spawned) / n }
		t.Logf("per actor: %d B spawned, +%d B after a call, +%d B after idling", (spawned-base)/n, per(called), per(trimmed))
		if per(called) < 300 {
			t.Fatalf("a call added %d B per actor; want the mailbox's queues (> 300 B): the test measures nothing", per(called))
		}
		if per(trimmed) > 64 {
			t.Fatalf("after idling: +%d B per actor over never-messaged; want <= 64", per(trimmed))
		}
		for i, ref := range refs {
			if got, err := Deposit.Call(ctx, ref, 2); err != nil || got != 3 {
				t.Fatalf("actor %d after the trim: got %d, %v; want 3, nil", i, got, err)
			}
		}
	})
}

// TestBusyActorNotTrimmed: an actor that keeps getting calls keeps its
// queues (no allocation per call for them), across many sweeps.
func TestBusyActorNotTrimmed(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		ref := spawnAccount(t, rt)
		ctx := context.Background()
		if _, err := Deposit.Call(ctx, ref, 1); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(20, func() {
			time.Sleep(1100 * time.Millisecond) // a sweep between each two calls
			if _, err := Balance.Call(ctx, ref, struct{}{}); err != nil {
				t.Fatal(err)
			}
		})
		// A call costs its own (the call and its done channel); a trimmed
		// mailbox would add its queues and their ring on each wake-up.
		if allocs > 3 {
			t.Fatalf("allocations per call of a busy actor: got %.1f; want <= 3", allocs)
		}
	})
}

// TestTrimLosesNothing: senders that pause across sweeps (so the actor is
// trimmed between their bursts, and a sweep can claim it while a burst
// starts) lose no message and keep their order.
func TestTrimLosesNothing(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		l := &ledger{got: map[int][]amount{}}
		ref, err := actor.Spawn(rt, l)
		if err != nil {
			t.Fatal(err)
		}
		const senders, bursts, each = 3, 6, 50
		var wg sync.WaitGroup
		for s := range senders {
			wg.Go(func() {
				seq := 0
				for b := range bursts {
					time.Sleep(time.Duration(900+400*s+300*b) * time.Millisecond) // across one or two sweeps
					for range each {
						if err := credit.Cast(ref, amount{Sender: s, Seq: seq}); err != nil {
							t.Error(err)
							return
						}
						seq++
					}
				}
			})
		}
		wg.Wait()
		if n, err := ledgerLen.Call(context.Background(), ref, struct{}{}); err != nil || n != senders*bursts*each {
			t.Fatalf("handled: got %d, %v; want %d", n, err, senders*bursts*each)
		}
		for s := range senders {
			for i, a := range l.got[s] {
				if a.Seq != i {
					t.Fatalf("sender %d, message %d: got seq %d", s, i, a.Seq)
				}
			}
		}
	})
}
