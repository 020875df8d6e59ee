package fsm_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/fsm"
)

type other struct{ fsm.Machine[phase] }

var otherMethod = actor.NewMethod("other", func(*other, *actor.Ctx, int) (int, error) { return 0, nil })

func TestDefineProblems(t *testing.T) {
	type opts = []fsm.Option[*bot, phase]
	st := fsm.State[*bot, phase]
	tests := []struct {
		name    string
		initial phase
		entries opts
		want    error
	}{
		{"unknown initial", "nowhere", opts{st(A, step, fsm.Terminal())}, fsm.ErrUnknownState},
		{"unknown target", A, opts{st(A, step, fsm.To(B, "nowhere")), st(B, step, fsm.Terminal())}, fsm.ErrUnknownTarget},
		{"target of another type", A, opts{st(A, step, fsm.To(B), fsm.To("b")), st(B, step, fsm.Terminal())}, fsm.ErrUnknownTarget},
		{"duplicate state", A, opts{st(A, step, fsm.To(B)), st(B, step, fsm.Terminal()), st(B, step, fsm.Terminal())}, fsm.ErrDuplicateState},
		{"unreachable", A, opts{st(A, step, fsm.To(B)), st(B, step, fsm.Terminal()), st(C, step, fsm.To(B))}, fsm.ErrUnreachable},
		{"dead end", A, opts{st(A, step, fsm.To(B)), st(B, step)}, fsm.ErrDeadEnd},
		{"terminal with exits", A, opts{st(A, step, fsm.To(B), fsm.Terminal()), st(B, step, fsm.Terminal())}, fsm.ErrTerminalExits},
		{"timeout target not an exit", A, opts{st(A, step, fsm.To(B), fsm.Timeout(time.Second, C)), st(B, step, fsm.To(C)), st(C, step, fsm.Terminal())}, fsm.ErrTimeoutTarget},
		{"timeout on terminal", A, opts{st(A, step, fsm.To(B)), st(B, step, fsm.Terminal(), fsm.Timeout(time.Second, A))}, fsm.ErrTimeoutTarget},
		{"negative timeout", A, opts{st(A, step, fsm.To(B), fsm.Timeout(-time.Second, B)), st(B, step, fsm.Terminal())}, fsm.ErrNegativeDuration},
		{"two timeouts", A, opts{st(A, step, fsm.To(B), fsm.Timeout(time.Second, B), fsm.Timeout(time.Minute, B)), st(B, step, fsm.Terminal())}, fsm.ErrInvalidOption},
		{"nil state function", A, opts{st(A, nil, fsm.To(B)), st(B, step, fsm.Terminal())}, fsm.ErrNilStateFunc},
		{"admit of another actor", A, opts{st(A, step, fsm.To(B), fsm.Admit(Move, otherMethod)), st(B, step, fsm.Terminal())}, fsm.ErrWrongActor},
		{"nil admitted method", A, opts{st(A, step, fsm.To(B), fsm.Admit(nil)), st(B, step, fsm.Terminal())}, fsm.ErrInvalidOption},
		// A zero Method or Stream (not made by NewMethod or NewStream) has no
		// key: actor.Ctx.Only refuses it, and the state's admit set was then
		// silently never applied (finish drops Only's error).
		{"zero admitted method", A, opts{st(A, step, fsm.To(B), fsm.Admit(Move, &actor.Method[*bot, int, int]{})), st(B, step, fsm.Terminal())}, fsm.ErrInvalidOption},
		{"zero admitted stream", A, opts{st(A, step, fsm.To(B), fsm.Admit(new(actor.Stream[*bot, int, int]))), st(B, step, fsm.Terminal())}, fsm.ErrInvalidOption},
		{"nil entry", A, opts{st(A, step, fsm.Terminal()), nil}, fsm.ErrInvalidOption},
		{"nil state option", A, opts{st(A, step, fsm.Terminal(), nil)}, fsm.ErrInvalidOption},
		{"nil callback", A, opts{st(A, step, fsm.Terminal()), fsm.OnEnter[*bot, phase](nil)}, fsm.ErrInvalidOption},
		{"nil guard", A, opts{st(A, step, fsm.Terminal()), fsm.Guard[*bot, phase](nil)}, fsm.ErrInvalidOption},
		{"no states", A, opts{}, fsm.ErrUnknownState},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := fsm.Define("bot", tt.initial, tt.entries...)
			if d != nil {
				t.Errorf("got a definition with error %v", err)
			}
			var de *fsm.DefinitionError
			if !errors.As(err, &de) || !errors.Is(err, fsm.ErrInvalidDefinition) {
				t.Fatalf("got %v; want a *DefinitionError", err)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v; want it to match %v", err, tt.want)
			}
			if len(de.Problems) != 1 {
				t.Errorf("got %d problems; want 1:\n%v", len(de.Problems), err)
			}
		})
	}
}

