package bench

import (
	"context"
	"testing"

	proto "github.com/asynkron/protoactor-go/actor"
	"github.com/troupe-go/troupe/actor"
)

// The oneway workloads: senders goroutines share b.N casts to one actor;
// the clock stops once the actor has processed the last one. ns/op is the
// mean cost of one message, allocs/op the allocations per message (0 in
// steady state is the target). Each runs twice: with one shared pointer
// payload (the cheapest case there is), and with a small struct sent by
// value, a new one per message, as users send them
// (Deposit.Cast(ref, Amount{...})): every system then has a 16-byte value
// to carry.

func BenchmarkOneway1to1(b *testing.B)  { benchOneway(b, 1, pointers) }
func BenchmarkOneway8to1(b *testing.B)  { benchOneway(b, 8, pointers) }
func BenchmarkOneway64to1(b *testing.B) { benchOneway(b, 64, pointers) }

func BenchmarkOnewayValue1to1(b *testing.B)  { benchOneway(b, 1, values) }
func BenchmarkOnewayValue8to1(b *testing.B)  { benchOneway(b, 8, values) }
func BenchmarkOnewayValue64to1(b *testing.B) { benchOneway(b, 64, values) }

// rawQueue is the capacity of the raw Go actor's inbox channel: big enough
// that senders rarely wait for the receiver, as with the actor systems'
// unbounded mailboxes, without holding all of b.N.
const rawQueue = 1024

// val is the value payload: 16 bytes, like protoactor-go's own benchmark
// message, made anew for each message (a constant would be boxed from
// static data, for free).
type val struct{ Seq, Val int }

// payloadKind selects what a workload sends.
type payloadKind bool

const (
	pointers payloadKind = false
	values   payloadKind = true
)

func benchOneway(b *testing.B, senders int, kind payloadKind) {
	if kind == values {
		b.Run("troupe", func(b *testing.B) { onewayTroupe(b, senders, countVal, mkVal) })
		b.Run("raw", func(b *testing.B) { onewayRaw(b, senders, mkVal) })
		b.Run("protoactor", func(b *testing.B) { onewayProto(b, senders, mkVal) })
		return
	}
	b.Run("troupe", func(b *testing.B) { onewayTroupe(b, senders, count, mkPtr) })
	b.Run("raw", func(b *testing.B) { onewayRaw(b, senders, mkPtr) })
	b.Run("protoactor", func(b *testing.B) { onewayProto(b, senders, mkPtr) })
}

func mkPtr(int) *msg  { return payload }
func mkVal(i int) val { return val{Seq: i, Val: 1} }

// counter counts messages and closes done at the target.
type counter struct {
	n, target int
	done      chan struct{}
}

func newCounter(target int) *counter {
	return &counter{target: target, done: make(chan struct{})}
}

func (s *counter) add() {
	s.n++
	if s.n == s.target {
		close(s.done)
	}
}

var count = actor.NewMethod("count", func(s *counter, _ *actor.Ctx, _ *msg) (struct{}, error) {
	s.add()
	return struct{}{}, nil
})

var countVal = actor.NewMethod("count value", func(s *counter, _ *actor.Ctx, v val) (struct{}, error) {
	s.n += v.Val - 1 // reads the value: it must have arrived whole
	s.add()
	return struct{}{}, nil
})

func onewayTroupe[P any](b *testing.B, senders int, m *actor.Method[*counter, P, struct{}], mk func(int) P) {
	rt := newRuntime(b)
	st := newCounter(b.N)
	ref, err := actor.Spawn(rt, st)
	if err != nil {
		b.Fatal(err)
	}
	report := countAllocs(b)
	b.ResetTimer()
	split(b.N, senders, func(n int) {
		for i := range n {
			if err := m.Cast(ref, mk(i)); err != nil {
				b.Error(err)
				return
			}
		}
	})
	<-st.done
	b.StopTimer()
	report()
	if err := ref.Stop(context.Background()); err != nil {
		b.Fatal(err)
	}
}

func onewayRaw[P any](b *testing.B, senders int, mk func(int) P) {
	st := newCounter(b.N)
	inbox := make(chan P, rawQueue)
	go func() {
		for range inbox {
			st.add()
		}
	}()
	report := countAllocs(b)
	b.ResetTimer()
	split(b.N, senders, func(n int) {
		for i := range n {
			inbox <- mk(i)
		}
	})
	<-st.done
	b.StopTimer()
	report()
	close(inbox)
}

func onewayProto[P any](b *testing.B, senders int, mk func(int) P) {
	sys := protoSystem()
	st := newCounter(b.N)
	pid := sys.Root.Spawn(proto.PropsFromFunc(func(c proto.Context) {
		if _, ok := c.Message().(P); ok {
			st.add()
		}
	}))
	report := countAllocs(b)
	b.ResetTimer()
	split(b.N, senders, func(n int) {
		for i := range n {
			sys.Root.Send(pid, mk(i))
		}
	})
	<-st.done
	b.StopTimer()
	report()
	protoStop(b, pid)
}
