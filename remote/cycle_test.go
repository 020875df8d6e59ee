package remote_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/remote"
)

// Relay forwards a hop count to the next actor through next.
type Relay struct {
	next func(ctx context.Context, hops int) (int, error)
}

var Hop = actor.NewMethod("hop", func(r *Relay, c *actor.Ctx, hops int) (int, error) {
	if hops == 0 {
		return 0, nil
	}
	n, err := r.next(c.Context(), hops-1)
	return n + 1, err
})

// relay spawns a Relay on n, exported as name, forwarding with next.
func relay(t *testing.T, n *remote.Node, name string, next func(ctx context.Context, hops int) (int, error)) *actor.Ref[*Relay] {
	t.Helper()
	ref, err := actor.Spawn(n.Runtime(), &Relay{next: next})
	if err != nil {
		t.Fatal(err)
	}
	if name != "" {
		if err := remote.Export(n, name, ref, remote.Serve(Hop)); err != nil {
			t.Fatal(err)
		}
	}
	return ref
}

// TestCallCycleAcrossNodes: a chain of calls that comes back to an actor
// waiting in it fails at once with ErrCallCycle (also actor.ErrCallCycle),
// instead of deadlocking until the deadline; a chain without a cycle
// passes.
func TestCallCycleAcrossNodes(t *testing.T) {
	s := startServer(t)
	n1 := startNode(t, s.ClientURL(), remote.WithName("n1"))
	n2 := startNode(t, s.ClientURL(), remote.WithName("n2"))
	cli := startNode(t, s.ClientURL(), remote.WithName("cli"))
	toA := remote.Bind(n2, "a", Hop)
	relay(t, n1, "a", remote.Bind(n1, "b", Hop).Call)
	relay(t, n2, "b", toA.Call)
	// self: an actor calling its own name.
	relay(t, n1, "self", remote.Bind(n1, "self", Hop).Call)
	// c on n2 calls b's neighbour locally: a (n1) → d (n2, remote) → e (n2, local) → a (remote).
	e := relay(t, n2, "", toA.Call)
	relay(t, n2, "d", func(ctx context.Context, hops int) (int, error) { return Hop.Call(ctx, e, hops) })
	relay(t, n1, "a2", remote.Bind(n1, "d", Hop).Call)

	tests := []struct {
		name  string
		to    string
		hops  int
		cycle bool
	}{
		{"a→b", "a", 1, false},
		{"a→b→a", "a", 2, true},
		{"b→a→b", "b", 2, true},
		{"self→self", "self", 1, true},
		{"a2→d→e→a", "a2", 3, false}, // reaches a, not a2: no cycle
		{"a→b→a→b", "a", 3, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := ctxTimeout(t, 10*time.Second)
			start := time.Now()
			_, err := remote.Bind(cli, tt.to, Hop).Call(ctx, tt.hops)
			if !tt.cycle {
				if err != nil {
					t.Fatalf("got %v; want nil", err)
				}
				return
			}
			if !errors.Is(err, remote.ErrCallCycle) || !errors.Is(err, actor.ErrCallCycle) {
				t.Fatalf("got %v (after %v); want ErrCallCycle and actor.ErrCallCycle", err, time.Since(start))
			}
		})
	}
}

// TestCallCycleThroughLocal: a remote chain that passes through a local call
// on the way back is still caught: a (n1) → d (n2) → e (n2, local call) →
// a (n1).
func TestCallCycleThroughLocal(t *testing.T) {
	s := startServer(t)
	n1 := startNode(t, s.ClientURL(), remote.WithName("n1"))
	n2 := startNode(t, s.ClientURL(), remote.WithName("n2"))
	toA := remote.Bind(n2, "a", Hop)
	e := relay(t, n2, "", toA.Call)
	relay(t, n2, "d", func(ctx context.Context, hops int) (int, error) { return Hop.Call(ctx, e, hops) })
	relay(t, n1, "a", remote.Bind(n1, "d", Hop).Call)
	_, err := remote.Bind(n2, "a", Hop).Call(ctxTimeout(t, 10*time.Second), 3)
	if !errors.Is(err, actor.ErrCallCycle) {
		t.Fatalf("got %v; want ErrCallCycle", err)
	}
}

