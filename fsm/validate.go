package fsm

import (
	"fmt"
	"reflect"
	"slices"

	"github.com/troupe-go/troupe/actor"
	troupeengine "github.com/troupe-go/troupe/internal/engine"
	"github.com/troupe-go/troupe/internal/nilness"
)

// validator turns a definition's entries into states, collecting every
// problem instead of stopping at the first: a definition is fixed once,
// by reading all of them.
type validator[S Host[P], P comparable] struct {
	d        *Definition[S, P]
	problems []error
	specs    map[P]*stateSpec // the options of each state, until resolved
	dups     []declared[S, P] // states declared again, checked but not kept
}

// declared is a state entry and its options, until resolved.
type declared[S Host[P], P comparable] struct {
	st *stateDef[S, P]
	sp *stateSpec
}

func problemf(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{sentinel}, args...)...)
}

func (v *validator[S, P]) add(sentinel error, format string, args ...any) {
	v.problems = append(v.problems, problemf(sentinel, format, args...))
}

func (v *validator[S, P]) run(entries []*stateOpt[S, P]) {
	d := v.d
	if err := troupeengine.ValidName(d.name); err != nil {
		v.add(ErrInvalidOption, "definition name: %w", err)
	}
	v.specs = make(map[P]*stateSpec, len(entries))
	for _, e := range entries {
		v.declare(e)
	}
	for _, p := range d.order {
		v.resolve(d.states[p], v.specs[p])
	}
	for _, e := range v.dups {
		v.resolve(e.st, e.sp) // its problems too, against the declared states
	}
	root, known := d.initial, hashable(d.initial) && d.states[d.initial] != nil
	if !known {
		v.add(ErrUnknownState, "initial state %v is not declared", d.initial)
		if len(d.order) > 0 {
			root = d.order[0] // so the other problems still show
		}
	}
	v.reach(root)
}

// declare records one state entry, its duplicates and nil function. A
// duplicate is kept aside, not in the table, so that resolve still reports
// its own problems.
func (v *validator[S, P]) declare(e *stateOpt[S, P]) {
	d := v.d
	if !hashable(e.name) {
		v.add(ErrUnknownState, "state %v of type %T cannot be compared", e.name, e.name)
		return
	}
	_, dup := d.states[e.name]
	if dup {
		v.add(ErrDuplicateState, "state %v is declared twice", e.name)
	}
	if e.fn == nil {
		v.add(ErrNilStateFunc, "state %v", e.name)
	}
	sp := &stateSpec{}
	for i, o := range e.opts {
		if o == nil {
			v.add(ErrInvalidOption, "state %v: option %d is nil", e.name, i)
			continue
		}
		o.applyState(sp)
	}
	st := &stateDef[S, P]{name: e.name, fn: e.fn, arg: e.arg, terminal: sp.terminal}
	if dup {
		v.dups = append(v.dups, declared[S, P]{st, sp})
		return
	}
	d.states[e.name] = st
	d.order = append(d.order, e.name)
	v.specs[e.name] = sp
}

// hashable reports whether p can be a map key and be found there again:
// a value holding an uncomparable one in an interface (an interface P, or
// a struct or array P with an interface field) cannot be a key, and a
// value not equal to itself (a NaN, or a struct or interface holding one)
// is never found, so its state would have no entry in the table.
func hashable[P comparable](p P) bool {
	if !reflect.ValueOf(&p).Elem().Comparable() { // looks through interfaces, fields, elements
		return false
	}
	return p == p // false for a NaN
}

