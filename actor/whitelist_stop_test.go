package actor_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

// gatedWork is an actor whose work results restrict its whitelist: the
// first result it takes holds every call after it (Only with no method).
type gatedWork struct {
	kid  *actor.Ref[*Account]
	took chan int
}

var (
	gatedSetup = actor.NewMethod("setup", func(s *gatedWork, c *actor.Ctx, fns []workFn) (struct{}, error) {
		kid, err := actor.Spawn(c, &Account{})
		if err != nil {
			return struct{}{}, err
		}
		s.kid = kid
		for _, fn := range fns {
			if err := actor.Go(c, fn, gatedResult); err != nil {
				return struct{}{}, err
			}
		}
		return struct{}{}, nil
	})
	gatedResult = actor.NewMethod("result", func(s *gatedWork, c *actor.Ctx, res actor.Result[int]) (struct{}, error) {
		s.took <- res.Value
		return struct{}{}, c.Only() // hold every call from now on
	})
)

// A graceful stop that has settled its queue (and lifted the whitelist's
// filter, to fail what it held) and waits for a child may still run a
// message: a Go result, which a graceful stop takes. A handler that
// restricts the whitelist then must not set the mailbox's filter again:
// the next result would be held, never run nor failed, and the stop,
// which finalizes only once the mailbox is empty, would never end. The
// result the whitelist does not admit fails instead, as what it held when
// the stop settled did.
func TestWhitelistAfterSettle(t *testing.T) {
	bubble(t, func(t *testing.T) {
		var letters recorder
		rt := newRuntime(t, troupe.WithDeadLetterHook(letters.Hook))
		s := &gatedWork{took: make(chan int, 2)}
		ref, err := actor.Spawn(rt, s)
		if err != nil {
			t.Fatal(err)
		}
		release := [2]chan struct{}{make(chan struct{}), make(chan struct{})}
		fns := make([]workFn, 2)
		for i := range fns {
			fns[i] = func(context.Context) (int, error) {
				<-release[i]
				return i + 1, nil
			}
		}
		ctx := context.Background()
		if _, err := gatedSetup.Call(ctx, ref, fns); err != nil {
			t.Fatal(err)
		}
		// The child is busy for a second: the parent's stop waits for it.
		if err := busyKid.Cast(s.kid, time.Second); err != nil {
			t.Fatal(err)
		}
		stopped := make(chan error, 1)
		go func() { stopped <- ref.Stop(ctx) }()
		synctest.Wait() // the parent has settled its queue and waits for its child
		close(release[0])
		if v := <-s.took; v != 1 {
			t.Fatalf("first result %d; want 1", v)
		}
		synctest.Wait() // the handler has set its whitelist
		close(release[1])
		ctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		select {
		case err := <-stopped:
			if err != nil {
				t.Errorf("Stop = %v; want nil", err)
			}
		case <-ctx.Done():
			t.Errorf("the stop did not end within a minute; held: %v", ref.Held())
			ref.Kill()
			<-stopped
		}
		if n := letters.Count(troupe.ReasonStopped, "result"); n != 1 {
			t.Errorf("%d dead letters of the held result; want 1", n)
		}
	})
}
