package runtime

import (
	"context"
	"errors"
	"fmt"
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

// onRegister is the runtime's registry, but a Register of name calls f
// with the actor that claims it, as a sender that looked it up (Lookup
// finds an actor as soon as its name is claimed) would.
type onRegister struct {
	*registry
	name string
	f    func(engine.Stoppable)
}

func (r onRegister) Register(name string, a engine.Stoppable) error {
	if err := r.registry.Register(name, a); err != nil {
		return err
	}
	if name == r.name {
		r.f(a)
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
				rt.sys.Names = onRegister{registry: rt.names, name: "kid", f: func(a engine.Stoppable) {
					_ = knock.Cast(a.(*actor.Ref[*starter]), 1)
				}}
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

// plain has no Started hook.
type plain struct{ ran chan struct{} }

var touch = actor.NewMethod("touch", func(p *plain, _ *actor.Ctx, _ int) (int, error) {
	close(p.ran)
	return 0, nil
})

var spawnPlain = actor.NewMethod("spawn plain", func(_ *target, c *actor.Ctx, p *plain) (int, error) {
	if _, err := actor.Spawn(c, p, actor.WithName("kid")); !errors.Is(err, actor.ErrStopped) {
		return 0, fmt.Errorf("the kid's spawn = %v; want ErrStopped", err)
	}
	return 0, nil
})

// A named actor refused after claiming its name (its parent is stopping)
// never was an actor to its spawner: Spawn fails and leaves it the state.
// A message sent to it meanwhile (a Lookup found it) fails with
// ErrStopped, as a dead letter, and no handler runs on that state. The
// turn of an actor without a Started hook was not held until it had
// joined: the message scheduled it at once, and its handler ran on the
// state while its Spawn went on to fail (and could still be running when
// Spawn returned the state to its caller).
func TestRefusedSpawnRunsNoHandler(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt, err := New(WithCallTimeout(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			if err := rt.Close(); err != nil {
				t.Error(err)
			}
		}()
		rt.sys.Names = onRegister{registry: rt.names, name: "kid", f: func(a engine.Stoppable) {
			if err := touch.Cast(a.(*actor.Ref[*plain]), 1); err != nil {
				t.Errorf("cast to the kid as it claims its name = %v", err)
			}
			synctest.Wait() // a turn it scheduled has run
		}}
		p, err := actor.Spawn(rt, &target{})
		if err != nil {
			t.Fatal(err)
		}
		st := &plain{ran: make(chan struct{})}
		spawned := spawnPlain.Ask(context.Background(), p, st) // runs as p stops: the kid is refused
		if err := p.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		if _, err := spawned.Await(context.Background()); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		select {
		case <-st.ran:
			t.Error("a handler ran on the state of a refused spawn")
		default:
		}
		if n := rt.DeadLetters().ByReason[ReasonStopped]; n != 1 {
			t.Errorf("%d dead letters (stopped); want 1, the cast to the refused kid", n)
		}
	})
}
