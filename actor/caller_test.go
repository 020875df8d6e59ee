package actor_test

import (
	"context"
	"testing"

	"github.com/troupe-go/troupe/actor"
)

var whoAmI = actor.NewMethod("who", func(_ *Account, c *actor.Ctx, _ struct{}) (uint64, error) {
	id, ok := actor.CallerID(context.WithValue(c.Context(), struct{}{}, 1)) // derived ctxs too
	if !ok {
		return 0, nil
	}
	return id, nil
})

func TestRefIDAndCallerID(t *testing.T) {
	rt := newRuntime(t)
	a, b := spawnAccount(t, rt), spawnAccount(t, rt)
	if a.ID() == 0 || b.ID() <= a.ID() {
		t.Fatalf("IDs: got %d then %d; want nonzero and increasing", a.ID(), b.ID())
	}
	var zero *actor.Ref[*Account]
	if zero.ID() != 0 {
		t.Fatalf("nil Ref's ID: got %d; want 0", zero.ID())
	}
	for _, ref := range []*actor.Ref[*Account]{a, b} {
		if got, err := whoAmI.Call(context.Background(), ref, struct{}{}); err != nil || got != ref.ID() {
			t.Fatalf("CallerID in a handler: got %d, %v; want %d", got, err, ref.ID())
		}
	}
	if _, ok := actor.CallerID(context.Background()); ok {
		t.Fatal("CallerID outside any handler: got true")
	}
	if _, ok := actor.CallerID(nil); ok { //nolint:staticcheck // a nil ctx is refused, not a panic
		t.Fatal("CallerID(nil): got true")
	}
}
