package actor

import (
	"unsafe"

	"github.com/troupe-go/troupe/mailbox"
)

// message is what an envelope carries: a oneway (its *Method, or a
// *castMsg), a sync call (*call), a timer's tick (*timerMsg, or *tickHop
// for one that found its mailbox full: a system message) or a lifecycle
// system message (sysMsg). Implementations decide how an outcome reaches
// whoever waits for it.
type message interface {
	key() mailbox.Key
	name() string
	// live is false once nobody waits for the outcome (the caller gave up).
	live() bool
	// run executes on the actor's turn, given the envelope's payload. A
	// panic escapes to cell.process (or cell.invoke), where panics are
	// recovered.
	run(x *Ctx, p payload)
	// fail delivers an outcome other than a reply: the handler's
	// *PanicError (why is engine.ReasonFailed), or the reason it never ran
	// (stopped, dropped, expired, full). It reports the dead letter.
	fail(to *cell, p payload, err error, why uint8)
}

// envelope is the mailbox's element: 32 bytes, and no allocation for a
// oneway whose payload is one pointer or a small value without pointers
// (see cast.go). It does not name its actor (a consumer reading it from
// another core pays per byte): whoever fails it passes the cell.
//
// Its message is a pointer to an interface value kept in the message's
// own object (the self field of a Method, call, castMsg...; sysMsgs for
// the system messages), not the interface itself: 8 bytes instead of 16,
// which leaves room for a payload's pointer and 16 bytes of inline value
// in a 32-byte envelope. An envelope of 48 bytes (an interface, a payload
// interface and the inline words) cost oneways of pointers 8–11% on 1→1
// and 10–14% with 8 and 64 senders (measured, alternated A/B): more cache
// lines per message between the senders' cores and the actor's. The price
// here is one dependent load per message, from an object the actor reads
// anyway.
type envelope struct {
	msg *message
	payload
}

// payload is a oneway's request, where the envelope carries it (a call
// carries its own): p, if it is one pointer (a pointer, map, channel or
// func, alone or as a struct's only field); w, if it is a value of at most
// 16 bytes without pointers (see cast.go). Passed by value to run and
// fail: in registers, never through the heap.
type payload struct {
	p unsafe.Pointer
	w inline
}

func (e envelope) key() mailbox.Key { return (*e.msg).key() }
func (e envelope) name() string     { return (*e.msg).name() }
func (e envelope) live() bool       { return (*e.msg).live() }
func (e envelope) run(x *Ctx)       { (*e.msg).run(x, e.payload) }
func (e envelope) fail(to *cell, err error, why uint8) {
	(*e.msg).fail(to, e.payload, err, why)
}

// sysKey is the key of system messages; no method has it.
const sysKey mailbox.Key = 0

// sysMsg is a system-lane message: a lifecycle step run on the actor's
// turn, ahead of user calls and regardless of any whitelist. Nobody waits
// for its outcome: a panic in it (a hook's) is reported by cell.failed.
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

// sysMsgs holds each system message as a message, for envelopes to point
// to (see envelope).
var sysMsgs = [...]message{startedMsg, stoppingMsg, stopMsg, childGone, idleCheck}

// env is the envelope of m.
func (m sysMsg) env() envelope { return envelope{msg: &sysMsgs[m]} }

func (m sysMsg) key() mailbox.Key                  { return sysKey }
func (m sysMsg) name() string                      { return sysNames[m] }
func (m sysMsg) live() bool                        { return true }
func (m sysMsg) fail(*cell, payload, error, uint8) {}
func (m sysMsg) run(x *Ctx, _ payload) {
	c := x.c
	switch m {
	case startedMsg:
		// A kill before the first turn skips the hook, as a kill during a
		// restart's factory does (see Starter): the actor will run
		// nothing, and its Stopping hook still runs.
		if s, ok := c.state.(Starter); ok && c.status.Load() < statusKilling {
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
