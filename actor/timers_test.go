package actor_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/mailbox"
	troupe "github.com/troupe-go/troupe/runtime"
)

type Clock struct {
	mu    sync.Mutex
	ticks []string
}

func (c *Clock) got() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.ticks...)
}

var (
	Tick = actor.NewMethod("tick", func(c *Clock, _ *actor.Ctx, s string) (struct{}, error) {
		c.mu.Lock()
		c.ticks = append(c.ticks, s)
		c.mu.Unlock()
		return struct{}{}, nil
	})
	// Arm starts the timer named by req[0] with delay req[1] (After) or
	// period req[1] (Every, if req[2] == "every").
	Arm = actor.NewMethod("arm", func(c *Clock, x *actor.Ctx, req armReq) (struct{}, error) {
		var err error
		if req.every {
			err = actor.Every(x, req.key, req.d, Tick, req.label)
		} else {
			err = actor.After(x, req.key, req.d, Tick, req.label)
		}
		return struct{}{}, err
	})
	Cancel = actor.NewMethod("cancel", func(c *Clock, x *actor.Ctx, key string) (bool, error) {
		return x.CancelTimer(key), nil
	})
)

type armReq struct {
	key   string
	d     time.Duration
	label string
	every bool
}

func TestAfterFiresOnce(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		clk := &Clock{}
		ref, _ := actor.Spawn(rt, clk)
		ctx := context.Background()
		if _, err := Arm.Call(ctx, ref, armReq{key: "k", d: time.Second, label: "a"}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(999 * time.Millisecond)
		synctest.Wait()
		if len(clk.got()) != 0 {
			t.Fatal("fired early")
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if got := clk.got(); len(got) != 1 || got[0] != "a" {
			t.Fatalf("ticks = %v; want [a]", got)
		}
	})
}

// Restarting a key cancels the old timer, even a tick already queued.
func TestRestartKeyDropsQueuedTick(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		clk := &Clock{}
		ref, _ := actor.Spawn(rt, clk)
		ctx := context.Background()
		gate := make(chan struct{})
		hold := actor.NewMethod("hold", func(*Clock, *actor.Ctx, int) (int, error) { <-gate; return 0, nil })
		if _, err := Arm.Call(ctx, ref, armReq{key: "k", d: time.Second, label: "old"}); err != nil {
			t.Fatal(err)
		}
		_ = hold.Cast(ref, 0) // busy while the old tick fires and queues
		time.Sleep(2 * time.Second)
		synctest.Wait()
		_ = Arm.Cast(ref, armReq{key: "k", d: time.Second, label: "new"}) // queued after the old tick
		close(gate)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		// The old tick was queued before the restart, but the restart runs
		// after it: the old tick is still current when it runs. Restart
		// before the tick instead:
		got := clk.got()
		if len(got) != 2 || got[0] != "old" || got[1] != "new" {
			t.Fatalf("ticks = %v; want [old new]", got)
		}
		// Now queue a tick, then restart the key ahead of it.
		gate2 := make(chan struct{})
		hold2 := actor.NewMethod("hold2", func(*Clock, *actor.Ctx, int) (int, error) { <-gate2; return 0, nil })
		restart := actor.NewMethod("restart", func(c *Clock, x *actor.Ctx, _ int) (int, error) {
			<-gate2
			err := actor.After(x, "k", time.Hour, Tick, "never")
			return 0, err
		})
		if _, err := Arm.Call(ctx, ref, armReq{key: "k", d: time.Second, label: "stale"}); err != nil {
			t.Fatal(err)
		}
		_ = restart.Cast(ref, 0) // runs before the stale tick, which queues behind it
		_ = hold2
		time.Sleep(2 * time.Second)
		synctest.Wait()
		close(gate2)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		for _, s := range clk.got() {
			if s == "stale" {
				t.Fatalf("a tick queued before its key was restarted was delivered: %v", clk.got())
			}
		}
	})
}

func TestEveryAndCancel(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		clk := &Clock{}
		ref, _ := actor.Spawn(rt, clk)
		ctx := context.Background()
		if _, err := Arm.Call(ctx, ref, armReq{key: "e", d: time.Second, label: "e", every: true}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3500 * time.Millisecond)
		synctest.Wait()
		if n := len(clk.got()); n != 3 {
			t.Fatalf("%d ticks after 3.5 periods; want 3", n)
		}
		if ok, _ := Cancel.Call(ctx, ref, "e"); !ok {
			t.Fatal("CancelTimer = false; want true")
		}
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if n := len(clk.got()); n != 3 {
			t.Fatalf("%d ticks after cancel; want still 3", n)
		}
		if ok, _ := Cancel.Call(ctx, ref, "e"); ok {
			t.Fatal("second CancelTimer = true; want false")
		}
	})
}

