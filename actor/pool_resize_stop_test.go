package actor_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/troupe-go/troupe/actor"
)

// tallied is a worker that counts its stops.
type tallied struct{ stops *atomic.Int32 }

func (s *tallied) Stopping(*actor.Ctx) { s.stops.Add(1) }

// A Resize that grows the pool while it stops (or is killed) makes a
// worker the stop never saw: it is stopped once made, and the pool's
// Done (and so Stop) waits for it, as for a replacement being made.
// Before, Done closed as soon as the workers the stop found had stopped,
// with the Resize's worker still being made, to run (and stop) after it.
func TestPoolResizeRacesStop(t *testing.T) {
	for _, kill := range []bool{false, true} {
		name := "stop"
		if kill {
			name = "kill"
		}
		t.Run(name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				rt := newRuntime(t)
				var made, stops atomic.Int32
				entered, release := make(chan struct{}), make(chan struct{})
				p, err := actor.NewPool(rt, 1, func() *tallied {
					if made.Add(1) == 2 { // the Resize's worker
						close(entered)
						<-release
					}
					return &tallied{stops: &stops}
				})
				if err != nil {
					t.Fatal(err)
				}
				resized := make(chan error, 1)
				go func() { resized <- p.Resize(2) }()
				<-entered
				stopped := make(chan error, 1)
				go func() {
					if kill {
						p.Kill()
						<-p.Done()
						stopped <- nil
						return
					}
					stopped <- p.Stop(context.Background())
				}()
				synctest.Wait()
				select {
				case <-p.Done():
					t.Error("the pool's Done closed while a Resize was still making a worker")
				default:
				}
				close(release)
				if err := <-stopped; err != nil {
					t.Errorf("Stop = %v; want nil", err)
				}
				if got, want := stops.Load(), made.Load(); got != want {
					t.Errorf("%d workers stopped by the end of the pool's stop; want %d (every one made)", got, want)
				}
				if err := <-resized; err == nil {
					t.Error("Resize = nil; want an error (the pool stopped)")
				}
			})
		})
	}
}
