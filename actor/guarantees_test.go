package actor_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

// Guarantee 4: a handler's c.Context() is cancelled when the handler
// returns, whatever the message: a call with no deadline of its own (the
// default's), a call with a cancellable ctx, a oneway.
func TestHandlerContextEndsWithTurn(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		acct := spawnAccount(t, rt)
		kept := make(chan context.Context, 1)
		keep := actor.NewMethod("keep", func(_ *Account, c *actor.Ctx, _ int) (int, error) {
			kept <- c.Context()
			return 0, nil
		})
		parent, cancel := context.WithCancel(context.Background())
		defer cancel()
		for _, tc := range []struct {
			name string
			send func() error
		}{
			{"call, default deadline", func() error { _, err := keep.Call(context.Background(), acct, 0); return err }},
			{"call, cancellable ctx", func() error { _, err := keep.Call(parent, acct, 0); return err }},
			{"cast", func() error { return keep.Cast(acct, 0) }},
		} {
			if err := tc.send(); err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			synctest.Wait() // the turn is over
			if ctx := <-kept; ctx.Err() == nil {
				t.Errorf("%s: handler's Context live after the handler returned; want cancelled", tc.name)
			}
		}
	})
}

// Guarantee 3 for pool calls: a call made with a ctx that has no deadline
// gets the runtime's default, under every routing, even when the worker's
// handler ignores its Context.
func TestPoolCallDefaultDeadline(t *testing.T) {
	stuck := actor.NewMethod("pw.stuck", func(w *pw, _ *actor.Ctx, _ int) (int, error) {
		<-w.gate // ignores its Context on purpose
		return w.id, nil
	})
	for _, tc := range []struct {
		name string
		opt  actor.PoolOption
	}{
		{"round robin", actor.RoundRobin()},
		{"least busy", actor.LeastBusy()},
		{"balancing", actor.Balancing()},
		{"first", actor.First(100 * time.Millisecond)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				rt := newRuntime(t, troupe.WithCallTimeout(3*time.Second))
				gate := make(chan struct{})
				defer close(gate)
				p := newPool(t, rt, 2, gate, tc.opt)
				for _, op := range []struct {
					name string
					call func() error
				}{
					{"CallPool", func() error { _, err := actor.CallPool(context.Background(), stuck, p, 0); return err }},
					{"AskPool", func() error {
						_, err := actor.AskPool(context.Background(), stuck, p, 0).Await(context.Background())
						return err
					}},
					{"BroadcastPool", func() error { _, err := actor.BroadcastPool(context.Background(), stuck, p, 0); return err }},
				} {
					start := time.Now()
					err := op.call()
					if !errors.Is(err, actor.ErrTimeout) {
						t.Errorf("%s: got %v; want ErrTimeout", op.name, err)
					}
					if took := time.Since(start); took < 3*time.Second || took > 3*time.Second+10*time.Millisecond {
						t.Errorf("%s: settled after %v; want the default 3s", op.name, took)
					}
				}
			})
		})
	}
}

// Guarantee 7's proviso: a cycle A→B→A closed by a call made with
// context.Background() (not c.Context()) is not detected, but it does not
// hang: that call gets the runtime's default deadline, and its timeout
// unwinds the chain. The outer caller's own deadline is far off, so the
// cycle can only end by the Background call's.
func TestCycleWithoutHandlerContextEndsAtDeadline(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t, troupe.WithCallTimeout(2*time.Second))
		type node struct{ peer *actor.Ref[*node] }
		ping := actor.NewMethod("ping", func(*node, *actor.Ctx, int) (int, error) { return 1, nil })
		inner := make(chan error, 1)
		back := actor.NewMethod("back", func(n *node, _ *actor.Ctx, _ int) (int, error) {
			_, err := ping.Call(context.Background(), n.peer, 0) // the cycle, undetectable
			inner <- err
			return 0, err
		})
		fwd := actor.NewMethod("fwd", func(n *node, c *actor.Ctx, _ int) (int, error) {
			return back.Call(c.Context(), n.peer, 0)
		})
		a, err := actor.Spawn(rt, &node{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := actor.Spawn(rt, &node{peer: a})
		if err != nil {
			t.Fatal(err)
		}
		setPeer := actor.NewMethod("set", func(n *node, _ *actor.Ctx, p *actor.Ref[*node]) (int, error) { n.peer = p; return 0, nil })
		if _, err := setPeer.Call(context.Background(), a, b); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		start := time.Now()
		_, err = fwd.Call(ctx, a, 0)
		if !errors.Is(err, actor.ErrTimeout) || errors.Is(err, actor.ErrCallCycle) {
			t.Errorf("A→B→A closed with Background: got %v; want B's ErrTimeout", err)
		}
		if took := time.Since(start); took < 2*time.Second || took > 2*time.Second+10*time.Millisecond {
			t.Errorf("the cycle ended after %v; want the default 2s", took)
		}
		if err := <-inner; !errors.Is(err, actor.ErrTimeout) {
			t.Errorf("B's call back to A: got %v; want ErrTimeout", err)
		}
		// A is free again.
		if v, err := ping.Call(context.Background(), a, 0); v != 1 || err != nil {
			t.Errorf("ping after the cycle: %d, %v; want 1, nil", v, err)
		}
	})
}

