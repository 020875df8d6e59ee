package fsm_test

import (
	"context"
	"testing"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/fsm"
)

type pinger struct{ fsm.Machine[phase] }

func still(_ *pinger, c *fsm.Ctx[phase]) fsm.Step[phase] { return c.Stay() }

// PingAllocs measures, on the actor's turn, the allocations of a Goto.
var PingAllocs = actor.NewMethod("pingAllocs", func(p *pinger, c *actor.Ctx, runs int) (float64, error) {
	var err error
	n := testing.AllocsPerRun(runs, func() {
		to := B
		if p.State() == B {
			to = A
		}
		if e := p.Goto(c, to); e != nil {
			err = e
		}
	})
	return n, err
})

func pingDef(t testing.TB) *fsm.Definition[*pinger, phase] {
	d, err := fsm.Define("ping", A,
		fsm.State(A, still, fsm.To(B)),
		fsm.State(B, still, fsm.To(A)),
		fsm.OnEnter(func(*pinger, *actor.Ctx, fsm.Transition[phase]) {}),
	)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// A Goto between states without timeouts or admit sets allocates nothing.
func TestGotoAllocs(t *testing.T) {
	rt := newRuntime(t)
	ref, err := fsm.Spawn(rt, pingDef(t), &pinger{})
	if err != nil {
		t.Fatal(err)
	}
	n, err := PingAllocs.Call(context.Background(), ref, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%v allocations per Goto; want 0", n)
	}
}

var Ping = actor.NewMethod("ping", func(p *pinger, c *actor.Ctx, _ struct{}) (phase, error) {
	to := B
	if p.State() == B {
		to = A
	}
	return to, p.Goto(c, to)
})

// BenchmarkGoto is a sync call whose handler moves the machine.
func BenchmarkGoto(b *testing.B) {
	rt := newRuntime(b)
	ref, err := fsm.Spawn(rt, pingDef(b), &pinger{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Ping.Call(ctx, ref, struct{}{}); err != nil {
			b.Fatal(err)
		}
	}
}