// resolve checks a state's exits, timeout and admit set.
func (v *validator[S, P]) resolve(st *stateDef[S, P], sp *stateSpec) {
	for _, raw := range sp.exits {
		to, err := v.target(raw)
		if err != nil {
			v.add(ErrUnknownTarget, "state %v: exit %v", st.name, err)
			continue
		}
		if !slices.Contains(st.exits, to) {
			st.exits = append(st.exits, to)
		}
	}
	// Both count the exits as written, resolved or not: an unknown target
	// is its own problem, and declaring it must not reveal another.
	switch {
	case st.terminal && len(sp.exits) > 0:
		v.add(ErrTerminalExits, "state %v is marked Terminal but has %d exit(s)", st.name, len(sp.exits))
	case !st.terminal && len(sp.exits) == 0:
		v.add(ErrDeadEnd, "state %v has no exits and is not marked Terminal", st.name)
	}
	if len(sp.timeouts) > 1 {
		v.add(ErrInvalidOption, "state %v has %d timeouts; at most one", st.name, len(sp.timeouts))
	}
	for _, t := range sp.timeouts {
		if t.d < 0 {
			v.add(ErrNegativeDuration, "state %v: %v", st.name, t.d)
		}
		to, err := v.target(t.to)
		if err != nil || st.terminal || !slices.Contains(st.exits, to) {
			// A Terminal state has no exits (its own are a problem above),
			// so no target can be one of them.
			v.add(ErrTimeoutTarget, "state %v: timeout target %v is not among its exits", st.name, describe[P](t.to))
			continue
		}
		st.timeout, st.timeoutTo, st.timed = t.d, to, true
	}
	if sp.admitSet {
		v.admit(st, sp.admit)
	}
}

// target converts an exit to a declared state.
func (v *validator[S, P]) target(raw any) (P, error) {
	to, ok := raw.(P)
	switch {
	case !ok || !hashable(to):
		return to, fmt.Errorf("%s is not a state", describe[P](raw))
	case v.d.states[to] == nil:
		return to, fmt.Errorf("%v is not a declared state", raw)
	}
	return to, nil
}

// describe shows a state value, with its type if it is not a P (a
// To("x") of untyped constants makes strings, not a P).
func describe[P any](raw any) string {
	if _, ok := raw.(P); ok {
		return fmt.Sprint(raw)
	}
	return fmt.Sprintf("%v (a %T, not a %v)", raw, raw, reflect.TypeFor[P]())
}

// admit checks an admit set against the actor type: a typed nil S is
// enough for Accepts.
func (v *validator[S, P]) admit(st *stateDef[S, P], methods []actor.Admitter) {
	var zero S
	st.admitSet = true
	st.admit = make([]actor.Admitter, 0, len(methods)+2)
	v.d.admits = true
	for i, m := range methods {
		switch {
		case m == nil || nilness.Is(m):
			v.add(ErrInvalidOption, "state %v: admitted method %d is nil", st.name, i)
		case zeroAdmitter(m):
			v.add(ErrInvalidOption, "state %v: admitted method %d is a zero %T, not made by actor.NewMethod or NewStream", st.name, i, m)
		case !m.Accepts(zero):
			v.add(ErrWrongActor, "state %v: %s cannot run on %T", st.name, m.Name(), zero)
		default:
			st.admit = append(st.admit, m)
		}
	}
}

// zeroAdmitter reports whether m, not nil, points to a zero value: a
// Method or Stream not made by its constructor, which has no key, so
// actor.Ctx.Only refuses it (and the state's admit set would never be put
// in force). Only package actor's pointer types are Admitters, and their
// fields are unexported: one made by a constructor is never all zero.
func zeroAdmitter(m actor.Admitter) bool {
	rv := reflect.ValueOf(m)
	return rv.Kind() == reflect.Pointer && rv.Elem().IsZero()
}

// reach reports every state no chain of exits leads to from root.
func (v *validator[S, P]) reach(root P) {
	d := v.d
	if !hashable(root) || d.states[root] == nil {
		return
	}
	seen := map[P]bool{root: true}
	stack := []P{root}
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, to := range d.states[p].exits {
			if !seen[to] {
				seen[to] = true
				stack = append(stack, to)
			}
		}
	}
	for _, p := range d.order {
		if !seen[p] {
			v.add(ErrUnreachable, "state %v cannot be reached from %v", p, root)
		}
	}
}
