package actor_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/actor"
)

// ctxHook's Stopping hook records whether its Context was already done
// when it began, then waits for it to end (or an hour).
type ctxHook struct {
	atStart chan error // Context().Err() as the hook began
	ended   chan error // Context().Err() as it returned
}

func newCtxHook() *ctxHook {
	return &ctxHook{atStart: make(chan error, 1), ended: make(chan error, 1)}
}

func (h *ctxHook) Stopping(c *actor.Ctx) {
	ctx := c.Context()
	h.atStart <- ctx.Err()
	select {
	case <-ctx.Done():
	case <-time.After(time.Hour):
	}
	h.ended <- ctx.Err()
}

// A graceful stop's Stopping hook gets a live Context (the actor is not
// killed: a hook may make calls with it), and a Kill while the hook runs
// cancels it, as it cancels a running handler's, so the hook ends and
// Done closes: here Stop's ctx ends, which turns the stop into a kill.
func TestKillCancelsStoppingHookContext(t *testing.T) {
	for _, busy := range []bool{false, true} {
		name := "idle"
		if busy {
			name = "busy"
		}
		t.Run(name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				rt := newRuntime(t)
				h := newCtxHook()
				ref, err := actor.Spawn(rt, h)
				if err != nil {
					t.Fatal(err)
				}
				gate := make(chan struct{})
				if busy {
					wait := actor.NewMethod("wait", func(_ *ctxHook, _ *actor.Ctx, _ int) (int, error) {
						<-gate
						return 0, nil
					})
					f := wait.Ask(context.Background(), ref, 0)
					defer func() { _, _ = f.Await(context.Background()) }()
					synctest.Wait() // the actor runs the call: the stop queues
				}
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				start := time.Now()
				stopped := make(chan error, 1)
				go func() { stopped <- ref.Stop(ctx) }()
				synctest.Wait()
				close(gate)
				if err := <-stopped; !errors.Is(err, context.DeadlineExceeded) {
					t.Errorf("Stop = %v; want a StopError matching DeadlineExceeded", err)
				}
				if err := <-h.atStart; err != nil {
					t.Errorf("the hook's Context at its start: %v; want live (a graceful stop)", err)
				}
				<-ref.Done()
				if d := time.Since(start); d > time.Second {
					t.Errorf("Done closed %v after Stop; want 1s (the kill cancels the hook's Context)", d)
				}
				if err := <-h.ended; !errors.Is(err, context.Canceled) {
					t.Errorf("the hook's Context as it returned: %v; want Canceled", err)
				}
			})
		})
	}
}
