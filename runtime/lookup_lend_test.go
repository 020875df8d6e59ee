package runtime_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

// relooker kills the actor of name (whose Stopping hook then needs a turn
// of its own) and looks the name up again from its handler.
type relooker struct {
	rt   *troupe.Runtime
	name string
	old  *actor.Ref[*Owner]
}

var relook = actor.NewMethod("relook", func(r *relooker, c *actor.Ctx, _ struct{}) (bool, error) {
	r.old.Kill()
	_, created, err := troupe.LookupOrSpawn(c.Context(), r.rt, r.name, func() *Owner { return &Owner{gen: 2} })
	return created, err
})

// A handler whose LookupOrSpawn waits for the stopping actor of the name
// waits for another actor, as in a sync call: it must lend its loop, or,
// on a pool of one loop, that actor's stop never gets the turn it needs
// and the handler waits until the scheduler's watchdog starts a loop or
// the call timeout ends the wait.
func TestLookupOrSpawnFromHandlerLendsLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := newRT(t, troupe.WithPoolSize(1), troupe.WithCallTimeout(time.Minute))
		old, created, err := troupe.LookupOrSpawn(context.Background(), rt, "acct", func() *Owner { return &Owner{gen: 1} })
		if err != nil || !created {
			t.Fatalf("first LookupOrSpawn = %v, %v", created, err)
		}
		r, err := actor.Spawn(rt, &relooker{rt: rt, name: "acct", old: old})
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		created, err = relook.Call(context.Background(), r, struct{}{})
		if err != nil || !created {
			t.Errorf("LookupOrSpawn from a handler, the name's actor stopping = %v, %v; want a new actor", created, err)
		}
		within(t, "LookupOrSpawn from a handler", start, 0)
		select {
		case <-old.Done():
		default:
			t.Error("the first actor of the name is not done")
		}
	})
}
