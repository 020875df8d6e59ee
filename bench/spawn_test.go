package bench

import (
	"context"
	"runtime"
	"runtime/debug"
	"sync"
	"testing"
	"time"

	proto "github.com/asynkron/protoactor-go/actor"
	"github.com/troupe-go/troupe/actor"
)

// BenchmarkSpawnStop spawns an actor and stops it gracefully, waiting
// until it has stopped: one op is one spawn+stop. Raw Go's actor is a
// goroutine ranging over its inbox channel.
func BenchmarkSpawnStop(b *testing.B) {
	b.Run("troupe", func(b *testing.B) {
		rt := newRuntime(b)
		ctx := context.Background()
		report := countAllocs(b)
		for b.Loop() {
			ref, err := actor.Spawn(rt, &idler{})
			if err != nil {
				b.Fatal(err)
			}
			if err := ref.Stop(ctx); err != nil {
				b.Fatal(err)
			}
		}
		report()
	})
	b.Run("raw", func(b *testing.B) {
		report := countAllocs(b)
		for b.Loop() {
			a := spawnRaw()
			a.stop()
		}
		report()
	})
	b.Run("protoactor", func(b *testing.B) {
		sys := protoSystem()
		props := proto.PropsFromFunc(func(proto.Context) {})
		report := countAllocs(b)
		for b.Loop() {
			protoStop(b, sys.Root.Spawn(props))
		}
		report()
	})
}

// idler is the state of an idle troupe actor; raw Go's and protoactor-go's
// idle actors hold the same int.
type idler struct{ n int }

// rawActor is a raw Go actor: a goroutine ranging over its inbox.
type rawActor struct {
	inbox chan *msg
	done  chan struct{}
}

func spawnRaw() *rawActor {
	a := &rawActor{inbox: make(chan *msg), done: make(chan struct{})}
	go func() {
		var st idler
		for m := range a.inbox {
			st.n += m.n
		}
		close(a.done)
	}()
	return a
}

func (a *rawActor) stop() {
	close(a.inbox)
	<-a.done
}

// idleActors is how many idle actors BenchmarkIdleActor keeps at once.
const idleActors = 100_000

// BenchmarkIdleActor spawns idleActors actors that receive nothing and
// reports the memory each one holds (heap plus goroutine stacks, after a
// GC) as B/actor. One op spawns all of them; stopping them is not timed.
func BenchmarkIdleActor(b *testing.B) { benchIdleActors(b, false) }

// BenchmarkIdleActorAfterCall is BenchmarkIdleActor where each actor has
// handled one sync call (raw Go: one message, taken by the actor) and then
// stayed idle for afterCallSettle: what an actor that served traffic keeps
// while it waits for more.
func BenchmarkIdleActorAfterCall(b *testing.B) { benchIdleActors(b, true) }

// afterCallSettle is how long BenchmarkIdleActorAfterCall leaves its
// actors idle before measuring them: past troupe's idle trim (an actor
// idle for one to two seconds gives back its mailbox's queues).
const afterCallSettle = 3 * time.Second

var poke = actor.NewMethod("poke", func(s *idler, _ *actor.Ctx, m *msg) (int, error) {
	s.n += m.n
	return s.n, nil
})

func benchIdleActors(b *testing.B, call bool) {
	ctx := context.Background()
	settle := func() {
		if call {
			time.Sleep(afterCallSettle)
		}
	}
	b.Run("troupe", func(b *testing.B) {
		rt := newRuntime(b)
		refs := make([]*actor.Ref[*idler], idleActors)
		idleBench(b, func() {
			for i := range refs {
				ref, err := actor.Spawn(rt, &idler{})
				if err != nil {
					b.Fatal(err)
				}
				refs[i] = ref
				if call {
					if _, err := poke.Call(ctx, ref, payload); err != nil {
						b.Fatal(err)
					}
				}
			}
			settle()
		}, func() {
			for i, ref := range refs {
				if err := ref.Stop(ctx); err != nil {
					b.Fatal(err)
				}
				refs[i] = nil
			}
		})
	})
	b.Run("raw", func(b *testing.B) {
		as := make([]*rawActor, idleActors)
		idleBench(b, func() {
			for i := range as {
				as[i] = spawnRaw()
				if call {
					as[i].inbox <- payload // unbuffered: taken by the actor
				}
			}
			settle()
		}, func() {
			for i, a := range as {
				a.stop()
				as[i] = nil
			}
		})
	})
	b.Run("protoactor", func(b *testing.B) {
		sys := protoSystem()
		pids := make([]*proto.PID, idleActors)
		var stopped sync.WaitGroup
		props := proto.PropsFromProducer(func() proto.Actor { return &protoIdler{stopped: &stopped} })
		idleBench(b, func() {
			stopped.Add(len(pids))
			for i := range pids {
				pids[i] = sys.Root.Spawn(props)
				if call {
					if _, err := sys.Root.RequestFuture(pids[i], payload, timeout).Result(); err != nil {
						b.Fatal(err)
					}
				}
			}
			settle()
		}, func() {
			for i, pid := range pids {
				sys.Root.Stop(pid)
				pids[i] = nil
			}
			stopped.Wait()
		})
	})
}

// protoIdler is protoactor-go's idle actor; it reports when it has stopped.
type protoIdler struct {
	idler
	stopped *sync.WaitGroup
}

func (a *protoIdler) Receive(c proto.Context) {
	switch m := c.Message().(type) {
	case *proto.Stopped:
		a.stopped.Done()
	case *msg:
		a.n += m.n
		c.Respond(a.n)
	}
}

// idleBench times spawn (idleActors actors), reports the memory they hold
// per actor, and runs stop untimed.
func idleBench(b *testing.B, spawn, stop func()) {
	var per float64
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		before := liveBytes()
		b.StartTimer()
		spawn()
		b.StopTimer()
		per = float64(liveBytes()-before) / idleActors
		stop()
		b.StartTimer()
	}
	b.ReportMetric(per, "B/actor")
}

// liveBytes is the memory in use after a full GC: live heap objects plus
// goroutine stacks.
func liveBytes() int64 {
	ms := settled()
	return int64(ms.HeapAlloc + ms.StackInuse)
}

// heapBytes is the live heap after a full GC, stacks left out (they
// shrink and move between GCs, which is noise where no goroutine is
// made).
func heapBytes() int64 {
	ms := settled()
	return int64(ms.HeapAlloc)
}

// settled collects garbage (debug.FreeOSMemory runs a full GC and gives
// freed spans back) and returns the memory statistics.
func settled() runtime.MemStats {
	runtime.GC()
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms
}