func TestDefineWrongActorWrapsActorSentinel(t *testing.T) {
	_, err := fsm.Define("bot", A, fsm.State(A, step, fsm.Terminal(), fsm.Admit(otherMethod)))
	if !errors.Is(err, actor.ErrWrongActor) {
		t.Fatalf("got %v; want it to match actor.ErrWrongActor", err)
	}
}

func TestDefineInvalidName(t *testing.T) {
	for _, name := range []string{"", "bad\nname", string(make([]byte, 300))} {
		_, err := fsm.Define(name, A, fsm.State(A, step, fsm.Terminal()))
		if !errors.Is(err, fsm.ErrInvalidOption) || !errors.Is(err, actor.ErrInvalidName) {
			t.Errorf("name %q: got %v; want ErrInvalidOption and actor.ErrInvalidName", name, err)
		}
	}
}

// Every problem of a definition is reported, not only the first.
func TestDefineReportsEveryProblem(t *testing.T) {
	_, err := fsm.Define("bad", "nowhere",
		fsm.State(A, step, fsm.To(B, "ghost")),                                  // unknown target
		fsm.State(A, step, fsm.Terminal()),                                      // duplicate
		fsm.State[*bot, phase](B, nil, fsm.To(C), fsm.Timeout(-time.Second, A)), // nil fn, negative, timeout target
		fsm.State(C, step), // dead end
		fsm.State(End, step, fsm.Terminal(), fsm.To(A)),                                     // terminal with exits, unreachable
		fsm.State[*bot, phase]("lonely", step, fsm.Admit(otherMethod, nil), fsm.Terminal()), // wrong actor, nil method, unreachable
		fsm.OnExit[*bot, phase](nil),                                                        // nil callback
	)
	var de *fsm.DefinitionError
	if !errors.As(err, &de) {
		t.Fatalf("got %v; want a *DefinitionError", err)
	}
	for _, want := range []error{
		fsm.ErrUnknownState, fsm.ErrUnknownTarget, fsm.ErrDuplicateState, fsm.ErrNilStateFunc,
		fsm.ErrNegativeDuration, fsm.ErrTimeoutTarget, fsm.ErrDeadEnd, fsm.ErrTerminalExits,
		fsm.ErrUnreachable, fsm.ErrWrongActor, fsm.ErrInvalidOption,
	} {
		if !errors.Is(err, want) {
			t.Errorf("%v not reported in:\n%v", want, err)
		}
	}
	if len(de.Problems) != 13 {
		t.Errorf("got %d problems; want 13:\n%v", len(de.Problems), err)
	}
}

