package actor_test

import (
	"context"
	"testing"

	"github.com/troupe-go/troupe/actor"
)

// wlBench counts the calls it ran, so a benchmark can check that every
// message was processed.
type wlBench struct{ held, admitted int }

var (
	benchHeld = actor.NewMethod("bench-held", func(s *wlBench, _ *actor.Ctx, _ struct{}) (struct{}, error) {
		s.held++
		return struct{}{}, nil
	})
	benchAdmitted = actor.NewMethod("bench-admitted", func(s *wlBench, _ *actor.Ctx, _ struct{}) (struct{}, error) {
		s.admitted++
		return struct{}{}, nil
	})
	benchLock = actor.NewMethod("bench-lock", func(_ *wlBench, c *actor.Ctx, _ struct{}) (struct{}, error) {
		return struct{}{}, c.Only(benchAdmitted, benchUnlock)
	})
	benchUnlock = actor.NewMethod("bench-unlock", func(_ *wlBench, c *actor.Ctx, _ struct{}) (struct{}, error) {
		c.AdmitAll()
		return struct{}{}, nil
	})
)

// BenchmarkWhitelist processes, per iteration, 100,000 held and 100,000
// admitted calls interleaved (filtered: a lock call sets Only(admitted),
// the held calls are set aside as the actor meets them, an unlock call
// lifts the whitelist and they run) against 200,000 calls with no
// whitelist (unfiltered). Compare the ns/msg of the two: finding the next
// admitted call never rescans the held ones, so the ratio stays a small
// constant, whatever the number held.
//
// The actor is an owner-driven Handler, so the whole of each round runs on
// the benchmark's goroutine in one Process call, without scheduler noise.
// The Casts that fill the mailbox are not timed.
func BenchmarkWhitelist(b *testing.B) {
	const n = 100_000
	bench := func(b *testing.B, fill func(ref *actor.Ref[*wlBench])) {
		rt := newRuntime(b)
		st := &wlBench{}
		h, err := actor.NewHandler(rt, st)
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		msgs := 0
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			fill(h.Ref())
			b.StartTimer()
			if err := h.Process(ctx); err != nil {
				b.Fatal(err)
			}
			msgs += 2 * n
		}
		if got := st.held + st.admitted; got != msgs {
			b.Fatalf("ran %d calls; want %d", got, msgs)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(msgs), "ns/msg")
	}
	cast := func(b *testing.B, m *actor.Method[*wlBench, struct{}, struct{}], ref *actor.Ref[*wlBench]) {
		if err := m.Cast(ref, struct{}{}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("filtered", func(b *testing.B) {
		bench(b, func(ref *actor.Ref[*wlBench]) {
			cast(b, benchLock, ref)
			for range n {
				cast(b, benchHeld, ref)
				cast(b, benchAdmitted, ref)
			}
			cast(b, benchUnlock, ref)
		})
	})
	b.Run("unfiltered", func(b *testing.B) {
		bench(b, func(ref *actor.Ref[*wlBench]) {
			for range 2 * n {
				cast(b, benchAdmitted, ref)
			}
		})
	})
}
