package actor

import "fmt"

// Reason says why a message became a dead letter.
type Reason uint8

// The reasons a message is reported to the dead-letter sink.
const (
	// ReasonFailed: a oneway handler returned an error or panicked.
	ReasonFailed Reason = iota
	// ReasonStopped: the message reached a stopping or stopped actor, or
	// was still queued (or held by a whitelist) when the actor stopped.
	ReasonStopped
	// ReasonMailboxFull: the message was refused by a full mailbox.
	ReasonMailboxFull
	// ReasonDropped: the message was evicted by a newer one (DropOldest).
	ReasonDropped
	// ReasonExpired: the caller gave up (deadline or cancel) before the
	// actor started the call; it was never run.
	ReasonExpired
	// ReasonLate: the handler finished after its caller gave up; the reply
	// was discarded.
	ReasonLate
	// ReasonNoHandler: no handler accepts the message (fsm: no state takes it).
	ReasonNoHandler
	numReasons
)

// NumReasons is the number of [Reason] values, for counters.
const NumReasons = int(numReasons)

var reasonNames = [...]string{"failed", "stopped", "mailbox full", "dropped", "expired", "late", "no handler"}

func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return fmt.Sprintf("Reason(%d)", r)
}

// DeadLetter describes a message that was not (or not successfully)
// delivered and that no caller is waiting to hear about, or a sync call
// whose caller was told but the runtime counts anyway (expired, late).
type DeadLetter struct {
	Reason  Reason
	Actor   string // the target's name, or "#id" if anonymous
	Method  string
	Err     error // the handler's error, *PanicError, or the sentinel
	Payload any   // the request, if the message was a oneway
}

func (d DeadLetter) String() string {
	if d.Err != nil {
		return fmt.Sprintf("dead letter (%s) to %s.%s: %v", d.Reason, d.Actor, d.Method, d.Err)
	}
	return fmt.Sprintf("dead letter (%s) to %s.%s", d.Reason, d.Actor, d.Method)
}

// deadLetter reports d to the system's sink, if any.
func (s *System) deadLetter(d DeadLetter) {
	if f := s.cfg.DeadLetter; f != nil {
		f(d)
	}
}