// Ticks do not pile up behind a busy actor.
func TestEveryDoesNotPileUp(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		clk := &Clock{}
		ref, _ := actor.Spawn(rt, clk)
		gate := make(chan struct{})
		hold := actor.NewMethod("hold", func(*Clock, *actor.Ctx, int) (int, error) { <-gate; return 0, nil })
		_, _ = Arm.Call(context.Background(), ref, armReq{key: "e", d: time.Second, label: "e", every: true})
		_ = hold.Cast(ref, 0)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		close(gate)
		synctest.Wait()
		if n := len(clk.got()); n != 1 {
			t.Fatalf("%d ticks ran after a 10-period stall; want 1 (no pile-up)", n)
		}
		ref.Kill()
	})
}

// An actor's timers die with it.
func TestTimersDieWithActor(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		clk := &Clock{}
		ref, _ := actor.Spawn(rt, clk)
		_, _ = Arm.Call(context.Background(), ref, armReq{key: "e", d: time.Second, label: "e", every: true})
		if err := ref.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if n := len(clk.got()); n != 0 {
			t.Fatalf("%d ticks after stop; want 0", n)
		}
	})
}

func TestTimerBadInput(t *testing.T) {
	rt := newRuntime(t)
	ref, _ := actor.Spawn(rt, &Clock{})
	ctx := context.Background()
	for _, tt := range []struct {
		req  armReq
		want error
	}{
		{armReq{key: "k", d: -time.Second}, actor.ErrNegativeDuration},
		{armReq{key: "", d: time.Second}, actor.ErrInvalidName},
		{armReq{key: "k", d: 0, every: true}, actor.ErrInvalidOption},
	} {
		if _, err := Arm.Call(ctx, ref, tt.req); !errors.Is(err, tt.want) {
			t.Errorf("Arm(%+v) = %v; want %v", tt.req, err, tt.want)
		}
	}
	wrong := actor.NewMethod("wrong", func(*Account, *actor.Ctx, string) (int, error) { return 0, nil })
	armWrong := actor.NewMethod("arm-wrong", func(c *Clock, x *actor.Ctx, _ int) (int, error) {
		err := actor.After(x, "k", time.Second, wrong, "x")
		return 0, err
	})
	if _, err := armWrong.Call(ctx, ref, 0); !errors.Is(err, actor.ErrWrongActor) {
		t.Fatalf("After with another actor's method = %v; want ErrWrongActor", err)
	}
}

// A stop drops the ticks already queued quietly (DESIGN: a stop cancels
// the actor's timers and drops their queued ticks), even a kill, which
// fails the rest of the queue: a dead tick is no failure to report.
func TestKillDropsQueuedTickQuietly(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rec := &recorder{}
		rt := newRuntime(t, troupe.WithDeadLetterHook(rec.Hook))
		clk := &Clock{}
		ref, _ := actor.Spawn(rt, clk)
		gate := make(chan struct{})
		hold := actor.NewMethod("hold", func(*Clock, *actor.Ctx, int) (struct{}, error) { <-gate; return struct{}{}, nil })
		if _, err := Arm.Call(context.Background(), ref, armReq{key: "k", d: time.Second, label: "tick", every: true}); err != nil {
			t.Fatal(err)
		}
		_ = hold.Cast(ref, 0) // busy while the tick fires and queues
		time.Sleep(2 * time.Second)
		synctest.Wait()
		ref.Kill()
		close(gate)
		<-ref.Done()
		synctest.Wait()
		if n := len(clk.got()); n != 0 {
			t.Fatalf("%d ticks ran after the kill; want 0", n)
		}
		if all := rec.All(); len(all) != 0 {
			t.Fatalf("dead letters = %v; want none (the queued tick's timer died with the actor)", all)
		}
	})
}

