package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

// Owner is a singleton-per-name actor: while one of a name runs a handler
// or its Stopping hook, no other of that name may.
type Owner struct {
	gen  int
	prev *actor.Ref[*Owner] // the actor of the name before this one
	slow time.Duration      // its Stopping hook's length
	bad  *[]string          // handlers that ran while prev was not done
}

func (o *Owner) Stopping(*actor.Ctx) { time.Sleep(o.slow) }

var own = actor.NewMethod("own", func(o *Owner, _ *actor.Ctx, d time.Duration) (int, error) {
	if o.prev != nil {
		select {
		case <-o.prev.Done():
		default:
			*o.bad = append(*o.bad, "a handler of the second actor ran before the first's Done")
		}
	}
	time.Sleep(d)
	return o.gen, nil
})

// A name stays taken while its actor stops (its queued calls, its Stopping
// hook): LookupOrSpawn waits for that actor's Done before it spawns the
// next one, bounded by the call timeout; Spawn with the name is refused
// with ErrNameTaken, saying the holder is stopping.
func TestNameHeldWhileStopping(t *testing.T) {
	// stopping spawns "acct", queues a 1 s call, then stops it gracefully
	// (the call, then a Stopping hook of hook): on return the actor is
	// stopping, its call running.
	stopping := func(t *testing.T, rt *troupe.Runtime, hook time.Duration, bad *[]string) *actor.Ref[*Owner] {
		t.Helper()
		old, created, err := troupe.LookupOrSpawn(context.Background(), rt, "acct", func() *Owner { return &Owner{gen: 1, slow: hook, bad: bad} })
		if err != nil || !created {
			t.Fatalf("first LookupOrSpawn = %v, %v", created, err)
		}
		if err := own.Cast(old, time.Second); err != nil {
			t.Fatal(err)
		}
		go func() { _ = old.Stop(context.Background()) }()
		synctest.Wait()
		if !old.Stopped() {
			t.Fatal("the first actor is not stopping")
		}
		return old
	}
	t.Run("LookupOrSpawn waits for Done", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rt := newRT(t)
			var bad []string
			old := stopping(t, rt, time.Second, &bad)
			if _, err := troupe.Lookup[*Owner](rt, "acct"); !errors.Is(err, troupe.ErrNotFound) {
				t.Errorf("Lookup of a stopping actor = %v; want ErrNotFound", err)
			}
			start := time.Now()
			ref, created, err := troupe.LookupOrSpawn(context.Background(), rt, "acct", func() *Owner { return &Owner{gen: 2, prev: old, bad: &bad} })
			if err != nil || !created {
				t.Fatalf("second LookupOrSpawn = %v, %v", created, err)
			}
			within(t, "the second LookupOrSpawn", start, 2*time.Second) // the call's 1 s, then the hook's
			if gen, err := own.Call(context.Background(), ref, 0); err != nil || gen != 2 {
				t.Errorf("call to the second actor = %d, %v; want 2", gen, err)
			}
			if len(bad) > 0 {
				t.Error(bad[0])
			}
		})
	})
	t.Run("LookupOrSpawn gives up at the call timeout", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rt := newRT(t, troupe.WithCallTimeout(3*time.Second))
			var bad []string
			old := stopping(t, rt, time.Hour, &bad)
			start := time.Now()
			_, _, err := troupe.LookupOrSpawn(context.Background(), rt, "acct", func() *Owner { return &Owner{gen: 2, prev: old, bad: &bad} })
			if !errors.Is(err, actor.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("LookupOrSpawn of a name whose actor stops for an hour = %v; want ErrTimeout", err)
			}
			within(t, "LookupOrSpawn", start, 3*time.Second)
			<-old.Done()
			if len(bad) > 0 {
				t.Error(bad[0])
			}
		})
	})
	t.Run("LookupOrSpawn gives up as its ctx ends", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rt := newRT(t, troupe.WithCallTimeout(3*time.Second))
			var bad []string
			old := stopping(t, rt, time.Hour, &bad)
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			start := time.Now()
			_, _, err := troupe.LookupOrSpawn(ctx, rt, "acct", func() *Owner { return &Owner{gen: 2, prev: old, bad: &bad} })
			if !errors.Is(err, actor.ErrTimeout) {
				t.Errorf("LookupOrSpawn with a 1 s ctx = %v; want ErrTimeout", err)
			}
			within(t, "LookupOrSpawn", start, time.Second)
			cause := errors.New("gave up")
			ctx, stop := context.WithCancelCause(context.Background())
			time.AfterFunc(time.Second, func() { stop(cause) })
			if _, _, err := troupe.LookupOrSpawn(ctx, rt, "acct", func() *Owner { return &Owner{} }); !errors.Is(err, cause) {
				t.Errorf("LookupOrSpawn with a ctx cancelled = %v; want its cause", err)
			}
			<-old.Done()
		})
	})
	t.Run("Spawn with the name is refused", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rt := newRT(t)
			var bad []string
			old := stopping(t, rt, time.Second, &bad)
			_, err := actor.Spawn(rt, &Owner{gen: 2, prev: old, bad: &bad}, actor.WithName("acct"))
			if !errors.Is(err, actor.ErrNameTaken) || !strings.Contains(err.Error(), "stopping") {
				t.Errorf("Spawn with a stopping actor's name = %v; want ErrNameTaken, saying it is stopping", err)
			}
			<-old.Done()
			ref, err := actor.Spawn(rt, &Owner{gen: 3, prev: old, bad: &bad}, actor.WithName("acct"))
			if err != nil {
				t.Fatalf("Spawn after Done = %v; want the name free", err)
			}
			if gen, err := own.Call(context.Background(), ref, 0); err != nil || gen != 3 {
				t.Errorf("call to the third actor = %d, %v; want 3", gen, err)
			}
			if len(bad) > 0 {
				t.Error(bad[0])
			}
		})
	})
}

