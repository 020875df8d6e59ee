package bench

import (
	"context"
	"testing"

	proto "github.com/asynkron/protoactor-go/actor"
	"github.com/troupe-go/troupe/actor"
)

// The oneway workloads: senders goroutines share b.N casts of a pointer
// payload to one actor; the clock stops once the actor has processed the
// last one. ns/op is the mean cost of one message, allocs/op the
// allocations per message (0 in steady state is the target).

func BenchmarkOneway1to1(b *testing.B)  { benchOneway(b, 1) }
func BenchmarkOneway8to1(b *testing.B)  { benchOneway(b, 8) }
func BenchmarkOneway64to1(b *testing.B) { benchOneway(b, 64) }

// rawQueue is the capacity of the raw Go actor's inbox channel: big enough
// that senders rarely wait for the receiver, as with the actor systems'
// unbounded mailboxes, without holding all of b.N.
const rawQueue = 1024

func benchOneway(b *testing.B, senders int) {
	b.Run("troupe", func(b *testing.B) { onewayTroupe(b, b.N, senders) })
	b.Run("raw", func(b *testing.B) { onewayRaw(b, b.N, senders) })
	b.Run("protoactor", func(b *testing.B) { onewayProto(b, b.N, senders) })
}

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

func onewayTroupe(b *testing.B, n, senders int) {
	rt := newRuntime(b)
	st := newCounter(n)
	ref, err := actor.Spawn(rt, st)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	split(n, senders, func(n int) {
		for range n {
			if err := count.Cast(ref, payload); err != nil {
				b.Error(err)
				return
			}
		}
	})
	<-st.done
	b.StopTimer()
	if err := ref.Stop(context.Background()); err != nil {
		b.Fatal(err)
	}
}

func onewayRaw(b *testing.B, n, senders int) {
	st := newCounter(n)
	inbox := make(chan *msg, rawQueue)
	go func() {
		for range inbox {
			st.add()
		}
	}()
	b.ReportAllocs()
	b.ResetTimer()
	split(n, senders, func(n int) {
		for range n {
			inbox <- payload
		}
	})
	<-st.done
	b.StopTimer()
	close(inbox)
}

func onewayProto(b *testing.B, n, senders int) {
	sys := protoSystem()
	st := newCounter(n)
	pid := sys.Root.Spawn(proto.PropsFromFunc(func(c proto.Context) {
		if _, ok := c.Message().(*msg); ok {
			st.add()
		}
	}))
	b.ReportAllocs()
	b.ResetTimer()
	split(n, senders, func(n int) {
		for range n {
			sys.Root.Send(pid, payload)
		}
	})
	<-st.done
	b.StopTimer()
	protoStop(b, pid)
}
