package runtime

import (
	"fmt"

	"github.com/troupe-go/troupe/internal/engine"
)

// Reason says why a message became a dead letter.
type Reason uint8

// The reasons a message is reported to the dead-letter sink.
const (
	// ReasonFailed: a oneway handler returned an error or panicked (or a
	// lifecycle hook did).
	ReasonFailed Reason = Reason(engine.ReasonFailed)
	// ReasonStopped: the message reached a stopping or stopped actor, or
	// was still queued (or held by a whitelist) when the actor stopped.
	ReasonStopped Reason = Reason(engine.ReasonStopped)
	// ReasonMailboxFull: the message was refused by a full mailbox.
	ReasonMailboxFull Reason = Reason(engine.ReasonMailboxFull)
	// ReasonDropped: the message was evicted by a newer one (DropOldest).
	ReasonDropped Reason = Reason(engine.ReasonDropped)
	// ReasonExpired: the caller gave up (deadline or cancel) before the
	// actor started the call; it was never run.
	ReasonExpired Reason = Reason(engine.ReasonExpired)
	// ReasonLate: the handler finished after its caller gave up; the reply
	// was discarded.
	ReasonLate Reason = Reason(engine.ReasonLate)
	// ReasonNoHandler: no handler accepts the message. Reserved: troupe's
	// own packages never report it (an fsm transition refused with no
	// caller to tell is a ReasonFailed dead letter whose error matches
	// fsm.ErrInvalidTransition).
	ReasonNoHandler Reason = Reason(engine.ReasonNoHandler)
)

var reasonNames = [engine.NumReasons]string{"failed", "stopped", "mailbox full", "dropped", "expired", "late", "no handler"}

// String returns the reason in words ("mailbox full").
func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("Reason(%d)", uint8(r))
}

// DeadLetter describes a message that was not (or not successfully)
// delivered and that no caller is waiting to hear about, or a sync call
// whose caller was told but that the runtime counts anyway (expired, late,
// stopped), so that the counters add up.
type DeadLetter struct {
	Reason  Reason
	Actor   string // the target's name, or "#id" if anonymous
	Method  string
	Err     error // the handler's error, *actor.PanicError, or the sentinel
	Payload any   // the request, if the message was a oneway
}

// String is a one-line description, for logs.
func (d DeadLetter) String() string {
	if d.Err != nil {
		return fmt.Sprintf("dead letter (%s) to %s.%s: %v", d.Reason, d.Actor, d.Method, d.Err)
	}
	return fmt.Sprintf("dead letter (%s) to %s.%s", d.Reason, d.Actor, d.Method)
}
