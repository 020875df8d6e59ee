package actor

import (
	"context"
	"time"

	"github.com/troupe-go/troupe/mailbox"
)

// message is what an envelope carries: a oneway (the *Method itself), a
// sync call (*call), or a system message. Implementations decide how an
// outcome reaches whoever waits for it.
type message interface {
	key() mailbox.Key
	name() string
	// live is false once nobody waits for the outcome (the caller gave up).
	live() bool
	// run executes on the actor's turn. A panic escapes to cell.process
	// (or cell.invoke), where panics are recovered.
	run(x *Ctx, req any)
	// panicked delivers the outcome of a run that panicked.
	panicked(x *Ctx, req any, pe *PanicError)
	// fail delivers an outcome without running (stopped, dropped, full).
	fail(to *cell, req any, err error, why Reason)
	// callContext is the caller's ctx and its deadline (zero if none), for
	// Ctx.Context; a oneway has neither.
	callContext() (context.Context, time.Time)
}

// envelope is the mailbox's element: 32 bytes, no allocation for a oneway
// with a pointer payload. It does not name its actor (a consumer reading
// it from another core pays per byte): whoever fails it passes the cell.
type envelope struct {
	msg message
	req any // the oneway payload; a call carries its own
}

func (e envelope) key() mailbox.Key { return e.msg.key() }
func (e envelope) live() bool       { return e.msg.live() }
func (e envelope) fail(to *cell, err error, why Reason) {
	e.msg.fail(to, e.req, err, why)
}

// sysKey is the key of system messages; no method has it.
const sysKey mailbox.Key = 0

// sysMsg is a system-lane message: a function run on the actor's turn,
// ahead of user calls and regardless of any whitelist.
type sysMsg struct {
	label string
	f     func(x *Ctx)
}

func (m *sysMsg) key() mailbox.Key                          { return sysKey }
func (m *sysMsg) name() string                              { return m.label }
func (m *sysMsg) live() bool                                { return true }
func (m *sysMsg) run(x *Ctx, _ any)                         { m.f(x) }
func (m *sysMsg) panicked(*Ctx, any, *PanicError)           {}
func (m *sysMsg) fail(*cell, any, error, Reason)            {}
func (m *sysMsg) callContext() (context.Context, time.Time) { return nil, time.Time{} }

// stopMsg is a stop request: graceful (drain, then finalize) or now.
type stopMsg struct{ now bool }

// The two stop requests, allocated once.
var (
	stopGraceful = &stopMsg{}
	stopNow      = &stopMsg{now: true}
)

func (m *stopMsg) key() mailbox.Key                          { return sysKey }
func (m *stopMsg) name() string                              { return "stop" }
func (m *stopMsg) live() bool                                { return true }
func (m *stopMsg) panicked(*Ctx, any, *PanicError)           {}
func (m *stopMsg) fail(*cell, any, error, Reason)            {}
func (m *stopMsg) callContext() (context.Context, time.Time) { return nil, time.Time{} }
func (m *stopMsg) run(x *Ctx, _ any) {
	if m.now {
		x.c.finalize(nil)
	} else {
		x.c.draining = true
	}
}
