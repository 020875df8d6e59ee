package actor_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

type session struct {
	idled []time.Duration
	start time.Time
	stop  bool
}

var (
	sessionIdle = actor.NewMethod("idle", func(s *session, c *actor.Ctx, _ struct{}) (struct{}, error) {
		s.idled = append(s.idled, time.Since(s.start))
		if s.stop {
			c.Stop()
		}
		return struct{}{}, nil
	})
	sessionTouch = actor.NewMethod("touch", func(s *session, _ *actor.Ctx, _ int) (int, error) { return len(s.idled), nil })
)

// WithIdleTimeout fires d after the last call, once per idle spell.
func TestIdleTimeout(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		s := &session{start: time.Now()}
		ref, err := actor.Spawn(rt, s, actor.WithIdleTimeout(time.Second, sessionIdle, struct{}{}))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		time.Sleep(500 * time.Millisecond)
		_, _ = sessionTouch.Call(ctx, ref, 0)
		time.Sleep(700 * time.Millisecond)
		_, _ = sessionTouch.Call(ctx, ref, 0) // at 1.2 s: the idle count restarts
		time.Sleep(10 * time.Second)          // one idle spell: one call
		_, _ = sessionTouch.Call(ctx, ref, 0) // at 11.2 s
		time.Sleep(5 * time.Second)
		if err := ref.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		want := []time.Duration{2200 * time.Millisecond, 12200 * time.Millisecond}
		if len(s.idled) != len(want) || s.idled[0] != want[0] || s.idled[1] != want[1] {
			t.Fatalf("idle calls at %v; want %v", s.idled, want)
		}
	})
}

var sessionMark = actor.NewMethod("mark", func(s *session, c *actor.Ctx, _ int) (int, error) {
	c.TouchIdle()
	return len(s.idled), nil
})

// With IdleOnTouch only Ctx.TouchIdle restarts the count: other calls do
// not keep the actor from going idle.
func TestIdleOnTouch(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		s := &session{start: time.Now()}
		ref, err := actor.Spawn(rt, s, actor.WithIdleTimeout(time.Second, sessionIdle, struct{}{}), actor.IdleOnTouch())
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		for range 4 { // calls at 0.3, 0.6, 0.9, 1.2 s: not the actor's activity
			time.Sleep(300 * time.Millisecond)
			_, _ = sessionTouch.Call(ctx, ref, 0)
		}
		time.Sleep(300 * time.Millisecond)
		_, _ = sessionMark.Call(ctx, ref, 0) // at 1.5 s: touched, the count restarts
		time.Sleep(5 * time.Second)
		if err := ref.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		want := []time.Duration{time.Second, 2500 * time.Millisecond}
		if len(s.idled) != len(want) || s.idled[0] != want[0] || s.idled[1] != want[1] {
			t.Fatalf("idle calls at %v; want %v", s.idled, want)
		}
	})
}

// A session that stops itself when idle: never messaged, it stops after d.
func TestIdleTimeoutStops(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		start := time.Now()
		ref, _ := actor.Spawn(rt, &session{start: start, stop: true}, actor.WithIdleTimeout(3*time.Second, sessionIdle, struct{}{}))
		<-ref.Done()
		if d := time.Since(start); d != 3*time.Second {
			t.Fatalf("idle session stopped after %v; want 3s", d)
		}
	})
}

func TestIdleTimeoutBadInput(t *testing.T) {
	rt := newRuntime(t)
	if _, err := actor.Spawn(rt, &session{}, actor.WithIdleTimeout(0, sessionIdle, struct{}{})); !errors.Is(err, actor.ErrInvalidOption) {
		t.Errorf("zero idle timeout = %v; want ErrInvalidOption", err)
	}
	if _, err := actor.Spawn(rt, &Account{}, actor.WithIdleTimeout(time.Second, sessionIdle, struct{}{})); !errors.Is(err, actor.ErrWrongActor) {
		t.Errorf("another actor's method = %v; want ErrWrongActor", err)
	}
	var nilMethod *actor.Method[*session, struct{}, struct{}]
	if _, err := actor.Spawn(rt, &session{}, actor.WithIdleTimeout(time.Second, nilMethod, struct{}{})); !errors.Is(err, actor.ErrInvalidOption) {
		t.Errorf("nil method = %v; want ErrInvalidOption", err)
	}
}

var sessionWork = actor.NewMethod("work", func(s *session, _ *actor.Ctx, d time.Duration) (int, error) {
	time.Sleep(d)
	return len(s.idled), nil
})

// An actor busy in a call longer than its idle timeout is not idle: the
// count restarts when the call ends, though the idle timer fired during
// it.
func TestIdleTimeoutNotDuringBusyTurn(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		s := &session{start: time.Now()}
		ref, err := actor.Spawn(rt, s, actor.WithIdleTimeout(time.Second, sessionIdle, struct{}{}))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		time.Sleep(500 * time.Millisecond)
		_, _ = sessionWork.Call(ctx, ref, 2*time.Second) // busy from 0.5 s to 2.5 s
		time.Sleep(5 * time.Second)
		if err := ref.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		want := []time.Duration{3500 * time.Millisecond}
		if len(s.idled) != len(want) || s.idled[0] != want[0] {
			t.Fatalf("idle calls at %v; want %v (1 s after the call ended)", s.idled, want)
		}
	})
}

// A turn that ends on the throughput budget still ran calls: they restart
// the idle count, though the next turn finds the mailbox empty.
func TestIdleTimeoutBudgetTurn(t *testing.T) {
	bubbleRuntime(t, func(t *testing.T, rt *troupe.Runtime) {
		s := &session{start: time.Now()}
		ref, err := actor.Spawn(rt, s, actor.WithIdleTimeout(time.Second, sessionIdle, struct{}{}))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		time.Sleep(900 * time.Millisecond)
		_, _ = sessionTouch.Call(ctx, ref, 0) // at 0.9 s: the count restarts
		time.Sleep(5 * time.Second)
		if err := ref.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		want := []time.Duration{1900 * time.Millisecond}
		if len(s.idled) != len(want) || s.idled[0] != want[0] {
			t.Fatalf("idle calls at %v; want %v (a call at 0.9 s)", s.idled, want)
		}
	}, troupe.WithThroughput(1))
}

var sessionPanic = actor.NewMethod("panic", func(s *session, _ *actor.Ctx, _ int) (int, error) { panic("boom") })

// A call that panicked ran too: it restarts the idle count (the actor
// resumes).
func TestIdleTimeoutAfterPanic(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		s := &session{start: time.Now()}
		ref, err := actor.Spawn(rt, s, actor.WithIdleTimeout(time.Second, sessionIdle, struct{}{}))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		time.Sleep(900 * time.Millisecond)
		_, _ = sessionPanic.Call(ctx, ref, 0) // at 0.9 s: the count restarts
		time.Sleep(5 * time.Second)
		if err := ref.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		want := []time.Duration{1900 * time.Millisecond}
		if len(s.idled) != len(want) || s.idled[0] != want[0] {
			t.Fatalf("idle calls at %v; want %v (a call at 0.9 s)", s.idled, want)
		}
	})
}
