package fsm_test

import (
	"context"
	"errors"
	"testing"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/fsm"
	troupe "github.com/troupe-go/troupe/runtime"
)

func TestSpawnErrors(t *testing.T) {
	rt := newRuntime(t)
	d := basic(t)
	if _, err := fsm.Spawn[*bot](rt, nil, newBot()); !errors.Is(err, fsm.ErrInvalidDefinition) {
		t.Errorf("nil definition: got %v; want ErrInvalidDefinition", err)
	}
	if _, err := fsm.Spawn(rt, d, (*bot)(nil)); !errors.Is(err, actor.ErrNilState) {
		t.Errorf("nil state: got %v; want actor.ErrNilState", err)
	}
	if _, err := fsm.SpawnFunc(rt, d, nil); !errors.Is(err, actor.ErrNilState) {
		t.Errorf("nil factory: got %v; want actor.ErrNilState", err)
	}
	if _, err := fsm.SpawnFunc(rt, d, func() *bot { return nil }); !errors.Is(err, actor.ErrNilState) {
		t.Errorf("factory of nil: got %v; want actor.ErrNilState", err)
	}
	b := newBot()
	spawn(t, rt, d, b)
	if _, err := fsm.Spawn(rt, d, b); !errors.Is(err, fsm.ErrSpawned) {
		t.Errorf("spawned twice: got %v; want ErrSpawned", err)
	}
	if _, err := fsm.SpawnFunc(rt, d, func() *bot { return b }); !errors.Is(err, fsm.ErrSpawned) {
		t.Errorf("SpawnFunc of a spawned state: got %v; want ErrSpawned", err)
	}
	if _, err := fsm.Spawn(rt, d, newBot(), actor.WithName("")); !errors.Is(err, actor.ErrInvalidName) {
		t.Errorf("bad option: got %v; want actor.ErrInvalidName", err)
	}
}

// A state whose spawn failed is left unbound and can be spawned again.
func TestSpawnFailureUnbinds(t *testing.T) {
	closed, err := troupe.New()
	if err != nil {
		t.Fatal(err)
	}
	shutdown(t, closed)
	d := basic(t)
	b := newBot()
	if _, err := fsm.Spawn(closed, d, b); !errors.Is(err, actor.ErrStopped) {
		t.Fatalf("closed runtime: got %v; want actor.ErrStopped", err)
	}
	ref := spawn(t, newRuntime(t), d, b)
	expect(t, ref, A, "enter a", "fn a")
}

// A state spawned with actor.Spawn has an inert machine.
func TestNotStarted(t *testing.T) {
	rt := newRuntime(t)
	ref, err := actor.Spawn(rt, newBot())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Move.Call(context.Background(), ref, B); !errors.Is(err, fsm.ErrNotStarted) {
		t.Fatalf("got %v; want ErrNotStarted", err)
	}
	if _, err := Move.Call(context.Background(), ref, B); err == nil {
		t.Fatal("no error")
	}
}

// Goto with a nil *actor.Ctx is refused.
func TestGotoNilCtx(t *testing.T) {
	var b bot
	if err := b.Goto(nil, A); !errors.Is(err, actor.ErrNilContext) {
		t.Fatalf("got %v; want actor.ErrNilContext", err)
	}
	b.Started(nil) // inert, no panic
	if b.State() != "" {
		t.Fatalf("zero machine state %q; want the zero phase", b.State())
	}
}
