package mailbox

import (
	"context"
	"runtime"
	"testing"
)

// benchMsg is a small message of four words holding a pointer, as an
// actor's envelope would be.
type benchMsg struct {
	p    *int
	a, b int
	k    Key
}

func benchKey(m benchMsg) Key { return m.k }

var benchPayload = new(int)

// BenchmarkPushPop compares a mailbox with a buffered channel (1024) for
// one producer that also consumes, and for 8 producers feeding one
// consumer goroutine. The mailbox consumer is scheduled the way an actor
// runtime does it: woken when a Push returns schedule == true, stopping
// when Idle says so.
func BenchmarkPushPop(b *testing.B) {
	ctx := context.Background()
	v := benchMsg{p: benchPayload, a: 1, b: 2, k: 3}
	b.Run("1producer/mailbox", func(b *testing.B) {
		m, _ := New(&Config[benchMsg]{Key: benchKey})
		b.ReportAllocs()
		for b.Loop() {
			m.Push(ctx, v)
			m.Pop()
		}
	})
	b.Run("1producer/chan", func(b *testing.B) {
		ch := make(chan benchMsg, 1024)
		b.ReportAllocs()
		for b.Loop() {
			ch <- v
			<-ch
		}
	})
	const producers = 8
	parallel := max(1, producers/runtime.GOMAXPROCS(0))
	mailbox := func(cfg *Config[benchMsg]) func(b *testing.B) {
		return func(b *testing.B) {
			m, _ := New(cfg)
			wake := make(chan struct{}, 1) // at most one schedule is outstanding
			done := make(chan struct{})
			go func() { // the consumer: the benchmark waits for it below
				defer close(done)
				stopping := false
				for range wake {
					for {
						_, system, ok := m.Pop()
						if ok {
							stopping = stopping || system
							continue
						}
						if stopping {
							return // drained after the stop message
						}
						if m.Idle() {
							break
						}
					}
				}
			}()
			b.ReportAllocs()
			b.SetParallelism(parallel)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if s, err := m.Push(ctx, v); err != nil {
						b.Error(err)
						return
					} else if s {
						wake <- struct{}{}
					}
				}
			})
			if s, _ := m.PushSystem(v); s {
				wake <- struct{}{}
			}
			<-done
		}
	}
	b.Run("8producers/mailbox", mailbox(&Config[benchMsg]{Key: benchKey}))
	b.Run("8producers/mailbox-block1024", mailbox(&Config[benchMsg]{Key: benchKey, Capacity: 1024, Policy: Block}))
	b.Run("8producers/chan", func(b *testing.B) {
		ch := make(chan benchMsg, 1024)
		done := make(chan struct{})
		go func() {
			defer close(done)
			for range ch {
			}
		}()
		b.ReportAllocs()
		b.SetParallelism(parallel)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				ch <- v
			}
		})
		close(ch)
		<-done
	})
}

// BenchmarkWhitelist measures the pops of 100,000 held and 100,000
// admitted messages, interleaved, against 200,000 unfiltered pops. Pushes
// are not timed. ns/msg is per popped message: compare the two.
func BenchmarkWhitelist(b *testing.B) {
	const n = 100_000
	ctx := context.Background()
	fill := func(b *testing.B, m *Mailbox[benchMsg]) {
		b.StopTimer()
		for i := range 2 * n {
			m.Push(ctx, benchMsg{p: benchPayload, k: Key(i & 1)})
		}
		b.StartTimer()
	}
	drain := func(m *Mailbox[benchMsg]) int {
		popped := 0
		for {
			if _, _, ok := m.Pop(); !ok {
				return popped
			}
			popped++
		}
	}
	b.Run("filtered", func(b *testing.B) {
		m, _ := New(&Config[benchMsg]{Key: benchKey})
		b.ReportAllocs()
		msgs := 0
		for b.Loop() {
			fill(b, m)
			m.Admit(1)
			msgs += drain(m) // 100,000 admitted; 100,000 moved to held
			m.AdmitAll()
			msgs += drain(m) // 100,000 held
		}
		if msgs%(2*n) != 0 {
			b.Fatalf("popped %d; want a multiple of %d", msgs, 2*n)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(msgs), "ns/msg")
	})
	b.Run("unfiltered", func(b *testing.B) {
		m, _ := New(&Config[benchMsg]{Key: benchKey})
		b.ReportAllocs()
		msgs := 0
		for b.Loop() {
			fill(b, m)
			msgs += drain(m)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(msgs), "ns/msg")
	})
}