// A state declared twice is one problem, and the second declaration's own
// problems are reported too: Define lists every problem, and fixing the
// duplicate by renaming it must not reveal new ones.
func TestDefineDuplicateProblems(t *testing.T) {
	type opts = []fsm.Option[*bot, phase]
	st := fsm.State[*bot, phase]
	tests := []struct {
		name    string
		entries opts
		want    error
	}{
		{"unknown target", opts{st(A, step, fsm.To(B)), st(B, step, fsm.Terminal()), st(B, step, fsm.To("nowhere"))}, fsm.ErrUnknownTarget},
		{"dead end", opts{st(A, step, fsm.To(B)), st(B, step, fsm.Terminal()), st(B, step)}, fsm.ErrDeadEnd},
		{"terminal with exits", opts{st(A, step, fsm.To(B)), st(B, step, fsm.Terminal()), st(B, step, fsm.Terminal(), fsm.To(A))}, fsm.ErrTerminalExits},
		{"timeout target", opts{st(A, step, fsm.To(B)), st(B, step, fsm.Terminal()), st(B, step, fsm.To(A), fsm.Timeout(time.Second, B))}, fsm.ErrTimeoutTarget},
		{"negative timeout", opts{st(A, step, fsm.To(B)), st(B, step, fsm.Terminal()), st(B, step, fsm.To(A), fsm.Timeout(-time.Second, A))}, fsm.ErrNegativeDuration},
		{"nil state function", opts{st(A, step, fsm.To(B)), st(B, step, fsm.Terminal()), st(B, nil, fsm.Terminal())}, fsm.ErrNilStateFunc},
		{"nil state option", opts{st(A, step, fsm.To(B)), st(B, step, fsm.Terminal()), st(B, step, fsm.Terminal(), nil)}, fsm.ErrInvalidOption},
		{"admit of another actor", opts{st(A, step, fsm.To(B)), st(B, step, fsm.Terminal()), st(B, step, fsm.Terminal(), fsm.Admit(otherMethod))}, fsm.ErrWrongActor},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := fsm.Define("bot", A, tt.entries...)
			if d != nil {
				t.Errorf("got a definition with error %v", err)
			}
			var de *fsm.DefinitionError
			if !errors.As(err, &de) {
				t.Fatalf("got %v; want a *DefinitionError", err)
			}
			if !errors.Is(err, fsm.ErrDuplicateState) || !errors.Is(err, tt.want) {
				t.Fatalf("got %v; want it to match %v and %v", err, fsm.ErrDuplicateState, tt.want)
			}
			if len(de.Problems) != 2 {
				t.Errorf("got %d problems; want 2:\n%v", len(de.Problems), err)
			}
		})
	}
}

func TestDefinitionAccessors(t *testing.T) {
	d := define(t,
		fsm.State(A, step, fsm.To(B, C, B)),
		fsm.State(B, step, fsm.To(End)),
		fsm.State(C, step, fsm.To(A)),
		fsm.State(End, step, fsm.Terminal()),
	)
	if d.Name() != "bot" || d.Initial() != A {
		t.Errorf("Name, Initial = %q, %v; want bot, a", d.Name(), d.Initial())
	}
	if got := d.States(); len(got) != 4 || got[0] != A || got[3] != End {
		t.Errorf("States() = %v; want [a b c end]", got)
	}
	if got := d.Exits(A); len(got) != 2 || got[0] != B || got[1] != C {
		t.Errorf("Exits(a) = %v; want [b c] (repeats ignored)", got)
	}
	if got := d.Exits(End); got != nil {
		t.Errorf("Exits(end) = %v; want nil", got)
	}
}

type anyBot struct{ fsm.Machine[any] }

// An interface P holding a value that cannot be a map key is a problem, not
// a panic.
func TestDefineUncomparableState(t *testing.T) {
	fn := func(_ *anyBot, c *fsm.Ctx[any]) fsm.Step[any] { return c.Stay() }
	_, err := fsm.Define[*anyBot, any]("any", "a",
		fsm.State[*anyBot, any]("a", fn, fsm.To[any]([]int{1}), fsm.Timeout[any](time.Second, []int{1})),
		fsm.State[*anyBot, any]([]int{1}, fn, fsm.Terminal()),
	)
	for _, want := range []error{fsm.ErrUnknownState, fsm.ErrUnknownTarget, fsm.ErrTimeoutTarget} {
		if !errors.Is(err, want) {
			t.Errorf("got %v; want it to match %v", err, want)
		}
	}
	_, err = fsm.Define[*anyBot, any]("any", []int{1}, fsm.State[*anyBot, any]("a", fn, fsm.Terminal()))
	if !errors.Is(err, fsm.ErrUnknownState) {
		t.Errorf("uncomparable initial: got %v; want ErrUnknownState", err)
	}
}

type floatBot struct{ fsm.Machine[float64] }

type anyNaNBot struct{ fsm.Machine[any] }