// Guarantee 3: a caller that cancels gets an error wrapping its ctx's
// cause (context.Canceled unless another cause was given), whether the
// call was still queued or running, for a Call, an Ask, a deferred reply
// and a pool call.
func TestCallCancelledWithCause(t *testing.T) {
	errCause := errors.New("client went away")
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		acct := spawnAccount(t, rt)
		gate := make(chan struct{})
		p := newPool(t, rt, 1, gate)
		desk, d := newDesk(t, rt)
		for _, tc := range []struct {
			name string
			call func(ctx context.Context) error
		}{
			{"Call running", func(ctx context.Context) error { _, err := Sleep.Call(ctx, acct, time.Hour); return err }},
			{"Call queued", func(ctx context.Context) error {
				go Sleep.Call(context.Background(), acct, 2*time.Second) // busy until then
				synctest.Wait()
				_, err := Deposit.Call(ctx, acct, 1)
				return err
			}},
			{"Ask", func(ctx context.Context) error {
				_, err := Sleep.Ask(ctx, acct, time.Hour).Await(context.Background())
				return err
			}},
			{"deferred reply pending", func(ctx context.Context) error { _, err := deskHold.Call(ctx, desk, 0); return err }},
			{"CallPool", func(ctx context.Context) error { _, err := actor.CallPool(ctx, pwHold, p, 0); return err }},
			{"AskPool", func(ctx context.Context) error {
				_, err := actor.AskPool(ctx, pwHold, p, 0).Await(context.Background())
				return err
			}},
		} {
			ctx, cancel := context.WithCancelCause(context.Background())
			time.AfterFunc(time.Second, func() { cancel(errCause) })
			if err := tc.call(ctx); !errors.Is(err, errCause) || errors.Is(err, actor.ErrTimeout) {
				t.Errorf("%s: got %v; want an error wrapping the ctx's cause", tc.name, err)
			}
			time.Sleep(2 * time.Second) // the actor is free again
		}
		close(gate)
		if r := <-d.out; !errors.Is(context.Cause(r.Context()), errCause) {
			t.Errorf("deferred Reply's Context cause = %v; want the caller's", context.Cause(r.Context()))
		}
	})
}

// Guarantee 4 for pool calls: the worker's c.Context() is cancelled when
// the caller gives up, under every routing.
func TestPoolCallCancelReachesHandler(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  actor.PoolOption
	}{
		{"round robin", actor.RoundRobin()},
		{"least busy", actor.LeastBusy()},
		{"random", actor.Random()},
		{"hash", actor.Hash(func(int) string { return "k" })},
		{"balancing", actor.Balancing()},
		{"first", actor.First(100 * time.Millisecond)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				rt := newRuntime(t, troupe.WithCallTimeout(time.Hour))
				gate := make(chan struct{})
				defer close(gate)
				p := newPool(t, rt, 2, gate, tc.opt)
				ended := make(chan error, 8)
				wait := actor.NewMethod("pw.wait", func(w *pw, c *actor.Ctx, _ int) (int, error) {
					select {
					case <-w.gate:
					case <-c.Context().Done():
						ended <- context.Cause(c.Context())
					}
					return 0, nil
				})
				for _, op := range []struct {
					name string
					call func(ctx context.Context) error
				}{
					{"CallPool", func(ctx context.Context) error { _, err := actor.CallPool(ctx, wait, p, 0); return err }},
					{"AskPool", func(ctx context.Context) error {
						_, err := actor.AskPool(ctx, wait, p, 0).Await(context.Background())
						return err
					}},
				} {
					ctx, cancel := context.WithCancel(context.Background())
					time.AfterFunc(time.Second, cancel)
					if err := op.call(ctx); !errors.Is(err, context.Canceled) {
						t.Errorf("%s: got %v; want context.Canceled", op.name, err)
					}
					synctest.Wait()
					if len(ended) == 0 {
						t.Errorf("%s: the worker's Context was not cancelled when its caller gave up", op.name)
					}
					for len(ended) > 0 {
						<-ended
					}
				}
			})
		})
	}
}

// Guarantee 4 for pool calls: a call whose caller gave up before the
// worker started it never runs, under every routing, BroadcastPool's
// sub-calls included.
func TestPoolExpiredCallNeverRuns(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  actor.PoolOption
	}{
		{"round robin", actor.RoundRobin()},
		{"least busy", actor.LeastBusy()},
		{"hash", actor.Hash(func(int) string { return "k" })},
		{"balancing", actor.Balancing()},
		{"first", actor.First(0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				rt := newRuntime(t)
				gate := make(chan struct{})
				p := newPool(t, rt, 2, gate, tc.opt)
				var ran atomic.Int32
				count := actor.NewMethod("pw.count", func(*pw, *actor.Ctx, int) (int, error) { ran.Add(1); return 0, nil })
				// Every worker busy until the gate opens.
				go actor.BroadcastPool(context.Background(), pwHold, p, 0)
				synctest.Wait()
				for _, op := range []struct {
					name string
					call func(ctx context.Context) error
				}{
					{"CallPool", func(ctx context.Context) error { _, err := actor.CallPool(ctx, count, p, 0); return err }},
					{"AskPool", func(ctx context.Context) error {
						_, err := actor.AskPool(ctx, count, p, 0).Await(context.Background())
						return err
					}},
					{"BroadcastPool", func(ctx context.Context) error { _, err := actor.BroadcastPool(ctx, count, p, 0); return err }},
				} {
					ctx, cancel := context.WithTimeout(context.Background(), time.Second)
					if err := op.call(ctx); !errors.Is(err, actor.ErrTimeout) {
						t.Errorf("%s: got %v; want ErrTimeout", op.name, err)
					}
					cancel()
				}
				close(gate)
				synctest.Wait()
				if n := ran.Load(); n != 0 {
					t.Errorf("%d calls ran after their callers gave up; want none", n)
				}
			})
		})
	}
}
