package actor

import (
	"github.com/troupe-go/troupe/mailbox"
)

// message is what an envelope carries: a oneway (the *Method itself), a
// sync call (*call), a timer's tick (*timerMsg) or a system message
// (*sysMsg). Implementations decide how an outcome reaches whoever waits
// for it.
type message interface {
	key() mailbox.Key
	name() string
	// live is false once nobody waits for the outcome (the caller gave up).
	live() bool
	// run executes on the actor's turn. A panic escapes to cell.process
	// (or cell.invoke), where panics are recovered.
	run(x *Ctx, req any)
	// fail delivers an outcome other than a reply: the handler's
	// *PanicError (why is engine.ReasonFailed), or the reason it never ran
	// (stopped, dropped, expired, full). It reports the dead letter.
	fail(to *cell, req any, err error, why uint8)
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
func (e envelope) fail(to *cell, err error, why uint8) {
	e.msg.fail(to, e.req, err, why)
}

// sysKey is the key of system messages; no method has it.
const sysKey mailbox.Key = 0

// sysMsg is a system-lane message: a lifecycle step run on the actor's
// turn, ahead of user calls and regardless of any whitelist. Nobody waits
// for its outcome: a panic in it (a hook's) is reported by cell.failed.
// A byte in an interface does not allocate.
type sysMsg uint8

// The system messages; see lifecycle.go.
const (
	startedMsg  sysMsg = iota // run the Started hook
	stoppingMsg               // run the Stopping hook
	stopMsg                   // a stop was requested
	childGone                 // a child finalized
	idleCheck                 // the idle timeout fired
)

var sysNames = [...]string{"started", "stopping", "stop", "child stopped", "idle"}

func (m sysMsg) key() mailbox.Key              { return sysKey }
func (m sysMsg) name() string                  { return sysNames[m] }
func (m sysMsg) live() bool                    { return true }
func (m sysMsg) fail(*cell, any, error, uint8) {}
func (m sysMsg) run(x *Ctx, _ any) {
	c := x.c
	switch m {
	case startedMsg:
		if s, ok := c.state.(Starter); ok {
			s.Started(x)
		}
	case stoppingMsg:
		if s, ok := c.state.(Stopper); ok {
			s.Stopping(x)
		}
	case stopMsg:
		c.onStop()
	case childGone:
		if c.kidsAsked {
			c.askChildren()
		}
	case idleCheck:
		c.checkIdle()
	}
}
