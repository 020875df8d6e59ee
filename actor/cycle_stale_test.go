package actor_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"testing/synctest"

	"github.com/troupe-go/troupe/actor"
)

type peer struct {
	other *actor.Ref[*peer]
	gate  chan struct{}
	got   chan error
}

var (
	peerHold = actor.NewMethod("hold", func(p *peer, _ *actor.Ctx, _ int) (int, error) {
		<-p.gate
		return 0, nil
	})
	peerWork = actor.NewMethod("work", func(p *peer, _ *actor.Ctx, _ int) (int, error) { return 1, nil })
	// peerAsk calls the other's work and returns.
	peerAsk = actor.NewMethod("ask", func(p *peer, c *actor.Ctx, _ int) (int, error) {
		return peerWork.Call(c.Context(), p.other, 0)
	})
	// peerBack calls the other's work and reports its outcome.
	peerBack = actor.NewMethod("back", func(p *peer, c *actor.Ctx, _ int) (int, error) {
		_, err := peerWork.Call(c.Context(), p.other, 0)
		p.got <- err
		return 0, nil
	})
	setOther = actor.NewMethod("set other", func(p *peer, _ *actor.Ctx, o *actor.Ref[*peer]) (int, error) {
		p.other = o
		return 0, nil
	})
)

// A's handler calls B; B, once it has replied, calls A. A no longer waits
// for B (its call has its outcome), so B's call is no cycle: it must not
// fail with ErrCallCycle because A's goroutine has not yet woken to clear
// its wait-for mark.
func TestCallCycleNoStaleEdge(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for i := range 20 {
		bubble(t, func(t *testing.T) {
			runtime.GOMAXPROCS(2) // two loops: A runs while B holds one
			rt := newRuntime(t)
			a, _ := actor.Spawn(rt, &peer{})
			b, _ := actor.Spawn(rt, &peer{other: a, gate: make(chan struct{}), got: make(chan error, 1)})
			setOther.Call(context.Background(), a, b)
			bstate := make(chan *peer, 1)
			actor.NewMethod("peek", func(p *peer, _ *actor.Ctx, _ int) (int, error) { bstate <- p; return 0, nil }).Call(context.Background(), b, 0)
			bp := <-bstate
			peerHold.Cast(b, 0)
			synctest.Wait()
			done := make(chan error, 1)
			go func() { _, err := peerAsk.Call(context.Background(), a, 0); done <- err }()
			synctest.Wait() // A waits in its call to B, queued behind hold
			peerBack.Cast(b, 0)
			runtime.GOMAXPROCS(1) // B runs on after its reply, before A wakes
			close(bp.gate)
			if err := <-done; err != nil {
				t.Fatalf("round %d: A's call: %v", i, err)
			}
			if err := <-bp.got; errors.Is(err, actor.ErrCallCycle) {
				t.Fatalf("round %d: B's call to A after replying: %v; want no cycle", i, err)
			} else if err != nil {
				t.Fatalf("round %d: B's call: %v", i, err)
			}
		})
	}
}
