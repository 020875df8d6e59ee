package engine

// The reasons a message becomes a dead letter, in the order of
// runtime.Reason (a test there pins it).
const (
	ReasonFailed      uint8 = iota // a oneway handler returned an error or panicked
	ReasonStopped                  // refused by, or left over in, a stopping or stopped actor
	ReasonMailboxFull              // refused by a full mailbox
	ReasonDropped                  // evicted by a newer message (DropOldest)
	ReasonExpired                  // its caller gave up before it ran
	ReasonLate                     // its reply came after its caller gave up
	ReasonNoHandler                // no handler accepts it (reserved: nothing reports it)
	NumReasons        = iota
)

// DeadLetterFunc receives each dead letter: its reason, the actor's name
// (or "#id"), the method, the error and, for a oneway, its payload.
type DeadLetterFunc func(reason uint8, actor, method string, err error, payload any)