// A state that is not equal to itself (a NaN, or an interface holding
// one) can never be found in the table: Define reports it, as it does an
// uncomparable state, instead of panicking.
func TestDefineNaNState(t *testing.T) {
	fn := func(_ *floatBot, c *fsm.Ctx[float64]) fsm.Step[float64] { return c.Stay() }
	nan := math.NaN()
	_, err := fsm.Define[*floatBot]("nan", 0,
		fsm.State(0.0, fn, fsm.To(nan)),
		fsm.State(nan, fn, fsm.Terminal()),
	)
	if !errors.Is(err, fsm.ErrUnknownState) || !errors.Is(err, fsm.ErrUnknownTarget) {
		t.Errorf("got %v; want it to match ErrUnknownState and ErrUnknownTarget", err)
	}
	_, err = fsm.Define[*floatBot]("nan", nan, fsm.State(0.0, fn, fsm.Terminal()))
	if !errors.Is(err, fsm.ErrUnknownState) {
		t.Errorf("NaN initial: got %v; want ErrUnknownState", err)
	}
	afn := func(_ *anyNaNBot, c *fsm.Ctx[any]) fsm.Step[any] { return c.Stay() }
	_, err = fsm.Define[*anyNaNBot, any]("nan", "a",
		fsm.State[*anyNaNBot, any]("a", afn, fsm.To[any](nan)),
		fsm.State[*anyNaNBot, any](nan, afn, fsm.Terminal()),
	)
	if !errors.Is(err, fsm.ErrUnknownState) || !errors.Is(err, fsm.ErrUnknownTarget) {
		t.Errorf("interface holding NaN: got %v; want it to match ErrUnknownState and ErrUnknownTarget", err)
	}
}

// structP is a state type whose values may hold an uncomparable value in
// an interface field: comparable as a type, not always as a value.
type structP struct{ tag any }

type structBot struct{ fsm.Machine[structP] }

// A struct P whose interface field holds a value that cannot be a map key
// is a problem, not a panic, like an interface P holding one; Exits of such
// a value is nil.
func TestDefineUncomparableStructState(t *testing.T) {
	fn := func(_ *structBot, c *fsm.Ctx[structP]) fsm.Step[structP] { return c.Stay() }
	a, bad := structP{"a"}, structP{[]int{1}}
	_, err := fsm.Define[*structBot]("struct", a,
		fsm.State(a, fn, fsm.To(bad), fsm.Timeout(time.Second, bad)),
		fsm.State(bad, fn, fsm.Terminal()),
	)
	for _, want := range []error{fsm.ErrUnknownState, fsm.ErrUnknownTarget, fsm.ErrTimeoutTarget} {
		if !errors.Is(err, want) {
			t.Errorf("got %v; want it to match %v", err, want)
		}
	}
	_, err = fsm.Define[*structBot]("struct", bad, fsm.State(a, fn, fsm.Terminal()))
	if !errors.Is(err, fsm.ErrUnknownState) {
		t.Errorf("uncomparable initial: got %v; want ErrUnknownState", err)
	}
	d, err := fsm.Define[*structBot]("struct", a, fsm.State(a, fn, fsm.Terminal()))
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Exits(bad); got != nil {
		t.Errorf("Exits(uncomparable) = %v; want nil", got)
	}
}

// A Terminal state's exits are a problem whether or not their targets are
// declared: Define lists every problem, so fixing an exit's unknown
// target (by declaring it) must not reveal that the state is Terminal
// with exits.
func TestDefineTerminalProblems(t *testing.T) {
	type opts = []fsm.Option[*bot, phase]
	st := fsm.State[*bot, phase]
	tests := []struct {
		name    string
		entries opts
		want    []error
	}{
		{"terminal with an unknown exit", opts{st(A, step, fsm.To(B)), st(B, step, fsm.Terminal(), fsm.To(phase("nowhere")))},
			[]error{fsm.ErrUnknownTarget, fsm.ErrTerminalExits}},
		{"terminal with an exit of another type", opts{st(A, step, fsm.To(B)), st(B, step, fsm.Terminal(), fsm.To(1))},
			[]error{fsm.ErrUnknownTarget, fsm.ErrTerminalExits}},
		// Terminal: "no exits and no timeout". The timeout's target is an
		// exit here, but not once the exit is taken away.
		{"terminal with a timeout to one of its exits", opts{st(A, step, fsm.To(B)), st(B, step, fsm.Terminal(), fsm.To(A), fsm.Timeout(time.Second, A))},
			[]error{fsm.ErrTerminalExits, fsm.ErrTimeoutTarget}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := fsm.Define("bot", A, tt.entries...)
			if d != nil {
				t.Errorf("got a definition with error %v", err)
			}
			var de *fsm.DefinitionError
			if !errors.As(err, &de) {
				t.Fatalf("got %v; want a *DefinitionError", err)
			}
			for _, want := range tt.want {
				if !errors.Is(err, want) {
					t.Errorf("got %v; want it to match %v", err, want)
				}
			}
			if len(de.Problems) != len(tt.want) {
				t.Errorf("got %d problems; want %d:\n%v", len(de.Problems), len(tt.want), err)
			}
		})
	}
}