// TestCallCycleStartingLocally: the first actor of the cycle is called
// locally, not over the wire: a (n1, called in process) → b (n2) → a (n1)
// fails at once with ErrCallCycle, not at the deadline.
func TestCallCycleStartingLocally(t *testing.T) {
	s := startServer(t)
	n1 := startNode(t, s.ClientURL(), remote.WithName("n1"))
	n2 := startNode(t, s.ClientURL(), remote.WithName("n2"))
	a := relay(t, n1, "a", remote.Bind(n1, "b", Hop).Call)
	relay(t, n2, "b", remote.Bind(n2, "a", Hop).Call)
	plain := relay(t, n1, "", remote.Bind(n1, "b", Hop).Call) // not exported: b's call to a is no cycle
	ctx := ctxTimeout(t, 10*time.Second)
	if _, err := Hop.Call(ctx, a, 2); !errors.Is(err, remote.ErrCallCycle) || !errors.Is(err, actor.ErrCallCycle) {
		t.Fatalf("a (local) → b → a: got %v; want ErrCallCycle", err)
	}
	if n, err := Hop.Call(ctx, plain, 2); err != nil || n != 2 {
		t.Fatalf("plain (local) → b → a: got %d, %v; want 2, nil", n, err)
	}
	if id, ok := actor.CallerID(ctx); ok || id != 0 {
		t.Fatalf("CallerID of a test's ctx: got %d, %v; want 0, false", id, ok)
	}
}

// TestChainIDsForgotten: an actor's chain id is forgotten with its last
// export — withdrawn by Unexport, by its actor's end, or an Export that
// failed —, so a node exporting short-lived actors one after another (a
// session actor per user) keeps none of the gone ones: the map of chain
// ids, copied whenever an actor gets one, stays as large as the actors
// exported now.
func TestChainIDsForgotten(t *testing.T) {
	s := startServer(t)
	gapErr := errors.New("gap")
	var failing atomic.Bool
	n := startNode(t, s.ClientURL(), remote.WithExportGap(func(*remote.Node, string) error {
		if failing.Load() {
			return gapErr
		}
		return nil
	}))
	kept := spawn(t, n)
	if err := remote.Export(n, "kept", kept, remote.Serve(Deposit)); err != nil {
		t.Fatal(err)
	}
	if err := remote.Export(n, "kept2", kept, remote.Serve(Deposit)); err != nil { // one actor, two exports: one id
		t.Fatal(err)
	}
	for i := range 30 {
		ref := spawn(t, n)
		name := fmt.Sprintf("s%d", i)
		if err := remote.Export(n, name, ref, remote.Serve(Deposit)); err != nil {
			t.Fatal(err)
		}
		switch i % 3 {
		case 0:
			if !n.Unexport(name) {
				t.Fatal("Unexport: false")
			}
		case 1:
			ref.Kill()
			deadline := time.Now().Add(10 * time.Second)
			for slices.Contains(n.Exports(), name) && time.Now().Before(deadline) {
				time.Sleep(time.Millisecond)
			}
		case 2:
			failing.Store(true)
			if err := remote.Export(n, name+"b", spawn(t, n), remote.Serve(Deposit)); !errors.Is(err, gapErr) {
				t.Fatalf("Export with a failing gap: %v; want its error", err)
			}
			failing.Store(false)
			n.Unexport(name)
		}
	}
	if got := n.ChainIDs(); got != 1 {
		t.Fatalf("%d actors have a chain id; want 1 (the one still exported)", got)
	}
	if !n.Unexport("kept") {
		t.Fatal("Unexport kept: false")
	}
	if got := n.ChainIDs(); got != 1 {
		t.Fatalf("%d actors have a chain id after one of two exports of an actor was withdrawn; want 1", got)
	}
}

// TestCallCycleTwinNodes: two nodes started with the same name
// (WithName) give their actors distinct chain ids: a call from one's
// actor to the other's, which is no cycle, is not refused as one.
func TestCallCycleTwinNodes(t *testing.T) {
	s := startServer(t)
	n1 := startNode(t, s.ClientURL(), remote.WithName("twin"))
	n2 := startNode(t, s.ClientURL(), remote.WithName("twin"))
	relay(t, n2, "b", func(context.Context, int) (int, error) { return 0, nil })
	relay(t, n1, "a", remote.Bind(n1, "b", Hop).Call)
	ctx := ctxTimeout(t, 10*time.Second)
	if got, err := remote.Bind(n1, "a", Hop).Call(ctx, 2); err != nil || got != 2 {
		t.Fatalf("a (on one twin) → b (on the other) = %d, %v; want 2, nil", got, err)
	}
}
