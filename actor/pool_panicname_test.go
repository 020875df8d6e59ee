package actor_test

import (
	"context"
	"errors"
	"testing"

	"github.com/troupe-go/troupe/actor"
)

// TestPoolPanicNamesMethod: the *PanicError of a call through a pool
// names the method whose handler panicked (PanicError.Method's doc), with
// every strategy. With Balancing it named the worker's pull token,
// "balancing", which runs the call.
func TestPoolPanicNamesMethod(t *testing.T) {
	for _, s := range strategies() {
		t.Run(s.name, func(t *testing.T) {
			rt := newRuntime(t)
			p := newPool(t, rt, 2, nil, s.opt)
			_, err := actor.CallPool(context.Background(), pwBoom, p, 0)
			var pe *actor.PanicError
			if !errors.As(err, &pe) || pe.Method != pwBoom.Name() {
				t.Errorf("got %v; want a *PanicError of %s", err, pwBoom.Name())
			}
			if err := p.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	}
}
