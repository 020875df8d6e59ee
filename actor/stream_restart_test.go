package actor_test

import (
	"context"
	"errors"
	"testing"

	"github.com/troupe-go/troupe/actor"
)

// A stream whose producer keeps its Out in state.
type ticker2 struct{ out *actor.Out[int] }

var (
	tickerOpen = actor.NewStream("ticks", func(s *ticker2, _ *actor.Ctx, _ struct{}, out *actor.Out[int]) error {
		s.out = out
		return out.Send(1)
	})
	tickerBoom = actor.NewMethod("boom", func(*ticker2, *actor.Ctx, int) (int, error) { panic("state lost") })
)

// A restart ends the streams the dead state produced, with its panic:
// their readers do not wait for Sends that will never come.
func TestStreamEndsOnRestart(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		ref, err := actor.SpawnFunc(rt, func() *ticker2 { return &ticker2{} })
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		f, err := tickerOpen.Open(ctx, ref, struct{}{})
		if err != nil {
			t.Fatal(err)
		}
		_, _ = tickerBoom.Call(ctx, ref, 0)
		var got []int
		var end error
		for it, err := range f.All() {
			if err != nil {
				end = err
				break
			}
			got = append(got, it.V)
		}
		var pe *actor.PanicError
		if len(got) != 1 || !errors.As(end, &pe) || pe.Value != "state lost" {
			t.Fatalf("items %v, end %v; want [1] then the panic that restarted the actor", got, end)
		}
		// The fresh state serves new streams.
		f2, err := tickerOpen.Open(ctx, ref, struct{}{})
		if err != nil {
			t.Fatalf("Open after the restart = %v", err)
		}
		items, _ := f2.Collected()
		if len(items) != 1 {
			t.Fatalf("new stream has %d items; want 1", len(items))
		}
		f2.Close()
	})
}
