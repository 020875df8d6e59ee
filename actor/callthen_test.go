package actor_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/engine"
)

// outcome is one call of a CallThen's then.
type outcome struct {
	v   int
	err error
}

// thenOnce returns a then for CallThen and the channel its calls go to,
// roomy enough that a second call would be seen (see once).
func thenOnce() (func(int, error), chan outcome) {
	ch := make(chan outcome, 2)
	return func(v int, err error) { ch <- outcome{v, err} }, ch
}

// once waits for then's call and checks that no second one follows.
func once(t *testing.T, ch chan outcome) outcome {
	t.Helper()
	var o outcome
	select {
	case o = <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal("then was not called")
	}
	// A second call would come from a second settle, on the same
	// goroutine as the first or racing it: the tests' next step settles
	// another call, so one that came late is caught by the next once.
	select {
	case o2 := <-ch:
		t.Fatalf("then called twice: %+v, then %+v", o, o2)
	default:
	}
	return o
}

// TestCallThen: then gets the outcome a Call would, exactly once: the
// reply, the handler's error, its panic as a *PanicError, a deferred
// Reply's value sent from another goroutine. A call that cannot be queued
// (a stopped actor, a nil ref or ctx, a full Reject mailbox) is refused by
// CallThen's return, and then is never called.
func TestCallThen(t *testing.T) {
	rt := newRuntime(t)
	ref := spawnAccount(t, rt)
	ctx := context.Background()
	then, ch := thenOnce()
	queued := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("CallThen: %v; want queued", err)
		}
	}

	queued(Deposit.CallThen(engine.Seal{}, ctx, ref, 5, then))
	if o := once(t, ch); o.v != 5 || o.err != nil {
		t.Errorf("reply: got %+v; want 5, nil", o)
	}
	queued(Deposit.CallThen(engine.Seal{}, ctx, ref, -1, then))
	if o := once(t, ch); !errors.Is(o.err, errNegative) {
		t.Errorf("handler's error: got %+v; want errNegative", o)
	}
	queued(Boom.CallThen(engine.Seal{}, ctx, ref, "kaboom", then))
	var pe *actor.PanicError
	if o := once(t, ch); !errors.As(o.err, &pe) || pe.Value != "kaboom" {
		t.Errorf("panic: got %+v; want a *PanicError of kaboom", o)
	}
	later := actor.NewDeferred("later", func(_ *Account, _ *actor.Ctx, n int, r *actor.Reply[int]) {
		go func() { _ = r.Send(n*2, nil) }()
	})
	queued(later.CallThen(engine.Seal{}, ctx, ref, 21, then))
	if o := once(t, ch); o.v != 42 || o.err != nil {
		t.Errorf("deferred reply: got %+v; want 42, nil", o)
	}

	refused := func(what string, err, want error) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Errorf("%s: CallThen returned %v; want %v", what, err, want)
		}
		select {
		case o := <-ch:
			t.Errorf("%s: then called with %+v; want not called", what, o)
		default:
		}
	}
	refused("nil ref", Deposit.CallThen(engine.Seal{}, ctx, nil, 1, then), actor.ErrNilRef)
	refused("nil ctx", Deposit.CallThen(engine.Seal{}, nil, ref, 1, then), actor.ErrNilContext)

	full := spawnAccount(t, rt, actor.WithMailbox(1, actor.Reject))
	gate := make(chan struct{})
	if err := wait.Cast(full, gate); err != nil {
		t.Fatal(err)
	}
	waitEntered(t)
	queued(Deposit.CallThen(engine.Seal{}, ctx, full, 1, then)) // fills the mailbox
	refused("full mailbox", Deposit.CallThen(engine.Seal{}, ctx, full, 1, then), actor.ErrMailboxFull)
	close(gate)
	if o := once(t, ch); o.v != 1 || o.err != nil {
		t.Errorf("the queued one: got %+v; want 1, nil", o)
	}

	if err := ref.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	refused("stopped actor", Deposit.CallThen(engine.Seal{}, ctx, ref, 1, then), actor.ErrStopped)
}

// wait is a oneway that blocks its actor until its channel is closed, and
// says so on entered.
var (
	entered = make(chan struct{}, 1)
	wait    = actor.NewMethod("wait", func(_ *Account, _ *actor.Ctx, g chan struct{}) (struct{}, error) {
		entered <- struct{}{}
		<-g
		return struct{}{}, nil
	})
)

// waitEntered waits until a wait handler has begun.
func waitEntered(t *testing.T) {
	t.Helper()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the wait handler never began")
	}
}

// TestCallThenUnwatched: a CallThen whose ctx ends while it is queued is
// not settled then (nothing watches ctx); when the actor reaches it, it
// does not run, and then gets ctx's error.
func TestCallThenUnwatched(t *testing.T) {
	rt := newRuntime(t)
	ref := spawnAccount(t, rt)
	gate := make(chan struct{})
	f := wait.Ask(context.Background(), ref, gate)
	waitEntered(t)
	ctx, cancel := context.WithCancel(context.Background())
	then, ch := thenOnce()
	if err := Deposit.CallThen(engine.Seal{}, ctx, ref, 7, then); err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case o := <-ch:
		t.Fatalf("settled while queued behind a stuck handler: %+v; want pending", o)
	case <-time.After(20 * time.Millisecond):
	}
	close(gate)
	if _, err := f.Await(context.Background()); err != nil {
		t.Fatal(err)
	}
	if o := once(t, ch); !errors.Is(o.err, context.Canceled) {
		t.Errorf("cancelled while queued: got %+v; want context.Canceled", o)
	}
	if bal, err := Balance.Call(context.Background(), ref, struct{}{}); err != nil || bal != 0 {
		t.Errorf("balance: got %d, %v; want 0 (the cancelled deposit never ran)", bal, err)
	}
}

// TestUnbounded: true only for a mailbox without a capacity, and for no
// invalid ref.
func TestUnbounded(t *testing.T) {
	rt := newRuntime(t)
	for _, tc := range []struct {
		name string
		opts []actor.Option
		want bool
	}{
		{"unbounded", nil, true},
		{"bounded, Block", []actor.Option{actor.WithMailbox(4, actor.Block)}, false},
		{"bounded, Reject", []actor.Option{actor.WithMailbox(4, actor.Reject)}, false},
		{"bounded, DropOldest", []actor.Option{actor.WithMailbox(4, actor.DropOldest)}, false},
	} {
		if got := spawnAccount(t, rt, tc.opts...).Unbounded(engine.Seal{}); got != tc.want {
			t.Errorf("%s: got %v; want %v", tc.name, got, tc.want)
		}
	}
	if (*actor.Ref[*Account])(nil).Unbounded(engine.Seal{}) {
		t.Error("nil ref: got true")
	}
}
