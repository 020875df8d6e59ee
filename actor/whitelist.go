package actor

import (
	"fmt"
	"slices"

	"github.com/troupe-go/troupe/internal/nilness"
	"github.com/troupe-go/troupe/mailbox"
)

// Admitter is a method as a whitelist sees it: every *Method and every
// *Stream is one, and nothing else (the interface is sealed).
type Admitter interface {
	Name() string
	// Accepts reports whether the method can run on an actor with this
	// state (a typed nil works: it checks the type only).
	Accepts(state any) bool
	key() mailbox.Key
}

// Accepts reports whether m can run on an actor with this state; only the
// state's type matters.
func (m *Method[S, Q, R]) Accepts(state any) bool {
	_, ok := state.(S)
	return ok
}

// keysFor checks that every method belongs to state's actor type and
// returns their keys.
func keysFor(state any, methods []Admitter) ([]mailbox.Key, error) {
	keys := make([]mailbox.Key, 0, len(methods))
	for _, m := range methods {
		if m == nil || nilness.Is(m) || m.key() == sysKey {
			return nil, fmt.Errorf("%w: nil or zero method in whitelist", ErrNilHandler)
		}
		if !m.Accepts(state) {
			return nil, fmt.Errorf("%w: %s cannot run on %T", ErrWrongActor, m.Name(), state)
		}
		keys = append(keys, m.key())
	}
	return keys, nil
}

// Only restricts the actor, from its next message on, to the given methods:
// every other call is held, in arrival order, until a later Only or AdmitAll
// admits it, a restart lifts the whitelist (the fresh state starts with
// none), its deadline passes (its caller gets ErrTimeout and it never
// runs), or the actor stops (its caller gets ErrStopped; a held oneway goes
// to dead letters). Held calls count toward the mailbox capacity: a
// DropOldest mailbox evicts a held call like any other when it is the
// oldest (ErrDropped), and a Reject or Block one refuses or holds up new
// calls, admitted ones too, while held calls fill it. System
// messages (stop, restarts) ignore the whitelist. Only with no methods holds
// every call. It fails with ErrWrongActor if a method belongs to another
// actor type, or ErrNilHandler if one is nil or zero (not made by
// NewMethod, NewDeferred or NewStream), leaving the whitelist as it was
// (ErrNilContext for a nil or zero Ctx). Cost: O(len(methods)).
func (x *Ctx) Only(methods ...Admitter) error {
	if x == nil || x.c == nil {
		return ErrNilContext
	}
	keys, err := keysFor(x.c.state, methods)
	if err != nil {
		return err
	}
	x.c.admit = &keys
	x.c.applyAdmit()
	return nil
}

// AdmitAll lifts the whitelist: held calls run next, in arrival order,
// before newer ones.
func (x *Ctx) AdmitAll() {
	if x == nil || x.c == nil {
		return
	}
	x.c.admit = nil
	x.c.applyAdmit()
}

// applyAdmit sets the mailbox's filter to the actor's whitelist, unless a
// running Process's Admitting sets it aside: that Process admits only its
// own methods until it returns, and then restoreAdmit puts the whitelist
// (as the handlers left it) in place. Nor once a stop has settled its
// queue (see settle): it lifted the mailbox's filter once, and nothing
// would lift it again, so a handler the stop still runs (a Go result,
// say) that restricts the whitelist does not hold what comes next (the
// mailbox would never be empty, and the stop would never end): what the
// whitelist does not admit is failed instead (see holds), as the stop
// fails what it held. On the actor's turn.
func (c *cell) applyAdmit() {
	if c.owner != nil && c.owner.filtered || c.kidsAsked {
		return
	}
	if c.admit == nil {
		c.mb.AdmitAll()
	} else {
		c.mb.Admit(*c.admit...)
	}
	c.admitChanged()
}

// admitChanged tells whoever asked (a Balancing pool, of its worker) that
// the mailbox's filter changed. On the actor's turn.
func (c *cell) admitChanged() {
	if c.sup != nil && c.sup.admitted != nil {
		c.sup.admitted()
	}
}

// held counts held calls per method name.
func (c *cell) held() map[string]int {
	out := make(map[string]int)
	c.mb.HeldEach(func(e envelope) { out[e.name()]++ })
	return out
}

// holds reports whether the actor's whitelist, or the Admitting filter of
// the Process running it, holds e back. A stopping actor that has settled
// its queue lifts its mailbox's filter and fails what this reports (see
// settle).
func (c *cell) holds(e envelope) bool {
	if c.admit != nil && !slices.Contains(*c.admit, e.key()) {
		return true
	}
	o := c.owner
	return o != nil && o.filtered && !slices.Contains(o.only, e.key())
}

// filtering reports whether the mailbox's filter holds calls back: the
// actor's whitelist, or a running Process's Admitting.
func (c *cell) filtering() bool {
	return c.admit != nil || c.owner != nil && c.owner.filtered
}

// restoreAdmit puts back the actor's own whitelist after a Process that had
// one for the call. Once a stop has begun, the Process's filter stays, as
// the stop found it: the stop's turns (see settle) lift the mailbox's
// filter and fail what it held, and a Process that returns midway (its
// budget spent) must not make those calls run or hold them again.
func (c *cell) restoreAdmit() {
	if c.status.Load() >= statusStopping {
		return
	}
	c.owner.only, c.owner.filtered = nil, false
	c.applyAdmit()
}
