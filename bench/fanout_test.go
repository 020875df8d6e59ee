package bench

import (
	"context"
	"sync/atomic"
	"testing"

	proto "github.com/asynkron/protoactor-go/actor"
	"github.com/troupe-go/troupe/actor"
)

// The fan-out workload is 10,000 actors × 100 messages each. Timing that
// whole workload as one op would take the better part of a second per op
// and leave the benchmark framework a handful of samples, so instead the
// actors are spawned once per round (untimed) and one op is one message,
// sent round-robin to the next actor, with every message's processing
// waited for before the clock stops. ns/op is then the mean cost of one
// message when 10,000 actors share the workers, and with the default
// -benchtime each actor gets on the order of the workload's 100 messages.
// The full workload's time is ns/op × 10⁶ ns, reported as ms/workload
// (numerically equal to ns/op, spelled out so it is not misread).
const (
	fanActors   = 10_000
	fanMessages = 100 // per actor, in the workload the metric extrapolates to
)

func BenchmarkFanOut(b *testing.B) {
	b.Run("troupe", fanOutTroupe)
	b.Run("raw", fanOutRaw)
	b.Run("protoactor", fanOutProto)
}

// fanState is what the fan-out actors share: a count of processed
// messages, closing done at the target.
type fanState struct {
	n      atomic.Int64
	target int64
	done   chan struct{}
}

func newFanState(target int) *fanState {
	return &fanState{target: int64(target), done: make(chan struct{})}
}

func (s *fanState) add() {
	if s.n.Add(1) == s.target {
		close(s.done)
	}
}

type fanActor struct{ shared *fanState }

var fanCount = actor.NewMethod("fan", func(s *fanActor, _ *actor.Ctx, _ *msg) (struct{}, error) {
	s.shared.add()
	return struct{}{}, nil
})

func reportFanOut(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)*fanActors*fanMessages/1e6, "ms/workload")
}

func fanOutTroupe(b *testing.B) {
	rt := newRuntime(b)
	st := newFanState(b.N)
	refs := make([]*actor.Ref[*fanActor], fanActors)
	for i := range refs {
		ref, err := actor.Spawn(rt, &fanActor{shared: st})
		if err != nil {
			b.Fatal(err)
		}
		refs[i] = ref
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := fanCount.Cast(refs[i%fanActors], payload); err != nil {
			b.Fatal(err)
		}
	}
	<-st.done
	b.StopTimer()
	reportFanOut(b)
	ctx := context.Background()
	for _, ref := range refs {
		if err := ref.Stop(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// fanQueue is the inbox capacity of a raw Go fan-out actor: the
// workload's messages per actor, so a sender rarely waits.
const fanQueue = fanMessages

func fanOutRaw(b *testing.B) {
	st := newFanState(b.N)
	inboxes := make([]chan *msg, fanActors)
	for i := range inboxes {
		inbox := make(chan *msg, fanQueue)
		inboxes[i] = inbox
		go func() {
			for range inbox {
				st.add()
			}
		}()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		inboxes[i%fanActors] <- payload
	}
	<-st.done
	b.StopTimer()
	reportFanOut(b)
	for _, inbox := range inboxes {
		close(inbox)
	}
}

func fanOutProto(b *testing.B) {
	sys := protoSystem()
	st := newFanState(b.N)
	props := proto.PropsFromFunc(func(c proto.Context) {
		if _, ok := c.Message().(*msg); ok {
			st.add()
		}
	})
	pids := make([]*proto.PID, fanActors)
	for i := range pids {
		pids[i] = sys.Root.Spawn(props)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		sys.Root.Send(pids[i%fanActors], payload)
	}
	<-st.done
	b.StopTimer()
	reportFanOut(b)
	for _, pid := range pids {
		sys.Root.Stop(pid)
	}
}

// BenchmarkFanOutValue is BenchmarkFanOut with a 16-byte value payload,
// a new one per message (see BenchmarkOnewayValue1to1).
func BenchmarkFanOutValue(b *testing.B) {
	b.Run("troupe", fanOutTroupeValue)
	b.Run("raw", fanOutRawValue)
	b.Run("protoactor", fanOutProtoValue)
}

var fanCountVal = actor.NewMethod("fan value", func(s *fanActor, _ *actor.Ctx, v val) (struct{}, error) {
	if v.Val == 1 {
		s.shared.add()
	}
	return struct{}{}, nil
})

func fanOutTroupeValue(b *testing.B) {
	rt := newRuntime(b)
	st := newFanState(b.N)
	refs := make([]*actor.Ref[*fanActor], fanActors)
	for i := range refs {
		ref, err := actor.Spawn(rt, &fanActor{shared: st})
		if err != nil {
			b.Fatal(err)
		}
		refs[i] = ref
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := fanCountVal.Cast(refs[i%fanActors], mkVal(i)); err != nil {
			b.Fatal(err)
		}
	}
	<-st.done
	b.StopTimer()
	reportFanOut(b)
	ctx := context.Background()
	for _, ref := range refs {
		if err := ref.Stop(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func fanOutRawValue(b *testing.B) {
	st := newFanState(b.N)
	inboxes := make([]chan val, fanActors)
	for i := range inboxes {
		inbox := make(chan val, fanQueue)
		inboxes[i] = inbox
		go func() {
			for v := range inbox {
				if v.Val == 1 {
					st.add()
				}
			}
		}()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		inboxes[i%fanActors] <- mkVal(i)
	}
	<-st.done
	b.StopTimer()
	reportFanOut(b)
	for _, inbox := range inboxes {
		close(inbox)
	}
}

func fanOutProtoValue(b *testing.B) {
	sys := protoSystem()
	st := newFanState(b.N)
	props := proto.PropsFromFunc(func(c proto.Context) {
		if v, ok := c.Message().(val); ok && v.Val == 1 {
			st.add()
		}
	})
	pids := make([]*proto.PID, fanActors)
	for i := range pids {
		pids[i] = sys.Root.Spawn(props)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		sys.Root.Send(pids[i%fanActors], mkVal(i))
	}
	<-st.done
	b.StopTimer()
	reportFanOut(b)
	for _, pid := range pids {
		sys.Root.Stop(pid)
	}
}