// hooked records the hooks run on it.
type hooked struct{ ran chan string }

func (h *hooked) Started(*actor.Ctx)  { h.ran <- "Started" }
func (h *hooked) Stopping(*actor.Ctx) { h.ran <- "Stopping" }

var spawnKid = actor.NewMethod("kid", func(_ *Counter, x *actor.Ctx, h *hooked) (int, error) {
	if _, err := actor.Spawn(x, h, actor.WithName("kid")); !errors.Is(err, actor.ErrStopped) {
		h.ran <- fmt.Sprintf("Spawn under a stopping parent = %v; want ErrStopped", err)
	}
	return 0, nil
})

// A named child refused because its parent is stopping never was an
// actor to its spawner (Spawn failed; the state is the caller's again):
// none of its hooks runs, as for an unnamed one, and its name is free
// again once the refusal has settled. Its Stopping hook ran, on the
// state Spawn had just handed back.
func TestRefusedChildRunsNoHook(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newRT(t)
		parent, err := actor.Spawn(rt, &Counter{})
		if err != nil {
			t.Fatal(err)
		}
		h := &hooked{ran: make(chan string, 10)}
		_ = hold.Cast(parent, work{d: time.Second})
		_ = spawnKid.Cast(parent, h) // runs while the parent stops
		if err := parent.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		select {
		case got := <-h.ran:
			t.Errorf("the refused child ran %q; want no hook", got)
		default:
		}
		if _, err := actor.Spawn(rt, &Counter{}, actor.WithName("kid")); err != nil {
			t.Errorf("Spawn with the name after the refused child = %v; want it free", err)
		}
	})
}

// Selfie looks up its own name (or, as a child, its parent's) while the
// actor of that name stops.
type Selfie struct {
	rt   *troupe.Runtime
	name string        // the name it looks up
	gate chan struct{} // lookup waits for it, in a handler
	out  chan error    // the lookup's outcome, after how long it took
}

func (s *Selfie) lookUp(ctx context.Context) {
	start := time.Now()
	_, _, err := troupe.LookupOrSpawn(ctx, s.rt, s.name, func() *Selfie { return &Selfie{} })
	if d := time.Since(start); d > 0 {
		err = fmt.Errorf("after %v: %w", d, err)
	}
	s.out <- err
}

func (s *Selfie) Stopping(c *actor.Ctx) {
	if s.gate == nil {
		s.lookUp(c.Context())
	}
}

var lookUp = actor.NewMethod("look up", func(s *Selfie, c *actor.Ctx, _ struct{}) (struct{}, error) {
	<-s.gate
	s.lookUp(c.Context())
	return struct{}{}, nil
})

var adopt = actor.NewMethod("adopt", func(_ *Selfie, c *actor.Ctx, kid *Selfie) (*actor.Ref[*Selfie], error) {
	return actor.Spawn(c, kid)
})

// LookupOrSpawn of a name whose stopping actor waits for the caller's
// handler — the name is the caller's own (its Stopping hook looks it up)
// or its parent's (a child's handler, which the parent's stop waits for)
// — fails at once with ErrCallCycle, given the handler's Context. It
// waited for that actor's Done, which waited for the caller: the call
// timeout (5 s here), then ErrTimeout.
func TestLookupOrSpawnOwnStoppingName(t *testing.T) {
	t.Run("its Stopping hook", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rt := newRT(t, troupe.WithCallTimeout(5*time.Second))
			s := &Selfie{rt: rt, name: "me", out: make(chan error, 1)}
			ref, _, err := troupe.LookupOrSpawn(context.Background(), rt, "me", func() *Selfie { return s })
			if err != nil {
				t.Fatal(err)
			}
			if err := ref.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := <-s.out; !errors.Is(err, actor.ErrCallCycle) || strings.HasPrefix(err.Error(), "after") {
				t.Errorf("LookupOrSpawn of its own name from its Stopping hook = %v; want ErrCallCycle at once", err)
			}
		})
	})
	t.Run("a child's handler", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			rt := newRT(t, troupe.WithCallTimeout(5*time.Second))
			boss, _, err := troupe.LookupOrSpawn(context.Background(), rt, "boss", func() *Selfie { return &Selfie{gate: make(chan struct{})} })
			if err != nil {
				t.Fatal(err)
			}
			kid := &Selfie{rt: rt, name: "boss", gate: make(chan struct{}), out: make(chan error, 1)}
			ref, err := adopt.Call(context.Background(), boss, kid)
			if err != nil {
				t.Fatal(err)
			}
			_ = lookUp.Cast(ref, struct{}{})
			stopped := make(chan error)
			go func() { stopped <- boss.Stop(context.Background()) }()
			synctest.Wait() // boss stops, waiting for its child's turn
			close(kid.gate)
			if err := <-kid.out; !errors.Is(err, actor.ErrCallCycle) || strings.HasPrefix(err.Error(), "after") {
				t.Errorf("LookupOrSpawn of its stopping parent's name from a child's handler = %v; want ErrCallCycle at once", err)
			}
			if err := <-stopped; err != nil {
				t.Error(err)
			}
		})
	})
}
