package actor_test

import (
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
)

type tally struct {
	count int
	last  []int // last sequence number seen per sender
	bad   int   // out-of-order arrivals
}

type seqMsg struct{ sender, seq int }

var Tally = actor.NewMethod("tally", func(s *tally, _ *actor.Ctx, m *seqMsg) (int, error) {
	if m.seq != s.last[m.sender]+1 {
		s.bad++
	}
	s.last[m.sender] = m.seq
	s.count++
	return s.count, nil
})

var TallyRead = actor.NewMethod("read", func(s *tally, _ *actor.Ctx, _ struct{}) ([2]int, error) {
	return [2]int{s.count, s.bad}, nil
})

// Guarantee 2 at volume: 1,000,000 oneways from 16 senders, exact count and
// per-sender order.
func TestVolumeOneways(t *testing.T) {
	const senders = 16
	per := 1_000_000 / senders
	if testing.Short() {
		per = 100_000 / senders
	}
	rt := newRuntime(t)
	ref, err := actor.Spawn(rt, &tally{last: make([]int, senders)})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for s := 0; s < senders; s++ {
		wg.Go(func() {
			msgs := make([]seqMsg, per)
			for i := range msgs {
				msgs[i] = seqMsg{sender: s, seq: i + 1}
				if err := Tally.Cast(ref, &msgs[i]); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	got, err := TallyRead.Call(context.Background(), ref, struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != senders*per || got[1] != 0 {
		t.Fatalf("count=%d out-of-order=%d; want %d and 0", got[0], got[1], senders*per)
	}
}

// 100,000 actors × 10 messages: every message processed, every actor
// stopped by Shutdown.
func TestVolumeActors(t *testing.T) {
	actors, msgs := 100_000, 10
	if testing.Short() {
		actors = 10_000
	}
	rt := newRuntime(t)
	refs := make([]*actor.Ref[*tally], actors)
	for i := range refs {
		r, err := actor.Spawn(rt, &tally{last: make([]int, 1)})
		if err != nil {
			t.Fatal(err)
		}
		refs[i] = r
	}
	all := make([]seqMsg, msgs)
	for i := range all {
		all[i] = seqMsg{seq: i + 1}
	}
	for i := 0; i < msgs; i++ {
		for _, r := range refs {
			if err := Tally.Cast(r, &all[i]); err != nil {
				t.Fatal(err)
			}
		}
	}
	// A generous deadline: a loaded 2-core machine under -race is slow, and
	// this test checks delivery, not speed.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	futs := make([]*actor.Future[[2]int], 0, actors)
	for _, r := range refs {
		futs = append(futs, TallyRead.Ask(ctx, r, struct{}{}))
	}
	if _, err := actor.AwaitAll(context.Background(), futs...); err != nil {
		t.Fatal(err)
	}
	for i, f := range futs {
		got, _ := f.Await(context.Background())
		if got[0] != msgs || got[1] != 0 {
			t.Fatalf("actor %d: count=%d out-of-order=%d; want %d and 0", i, got[0], got[1], msgs)
		}
	}
}

// A sender far ahead of its actor yields after each Cast (soft
// back-pressure), so a flood does not grow the mailbox without bound. On
// one processor, without the yield, the sender would queue all of its
// casts before the actor ran (at least until preempted).
func TestFloodYields(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	// The sender yields once the calls it queued since the actor last took
	// its queue as a batch pass the threshold (8,192), so at most about
	// that many again can wait in the batch: twice the threshold, plus
	// some slack.
	const n, limit = 100_000, 2*8192 + 2048
	rt := newRuntime(t)
	ref, err := actor.Spawn(rt, &tally{last: make([]int, 1)})
	if err != nil {
		t.Fatal(err)
	}
	msgs := make([]seqMsg, n)
	peak := 0
	for i := range msgs {
		msgs[i] = seqMsg{seq: i + 1}
		if err := Tally.Cast(ref, &msgs[i]); err != nil {
			t.Fatal(err)
		}
		peak = max(peak, ref.Queued())
	}
	if peak > limit {
		t.Errorf("mailbox peaked at %d queued calls; want at most %d", peak, limit)
	}
	got, err := TallyRead.Call(context.Background(), ref, struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != n || got[1] != 0 {
		t.Fatalf("count=%d out-of-order=%d; want %d and 0", got[0], got[1], n)
	}
}
