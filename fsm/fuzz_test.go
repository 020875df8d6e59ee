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

// decode builds up to 10 states named 0..11 with up to 3 exits among
// 0..13 (12 and 13 never declared), sometimes of the wrong type, and
// random terminal marks, timeouts, admit sets and nil functions.
func decode(data []byte) graph {
	r := &bytes{b: data}
	g := graph{initial: r.next() % 12, declared: map[uint8]bool{}}
	n := int(r.next() % 11)
	for range n {
		name, flags := r.next()%12, r.next()
		var opts []StateOption
		exits := int(r.next() % 4)
		var typed []uint8
		for range exits {
			x := r.next()
			if x&0x80 != 0 {
				opts = append(opts, To(int(x%14))) // wrong type
				if !g.declared[name] {
					g.mustFail = append(g.mustFail, ErrUnknownTarget)
				}
				continue
			}
			typed = append(typed, x%14)
		}
		opts = append(opts, To(typed...))
		if flags&1 != 0 {
			opts = append(opts, Terminal())
		}
		if flags&2 != 0 {
			opts = append(opts, Timeout(time.Duration(int8(r.next())), r.next()%14))
		}
		if flags&4 != 0 {
			var ms []actor.Admitter
			switch r.next() % 4 {
			case 1:
				ms = append(ms, fzMethod)
			case 2:
				ms = append(ms, fzForeign)
			case 3:
				ms = append(ms, nil)
			}
			opts = append(opts, Admit(ms...))
		}
		fn := fzStep
		if flags&8 != 0 {
			fn = nil
		}
		if flags&16 != 0 {
			opts = append(opts, nil)
		}
		switch {
		case g.declared[name]:
			g.mustFail = append(g.mustFail, ErrDuplicateState)
		case fn == nil:
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
