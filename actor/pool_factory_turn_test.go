package actor_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/troupe-go/troupe/actor"
)

// TestPoolReplacementNotOnStopper: a worker stopped from outside through
// its Ref (a Kill, or a Stop bounded by its ctx) while idle is replaced on
// the worker's own turn, not on the stopper's goroutine: the factory is
// user code that may take its time, and Kill never waits, nor does Stop
// past its ctx. Before, the idle worker finalized on the caller's
// goroutine, and the pool's replacement ran the factory there: Kill, and
// Stop whatever its ctx, blocked until the factory returned.
func TestPoolReplacementNotOnStopper(t *testing.T) {
	for _, kill := range []bool{true, false} {
		name := "stop"
		if kill {
			name = "kill"
		}
		t.Run(name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				rt := newRuntime(t)
				var made atomic.Int32
				entered := make(chan struct{})
				release := make(chan struct{})
				p, err := actor.NewPool(rt, 1, func() *pw {
					if made.Add(1) == 2 { // the replacement
						close(entered)
						<-release
					}
					return &pw{}
				})
				if err != nil {
					t.Fatal(err)
				}
				ref, err := actor.CallPool(context.Background(), pwSelf, p, "")
				if err != nil {
					t.Fatal(err)
				}
				synctest.Wait() // the worker is idle
				returned := make(chan error, 1)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				go func() {
					if kill {
						ref.Kill()
						returned <- nil
						return
					}
					returned <- ref.Stop(ctx)
				}()
				<-entered
				// A Stop waits for the worker's Done, which closes once
				// its replacement is made, but only until its ctx ends.
				cancel()
				synctest.Wait()
				waited := false
				select {
				case <-returned:
				default:
					waited = true
					t.Errorf("the worker's %s waited for the factory of its replacement", name)
				}
				close(release)
				if waited {
					<-returned
				}
				synctest.Wait() // the replacement has joined
				if _, err := actor.CallPool(context.Background(), pwID, p, 0); err != nil {
					t.Errorf("call after the replacement: %v", err)
				}
				if err := p.Stop(context.Background()); err != nil {
					t.Errorf("pool Stop: %v", err)
				}
			})
		})
	}
}
