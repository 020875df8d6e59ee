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

// A state embedding a nil *fsm.Machine is refused, not a panic.
func TestSpawnNilEmbeddedMachine(t *testing.T) {
	type ptrBot struct{ *fsm.Machine[phase] }
	d, err := fsm.Define("ptr", A, fsm.State(A, func(*ptrBot, *fsm.Ctx[phase]) fsm.Step[phase] { return fsm.Step[phase]{} }, fsm.Terminal()))
	if err != nil {
		t.Fatal(err)
	}
	rt := newRuntime(t)
	if _, err := fsm.Spawn(rt, d, &ptrBot{}); !errors.Is(err, actor.ErrNilState) {
		t.Errorf("Spawn: got %v; want actor.ErrNilState", err)
	}
	if _, err := fsm.SpawnFunc(rt, d, func() *ptrBot { return &ptrBot{} }); !errors.Is(err, actor.ErrNilState) {
		t.Errorf("SpawnFunc: got %v; want actor.ErrNilState", err)
	}
	ref, err := fsm.Spawn(rt, d, &ptrBot{Machine: new(fsm.Machine[phase])})
	if err != nil {
		t.Fatalf("Spawn with a machine: %v", err)
	}
	_ = ref
}

// shadow has its own Started hook, which must call the Machine's.
type shadow struct {
	fsm.Machine[phase]
	hooked bool
}

func (s *shadow) Started(c *actor.Ctx) {
	s.hooked = true
	s.Machine.Started(c)
}

var ShadowState = actor.NewMethod("shadowState", func(s *shadow, _ *actor.Ctx, _ int) (phase, error) {
	if !s.hooked {
		return "", errors.New("own Started did not run")
	}
	return s.State(), s.Goto(nil, B)
})

func TestOwnStartedHook(t *testing.T) {
	d, err := fsm.Define("shadow", A,
		fsm.State(A, func(_ *shadow, c *fsm.Ctx[phase]) fsm.Step[phase] { return c.Stay() }, fsm.To(B)),
		fsm.State(B, func(_ *shadow, c *fsm.Ctx[phase]) fsm.Step[phase] { return c.Stay() }, fsm.Terminal()),
	)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := fsm.Spawn(newRuntime(t), d, &shadow{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := ShadowState.Call(context.Background(), ref, 0)
	if got != A || !errors.Is(err, actor.ErrNilContext) {
		t.Fatalf("got %v, %v; want a, actor.ErrNilContext", got, err)
	}
}
