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
	b.Run("troupe", func(b *testing.B) { fanOutTroupe(b, fanCount, mkPtr) })
	b.Run("raw", func(b *testing.B) { fanOutRaw(b, mkPtr) })
	b.Run("protoactor", func(b *testing.B) { fanOutProto(b, mkPtr) })
}

// BenchmarkFanOutValue is BenchmarkFanOut with a 16-byte value payload,
// a new one per message (see BenchmarkOnewayValue1to1).
func BenchmarkFanOutValue(b *testing.B) {
	b.Run("troupe", func(b *testing.B) { fanOutTroupe(b, fanCountVal, mkVal) })
	b.Run("raw", func(b *testing.B) { fanOutRaw(b, mkVal) })
	b.Run("protoactor", func(b *testing.B) { fanOutProto(b, mkVal) })
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

var (
	fanCount = actor.NewMethod("fan", func(s *fanActor, _ *actor.Ctx, _ *msg) (struct{}, error) {
		s.shared.add()
		return struct{}{}, nil
	})
	fanCountVal = actor.NewMethod("fan value", func(s *fanActor, _ *actor.Ctx, v val) (struct{}, error) {
		if v.Val == 1 { // reads the value: it must have arrived whole
			s.shared.add()
		}
		return struct{}{}, nil
	})
)

func reportFanOut(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)*fanActors*fanMessages/1e6, "ms/workload")
}

func fanOutTroupe[P any](b *testing.B, m *actor.Method[*fanActor, P, struct{}], mk func(int) P) {
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
	report := countAllocs(b)
	b.ResetTimer()
	for i := range b.N {
		if err := m.Cast(refs[i%fanActors], mk(i)); err != nil {
			b.Fatal(err)
		}
	}
	<-st.done
	b.StopTimer()
	report()
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

func fanOutRaw[P any](b *testing.B, mk func(int) P) {
	st := newFanState(b.N)
	inboxes := make([]chan P, fanActors)
	for i := range inboxes {
		inbox := make(chan P, fanQueue)
		inboxes[i] = inbox
		go func() {
			for range inbox {
				st.add()
			}
		}()
	}
	report := countAllocs(b)
	b.ResetTimer()
	for i := range b.N {
		inboxes[i%fanActors] <- mk(i)
	}
	<-st.done
	b.StopTimer()
	report()
	reportFanOut(b)
	for _, inbox := range inboxes {
		close(inbox)
	}
}

func fanOutProto[P any](b *testing.B, mk func(int) P) {
	sys := protoSystem()
	st := newFanState(b.N)
	props := proto.PropsFromFunc(func(c proto.Context) {
		if _, ok := c.Message().(P); ok {
			st.add()
		}
	})
	pids := make([]*proto.PID, fanActors)
	for i := range pids {
		pids[i] = sys.Root.Spawn(props)
	}
	report := countAllocs(b)
	b.ResetTimer()
	for i := range b.N {
		sys.Root.Send(pids[i%fanActors], mk(i))
	}
	<-st.done
	b.StopTimer()
	report()
	reportFanOut(b)
	// Stopped and waited for, as troupe's are (Ref.Stop): actors still
	// stopping would run beside the next benchmark.
	fs := make([]*proto.Future, len(pids))
	for i, pid := range pids {
		fs[i] = sys.Root.StopFuture(pid)
	}
	for _, f := range fs {
		if err := f.Wait(); err != nil {
			b.Fatalf("protoactor stop: %v", err)
		}
	}
}
