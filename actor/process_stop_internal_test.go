package actor

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/internal/engine"
)

type psParent struct{ kid *Ref[*psKid] }
type psKid struct{ parent *Ref[*psParent] }

var (
	psPing   = NewMethod("ping", func(*psParent, *Ctx, int) (int, error) { return 0, nil })
	psReport = NewMethod("report", func(*psParent, *Ctx, int) (int, error) { return 0, nil })
	psSpawn  = NewMethod("spawnkid", func(p *psParent, c *Ctx, _ int) (int, error) {
		k, err := Spawn(c, &psKid{parent: Self[*psParent](c)})
		p.kid = k
		return 0, err
	})
	// psWork makes the kid wait in a sync call to its parent.
	psWork = NewMethod("work", func(k *psKid, c *Ctx, _ int) (int, error) {
		return psReport.Call(c.Context(), k.parent, 1)
	})
)

// A Process with Admitting that starts after a stop has lifted the held
// calls' filter (settle), but before the stop's turns have failed them,
// must not hold them again: nothing would lift the filter a second time,
// and a kid waiting in such a call kept its stop, and its parent's,
// waiting for the call's deadline. The window is release's: a Process
// (A) returns with the released calls not all failed (its budget spent),
// gives up the consumer role, and another goroutine's Process (B) takes it
// before release's drive does. The test plays A's part itself (the
// consumer role, Admitting's filter, a turn of budget 2: the stop message
// and settle) and hands the role over to B without drive.
func TestProcessAfterStopReleasedDoesNotHold(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sched, wheel := newSchedWheel(t)
		sys, err := engine.New(engine.Config{Scheduler: sched, Wheel: wheel, CallTimeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			_ = sys.Close(context.Background())
			sched.Close()
			wheel.Stop()
			<-wheel.Done()
		}()
		p := &psParent{}
		h, err := NewHandler(testSpawner{sys}, p)
		if err != nil {
			t.Fatal(err)
		}
		ref := h.Ref()
		c := &ref.c
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		f := psSpawn.Ask(ctx, ref, 0)
		if err := h.Process(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := f.Await(ctx); err != nil {
			t.Fatal(err)
		}

		// A: a Process with Admitting(ping) holds the consumer role.
		o := c.owner
		if !o.busy.CompareAndSwap(false, true) {
			t.Fatal("consumer role taken")
		}
		keys, _ := keysFor(c.state, []Admitter{psPing})
		o.only, o.filtered = keys, true
		c.mb.Admit(keys...)
		kidErr := make(chan error, 1)
		go func() {
			_, err := psWork.Call(ctx, p.kid, 0)
			kidErr <- err
		}()
		synctest.Wait() // the kid waits in report, held by A's filter
		stopped := make(chan error, 1)
		go func() { stopped <- ref.Stop(ctx) }()
		synctest.Wait() // the stop message is queued; A holds the role
		x := getCtx(c)
		c.turn(x, 2, nil) // the stop message, then settle lifts the filter
		putCtx(x)
		o.busy.Store(false) // A's release, before its drive: B wins

		start := time.Now()
		if err := h.Process(ctx, Admitting(psPing)); err != nil && !errors.Is(err, ErrStopped) {
			t.Fatalf("B's Process: %v", err)
		}
		select {
		case err := <-kidErr:
			if took := time.Since(start); took != 0 || !errors.Is(err, ErrStopped) {
				t.Fatalf("the kid's held call got %v after %v; want ErrStopped at once", err, took)
			}
		case <-time.After(time.Second):
			t.Fatal("the kid's call is still held a second after B's Process")
		}
		if err := <-stopped; err != nil {
			t.Fatalf("Stop: %v", err)
		}
	})
}
