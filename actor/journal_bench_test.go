package actor

import (
	"context"
	"sync"
	"testing"
)

// The journal's halves apart: a Send with nobody reading, a Send with a
// reader that keeps up (one goroutine each, as in bench's Stream1to1),
// and a reader's batches of a journal filled ahead.
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
		n := 0
		wg.Go(func() {
			for _, err := range r.All() {
				if err != nil {
					return
				}
				n++
			}
		})
		b.ReportAllocs()
		for b.Loop() {
			_ = j.out.SendWait(ctx, v)
		}
		_ = j.out.Close(nil)
		wg.Wait()
	})
	b.Run("read", func(b *testing.B) {
		j := testJournal[*int](b)
		r := j.newFollow(context.Background(), followConfig{})
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			if n == 0 {
				b.StopTimer()
				for range 4096 {
					_ = j.out.Send(v)
				}
				n = 4096
				b.StartTimer()
			}
			batch, _ := r.fetch(false)
			n -= len(batch)
		}
	})
}
