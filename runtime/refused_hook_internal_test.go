package runtime

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/engine"
)

// starter is a Starter: a named one's turn is held until Spawn queues its
// Started hook, so a message sent to it meanwhile waits in its mailbox.
type starter struct{}

func (*starter) Started(*actor.Ctx) {}

var knock = actor.NewMethod("knock", func(*starter, *actor.Ctx, int) (int, error) { return 0, nil })

// castOnRegister is the runtime's registry, but a Register of name sends
// a oneway to the actor that claims it, as a sender that looked it up
// (Lookup finds an actor as soon as its name is claimed) would.
type castOnRegister struct {
	*registry
	name string
}

func (r castOnRegister) Register(name string, a engine.Stoppable) error {
	if err := r.registry.Register(name, a); err != nil {
		return err
	}
	if name == r.name {
		_ = knock.Cast(a.(*actor.Ref[*starter]), 1)
	}
	return nil
}

var spawnKid = actor.NewMethod("spawn kid", func(_ *target, c *actor.Ctx, _ struct{}) (int, error) {
	if _, err := actor.Spawn(c, &starter{}, actor.WithName("kid")); !errors.Is(err, actor.ErrStopped) {
		return 0, errors.New("the kid's spawn was not refused")
	}
	return 0, nil
})

// A named actor refused after claiming its name (its parent is stopping)
// ends on a turn of its own: the messages sent to it meanwhile fail there,
// as dead letters, on the user's hook. Every root may have stopped by
// then: the runtime's stop must still bound that turn by the call timeout
// once forced, as it does a handler's, and name the actor; a hook calling
// Close must not wait for itself. The stop drained the scheduler without
// a bound after the roots had stopped: Close waited for the hook (an
// hour), and a hook calling Close never returned.
func TestStopBoundedDespiteRefusedActorsDeadLetterHook(t *testing.T) {
	for _, tc := range []struct {
		name string
		hook func(rt *Runtime)
	}{
		{"slow hook", func(*Runtime) { time.Sleep(time.Hour) }},
		{"hook calls Close", func(rt *Runtime) { _ = rt.Close() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var rt *Runtime
				hooked, returned := make(chan struct{}), make(chan struct{})
				rt, err := New(WithCallTimeout(time.Second), WithDeadLetterHook(func(d DeadLetter) {
					if d.Actor == "kid" && d.Method == "knock" {
						close(hooked)
						tc.hook(rt)
						close(returned)
					}
				}))
				if err != nil {
					t.Fatal(err)
				}
				rt.sys.Names = castOnRegister{registry: rt.names, name: "kid"}
				p, err := actor.Spawn(rt, &target{})
				if err != nil {
					t.Fatal(err)
				}
				// Queued, it runs as p stops: the kid is refused.
				if err := spawnKid.Cast(p, struct{}{}); err != nil {
					t.Fatal(err)
				}
				if err := p.Stop(context.Background()); err != nil {
					t.Fatal(err)
				}
				select {
				case <-hooked:
				case <-time.After(time.Minute):
					t.Fatalf("no dead letter of the kid's knock; dead letters: %v", rt.DeadLetters())
				}
				start := time.Now()
				closed := make(chan error, 1)
				go func() { closed <- rt.Close() }()
				select {
				case err = <-closed:
				case <-time.After(2 * time.Hour):
					t.Fatal("Close did not return within two hours")
				}
				if d := time.Since(start); d != time.Second {
					t.Errorf("Close returned after %v; want the call timeout, 1s", d)
				}
				var se *actor.StopError
				if !errors.As(err, &se) || len(se.Actors) != 1 || se.Actors[0] != "kid" {
					t.Errorf("Close = %v; want a StopError naming kid (its end is in the hook)", err)
				}
				<-returned // the kid ends as the hook returns: nothing of ours is left
			})
		})
	}
}
