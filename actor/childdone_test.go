package actor_test

import (
	"context"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

type kinParent struct {
	child     *actor.Ref[*Account]
	childDone bool // at the parent's Stopping hook
	hookRan   bool
}

func (p *kinParent) Stopping(*actor.Ctx) {
	p.hookRan = true
	select {
	case <-p.child.Done():
		p.childDone = true
	default:
	}
}

var spawnKin = actor.NewMethod("spawn", func(p *kinParent, c *actor.Ctx, _ struct{}) (*actor.Ref[*Account], error) {
	ref, err := actor.Spawn(c, &Account{})
	p.child = ref
	return ref, err
})

var holdDeaf = actor.NewMethod("hold", func(_ *Account, _ *actor.Ctx, d time.Duration) (int, error) {
	time.Sleep(d) // deaf to its Context
	return 0, nil
})

// Children stop before their parent: a child's Done is closed before its
// parent's Stopping hook runs and before the parent's Done closes. The
// child used to tell its parent it was gone (and the parent could finalize)
// before closing its own Done. Here the child finalizes after a forced
// Close (its handler would not return in time), so the parent, whose
// scheduler is closed, finalizes on the child's goroutine, right inside
// that window.
func TestChildDoneBeforeParent(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt, err := troupe.New(troupe.WithCallTimeout(time.Second))
		if err != nil {
			t.Fatal(err)
		}
		p := &kinParent{}
		parent, err := actor.Spawn(rt, p)
		if err != nil {
			t.Fatal(err)
		}
		child, err := spawnKin.Call(context.Background(), parent, struct{}{})
		if err != nil {
			t.Fatal(err)
		}
		if err := holdDeaf.Cast(child, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		_ = rt.Close() // the child's handler is late: a StopError
		<-parent.Done()
		if !p.hookRan {
			t.Fatal("the parent's Stopping hook did not run")
		}
		if !p.childDone {
			t.Error("the parent's Stopping hook ran before its child's Done closed")
		}
		<-child.Done()
	})
}