// A periodic timer whose queued tick was evicted from a full mailbox
// (DropOldest) goes on ticking: the eviction is reported as a dead letter,
// and the next period queues a tick again.
func TestEveryTickEvictedKeepsTicking(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rec := &recorder{}
		rt := newRuntime(t, troupe.WithDeadLetterHook(rec.Hook))
		clk := &Clock{}
		ref, _ := actor.Spawn(rt, clk, actor.WithMailbox(1, actor.DropOldest))
		gate := make(chan struct{})
		hold := actor.NewMethod("hold", func(*Clock, *actor.Ctx, int) (struct{}, error) { <-gate; return struct{}{}, nil })
		if _, err := Arm.Call(context.Background(), ref, armReq{key: "e", d: time.Second, label: "e", every: true}); err != nil {
			t.Fatal(err)
		}
		_ = hold.Cast(ref, 0) // busy while the tick fires and queues
		time.Sleep(1500 * time.Millisecond)
		synctest.Wait()
		_ = Tick.Cast(ref, "x") // evicts the queued tick
		synctest.Wait()
		if n := rec.Count(troupe.ReasonDropped, "tick"); n != 1 {
			t.Fatalf("%d dropped ticks reported; want 1 (%v)", n, rec.All())
		}
		close(gate)
		time.Sleep(5 * time.Second)
		synctest.Wait()
		n := 0
		for _, s := range clk.got() {
			if s == "e" {
				n++
			}
		}
		if n != 5 {
			t.Fatalf("ticks = %v; want x, then an e every period (5)", clk.got())
		}
		ref.Kill()
	})
}

// Killing actors whose Every timers are firing reports no dead letter: a
// tick caught by the stop — queued, or being queued as the stop closes the
// mailbox — died with its timer.
func TestKillWhileTickingQuiet(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rec := &recorder{}
		rt := newRuntime(t, troupe.WithDeadLetterHook(rec.Hook))
		var refs []*actor.Ref[*Clock]
		for range 400 {
			ref, _ := actor.Spawn(rt, &Clock{})
			if _, err := Arm.Call(context.Background(), ref, armReq{key: "e", d: time.Millisecond, label: "e", every: true}); err != nil {
				t.Fatal(err)
			}
			refs = append(refs, ref)
		}
		for len(refs) > 0 {
			time.Sleep(time.Millisecond) // wakes with the wheel's next tick: kills race the ticks
			n := min(len(refs), 20)
			for _, ref := range refs[:n] {
				ref.Kill()
			}
			refs = refs[n:]
		}
		if all := rec.All(); len(all) != 0 {
			t.Fatalf("%d dead letters, first %v; want none (the ticks died with their timers)", len(all), all[0])
		}
	})
}

// An After whose one tick never ran (refused by the full mailbox, or
// evicted from it) is over, as one whose tick ran is: reported as a dead
// letter, it leaves no timer under its key (CancelTimer finds none), and
// per-request keys do not pile up in the actor.
func TestAfterTickLostIsOver(t *testing.T) {
	for _, policy := range []mailbox.Policy{actor.Block, actor.DropOldest} {
		t.Run(policy.String(), func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				rec := &recorder{}
				rt := newRuntime(t, troupe.WithDeadLetterHook(rec.Hook))
				ref, _ := actor.Spawn(rt, &Clock{}, actor.WithMailbox(1, policy))
				ctx := context.Background()
				if _, err := Arm.Call(ctx, ref, armReq{key: "k", d: time.Second, label: "a"}); err != nil {
					t.Fatal(err)
				}
				gate := make(chan struct{})
				hold := actor.NewMethod("hold", func(*Clock, *actor.Ctx, int) (struct{}, error) { <-gate; return struct{}{}, nil })
				_ = hold.Cast(ref, 0) // busy while the tick fires
				synctest.Wait()
				if policy == actor.Block {
					_ = Tick.Cast(ref, "x") // the mailbox is full: the tick is refused
				}
				time.Sleep(2 * time.Second)
				synctest.Wait()
				if policy == actor.DropOldest {
					_ = Tick.Cast(ref, "x") // evicts the queued tick
				}
				close(gate)
				synctest.Wait() // a refused tick is reported on the actor's turn, once hold returns (never on the wheel's goroutine)
				if n := len(rec.All()); n != 1 {
					t.Fatalf("dead letters %v; want the lost tick", rec.All())
				}
				if had, err := Cancel.Call(ctx, ref, "k"); err != nil || had {
					t.Fatalf("CancelTimer after the After's tick was lost = %v, %v; want false (no timer)", had, err)
				}
				ref.Kill()
			})
		})
	}
}
