package fsm

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
)

type fz struct{ Machine[uint8] }

type fzOther struct{ Machine[uint8] }

var (
	fzMethod    = actor.NewMethod("fz", func(*fz, *actor.Ctx, int) (int, error) { return 0, nil })
	fzForeign   = actor.NewMethod("foreign", func(*fzOther, *actor.Ctx, int) (int, error) { return 0, nil })
	fzStep      = func(_ *fz, c *Ctx[uint8]) Step[uint8] { return c.Stay() }
	allProblems = []error{ErrUnknownState, ErrUnknownTarget, ErrDuplicateState, ErrUnreachable, ErrDeadEnd,
		ErrTerminalExits, ErrTimeoutTarget, ErrNilStateFunc, ErrInvalidOption, ErrWrongActor, ErrNegativeDuration}
)

// bytes reads a fuzz input, yielding zeros once it is spent.
type bytes struct {
	b []byte
	i int
}

func (r *bytes) next() byte {
	if r.i >= len(r.b) {
		return 0
	}
	r.i++
	return r.b[r.i-1]
}

// graph is a random definition and what the fuzzer knows it must reject.
type graph struct {
	initial  uint8
	entries  []Option[*fz, uint8]
	declared map[uint8]bool
	mustFail []error // sentinels that must be reported
}

// decode builds up to 10 states named 0..n-1 (rarely another name among
// 0..11, maybe a repeat) with up to 3 exits among them, maybe a timeout to
// one of its exits and an admit set. A fault byte per state adds at most
// one fault (of 8 kinds) to one state in eight: many inputs make a valid
// definition, and each fault is one byte away for the fuzzer.
func decode(data []byte) graph {
	r := &bytes{b: data}
	g := graph{declared: map[uint8]bool{}}
	n := int(r.next() % 11)
	names := make([]uint8, n)
	for i := range names {
		names[i] = uint8(i)
		if b := r.next(); b >= 0xf0 {
			names[i] = b % 12 // maybe a duplicate
		}
	}
	g.initial = r.next() % 12
	if n > 0 && g.initial < 10 {
		g.initial = names[int(g.initial)%n]
	}
	for _, name := range names {
		first := !g.declared[name]
		fail := func(err error) { g.mustFail = append(g.mustFail, err) } // a duplicate's too
		exits := make([]uint8, r.next()%4)
		for i := range exits {
			exits[i] = names[int(r.next())%n]
		}
		timeout, admit, fault := r.next(), r.next(), r.next()
		if fault < 0xe0 {
			fault = 0xff // none
		} else {
			fault %= 8
		}
		var opts []StateOption
		switch fault {
		case 0:
			opts = append(opts, To(int(name))) // wrong type
			fail(ErrUnknownTarget)
		case 1:
			exits = append(exits, 12+name%2) // never declared
			fail(ErrUnknownTarget)
		}
		opts = append(opts, To(exits...))
		if (len(exits) == 0) != (fault == 2) {
			opts = append(opts, Terminal())
		}
		switch {
		case fault == 3:
			opts = append(opts, Timeout(-time.Duration(timeout%8+1), name))
			fail(ErrNegativeDuration)
		case fault == 4:
			opts = append(opts, Timeout(time.Second, uint8(13)))
			fail(ErrTimeoutTarget)
		case timeout&1 != 0 && len(exits) > 0:
			opts = append(opts, Timeout(time.Duration(timeout), exits[int(timeout)%len(exits)]))
		}
		switch {
		case fault == 5:
			opts = append(opts, Admit(fzMethod, fzForeign))
			fail(ErrWrongActor)
		case admit&3 == 1:
			opts = append(opts, Admit())
		case admit&3 == 2:
			opts = append(opts, Admit(fzMethod))
		}
		fn := fzStep
		if fault == 6 {
			fn = nil
		}
		if fault == 7 {
			opts = append(opts, nil)
			fail(ErrInvalidOption)
		}
		if !first {
			g.mustFail = append(g.mustFail, ErrDuplicateState)
		}
		if fn == nil {
			g.mustFail = append(g.mustFail, ErrNilStateFunc)
		}
		g.declared[name] = true
		g.entries = append(g.entries, State(name, fn, opts...))
	}
	if !g.declared[g.initial] {
		g.mustFail = append(g.mustFail, ErrUnknownState)
	}
	return g
}

func FuzzDefine(f *testing.F) {
	f.Add([]byte{0, 3, 0, 0, 1, 1, 1, 1, 2, 2, 1, 1, 2, 0, 0})
	f.Add([]byte{0, 4, 0, 2, 1, 1, 2, 1, 4, 0, 2, 3, 1, 0, 1, 1, 3, 1, 1, 2, 2, 3, 2, 1, 0, 1})
	f.Add([]byte{5, 2, 5, 0, 1, 6, 6, 1, 0})
	f.Add([]byte{1, 10, 1, 255, 3, 1, 2, 3, 2, 6, 2, 3, 4, 5, 3, 0, 1, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		g := decode(data)
		d, err := Define("fuzz", g.initial, g.entries...)
		if err != nil {
			checkRejected(t, err, g)
			return
		}
		if d == nil {
			t.Fatal("nil definition without error")
		}
		if len(g.mustFail) > 0 {
			t.Fatalf("accepted; want %v", g.mustFail)
		}
		checkInvariants(t, d)
		_, _ = d.Mermaid(), d.DOT()
	})
}

func checkRejected(t *testing.T, err error, g graph) {
	var de *DefinitionError
	if !errors.As(err, &de) || !errors.Is(err, ErrInvalidDefinition) || len(de.Problems) == 0 {
		t.Fatalf("got %v; want a *DefinitionError with problems", err)
	}
	for _, p := range de.Problems {
		if !slices.ContainsFunc(allProblems, func(s error) bool { return errors.Is(p, s) }) {
			t.Fatalf("problem %v matches no sentinel", p)
		}
	}
	for _, want := range g.mustFail {
		if !errors.Is(err, want) {
			t.Fatalf("%v not reported in %v", want, err)
		}
	}
}

func checkInvariants(t *testing.T, d *Definition[*fz, uint8]) {
	if d.states[d.initial] == nil {
		t.Fatalf("initial %d unknown", d.initial)
	}
	if len(d.order) != len(d.states) {
		t.Fatalf("%d states in order, %d in the map", len(d.order), len(d.states))
	}
	seen := map[uint8]bool{d.initial: true}
	for queue := []uint8{d.initial}; len(queue) > 0; queue = queue[1:] {
		for _, to := range d.states[queue[0]].exits {
			if !seen[to] {
				seen[to] = true
				queue = append(queue, to)
			}
		}
	}
	for _, p := range d.order {
		st := d.states[p]
		for _, to := range st.exits {
			if d.states[to] == nil {
				t.Fatalf("state %d: unknown target %d", p, to)
			}
		}
		if !seen[p] {
			t.Fatalf("state %d unreachable", p)
		}
		if st.terminal != (len(st.exits) == 0) {
			t.Fatalf("state %d: terminal %v with %d exits", p, st.terminal, len(st.exits))
		}
		if st.fn == nil {
			t.Fatalf("state %d: nil function", p)
		}
		if st.timed && (st.timeout < 0 || !slices.Contains(st.exits, st.timeoutTo)) {
			t.Fatalf("state %d: timeout %v to %d, exits %v", p, st.timeout, st.timeoutTo, st.exits)
		}
		for _, m := range st.admit {
			if m == nil || !m.Accepts((*fz)(nil)) {
				t.Fatalf("state %d admits %v", p, m)
			}
		}
	}
}
