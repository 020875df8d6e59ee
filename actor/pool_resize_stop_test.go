package actor_test

import (
	"context"
	"errors"
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

// A pool whose last worker stops by itself, and whose replacement cannot
// be made (the factory fails), has not lost its last worker while a
// Resize is making one: it keeps running, with the Resize's worker. Before,
// the failed replacement killed the pool (counting neither the worker
// being made by the Resize), which then refused the Resize's worker:
// Resize returned ErrPoolStopped.
func TestPoolResizeRacesLastWorkerLost(t *testing.T) {
	for _, tt := range []struct {
		name string
		opt  actor.PoolOption
	}{{"round robin", actor.RoundRobin()}, {"balancing", actor.Balancing()}} {
		opt := tt.opt
		t.Run(tt.name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				rt := newRuntime(t)
				var made atomic.Int32
				entered, release := make(chan struct{}), make(chan struct{})
				p, err := actor.NewPool(rt, 1, func() *pw {
					switch made.Add(1) {
					case 2: // the Resize's worker
						close(entered)
						<-release
					case 3: // the replacement of the worker that quits
						return nil
					}
					return &pw{}
				}, opt)
				if err != nil {
					t.Fatal(err)
				}
				resized := make(chan error, 1)
				go func() { resized <- p.Resize(2) }()
				<-entered
				if _, err := actor.CallPool(context.Background(), pwQuit, p, 0); err != nil {
					t.Fatal(err)
				}
				synctest.Wait() // the worker has stopped, its replacement failed
				close(release)
				if err := <-resized; err != nil {
					t.Errorf("Resize = %v; want nil (it made a worker)", err)
				}
				if p.Stopped() {
					t.Error("the pool stopped with a Resize making a worker")
				}
				if _, err := actor.CallPool(context.Background(), pwID, p, 0); err != nil {
					t.Errorf("a call after the Resize: %v", err)
				}
				if err := p.Stop(context.Background()); err != nil {
					t.Errorf("Stop: %v", err)
				}
			})
		})
	}
}

// And if the Resize's worker cannot be made either, the pool has lost its
// last worker: it stops (as when a replacement fails with no Resize under
// way), and Done closes.
func TestPoolResizeFailsAfterLastWorkerLost(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		var made atomic.Int32
		entered, release := make(chan struct{}), make(chan struct{})
		p, err := actor.NewPool(rt, 1, func() *pw {
			switch made.Add(1) {
			case 1:
				return &pw{}
			case 2: // the Resize's worker
				close(entered)
				<-release
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		resized := make(chan error, 1)
		go func() { resized <- p.Resize(2) }()
		<-entered
		if _, err := actor.CallPool(context.Background(), pwQuit, p, 0); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		close(release)
		if err := <-resized; !errors.Is(err, actor.ErrFactory) {
			t.Errorf("Resize = %v; want ErrFactory", err)
		}
		if !p.Stopped() {
			t.Error("the pool runs with no worker, none being made")
		}
		select {
		case <-p.Done():
		default:
			t.Error("Done not closed")
		}
		if _, err := actor.CallPool(context.Background(), pwID, p, 0); !errors.Is(err, actor.ErrPoolStopped) {
			t.Errorf("a call: got %v; want ErrPoolStopped", err)
		}
	})
}
