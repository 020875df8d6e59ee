package actor

import (
	"context"
	"sync"
	"testing"
)

// The journal's halves apart: a Send with nobody reading, a Send with a
// reader that keeps up (one goroutine each, as in bench's Stream1to1),
// and a reader's batch (ns/op is per batch of 64).
func BenchmarkJournal(b *testing.B) {
	v := new(int)
	b.Run("send/alone", func(b *testing.B) {
		j := testJournal[*int](b)
		b.ReportAllocs()
		for b.Loop() {
			_ = j.out.Send(v)
		}
	})
	b.Run("sendwait/alone", func(b *testing.B) {
		j := testJournal[*int](b)
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			_ = j.out.SendWait(ctx, v)
		}
	})
	b.Run("sendwait/reader", func(b *testing.B) {
		j := testJournal[*int](b)
		r := j.newFollow(context.Background(), followConfig{})
		ctx := context.Background()
		var wg sync.WaitGroup
		wg.Go(func() {
			for _, err := range r.All() {
				if err != nil {
					return
				}
			}
		})
		b.ReportAllocs()
		for b.Loop() {
			_ = j.out.SendWait(ctx, v)
		}
		_ = j.out.Close(nil)
		wg.Wait()
	})
	b.Run("read", func(b *testing.B) { // a batch of 64, read again and again
		j := testJournal[*int](b)
		for range maxBatch {
			_ = j.out.Send(v)
		}
		r := j.newFollow(context.Background(), followConfig{})
		b.ReportAllocs()
		for b.Loop() {
			r.next = 0
			if batch, _ := r.fetch(false); len(batch) != maxBatch {
				b.Fatalf("read %d items; want %d", len(batch), maxBatch)
			}
		}
	})
}
