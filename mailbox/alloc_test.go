package mailbox

import (
	"context"
	"testing"
	"unsafe"
)

func TestAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts are not meaningful in -short runs")
	}
	ctx := context.Background()
	tests := []struct {
		name string
		cfg  Config[msg]
		run  func(m *Mailbox[msg])
	}{
		{"Push+Pop", Config[msg]{}, func(m *Mailbox[msg]) {
			m.Push(ctx, msg{1, 1})
			m.Pop()
		}},
		{"Push+Pop bounded", Config[msg]{Capacity: 4, Policy: Block}, func(m *Mailbox[msg]) {
			m.Push(ctx, msg{1, 1})
			m.Pop()
		}},
		{"PushSystem+Pop", Config[msg]{}, func(m *Mailbox[msg]) {
			m.PushSystem(msg{1, 1})
			m.Pop()
		}},
		{"turn with Idle", Config[msg]{}, func(m *Mailbox[msg]) {
			m.Push(ctx, msg{1, 1})
			m.Pop()
			m.Pop()
			m.Idle()
		}},
		{"hold and release", Config[msg]{}, func(m *Mailbox[msg]) {
			m.Admit(1)
			m.Push(ctx, msg{2, 1})
			m.Push(ctx, msg{1, 2})
			m.Pop() // holds the first
			m.AdmitAll()
			m.Pop()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newTest(t, tt.cfg)
			for range 100 { // warm up: queue storage, held queues
				tt.run(m)
			}
			if got := testing.AllocsPerRun(1000, func() { tt.run(m) }); got != 0 {
				t.Fatalf("allocs per run: got %v; want 0", got)
			}
		})
	}
}

var sizeSink *Mailbox[benchMsg] // keeps New's result on the heap

// TestSize pins the footprint of an idle, empty mailbox.
func TestSize(t *testing.T) {
	const limit = 96
	size := unsafe.Sizeof(Mailbox[benchMsg]{})
	cfg := &Config[benchMsg]{Key: benchKey}
	r := testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			sizeSink, _ = New(cfg)
		}
	})
	heap := r.AllocedBytesPerOp()
	t.Logf("empty mailbox: unsafe.Sizeof %d bytes, %d heap bytes in %d allocation(s)", size, heap, r.AllocsPerOp())
	if size > limit || heap > limit || r.AllocsPerOp() != 1 {
		t.Fatalf("empty mailbox: got Sizeof %d, heap %d bytes in %d allocs; want <= %d bytes in 1 alloc",
			size, heap, r.AllocsPerOp(), limit)
	}
}
