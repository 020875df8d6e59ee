package remote

import "github.com/nats-io/nats.go"

// Authorizer decides whether a request may reach the exported actor. It
// gets the export's name, the method's name and the request's headers —
// not its body, which is not decoded yet — and returns nil to let it
// through, or an error to refuse it (ErrUnauthorized, with the error's
// text, goes to the caller).
type Authorizer func(name, method string, h nats.Header) error

// Why a node refused or dropped a message (Refusal.Reason).
const (
	ReasonTooLarge     = "too_large"    // request over WithMaxMessage, or reply over it (either side)
	ReasonUnauthorized = "unauthorized" // the Authorizer refused it
	ReasonExpired      = "expired"      // deadline already passed on arrival: dropped before decoding, no reply
	ReasonCancelled    = "cancelled"    // its caller's cancel arrived first: dropped before it ran, no reply
	ReasonMalformed    = "malformed"    // could not be decoded, or unknown codec
	ReasonCycle        = "cycle"        // would close a call cycle
	ReasonCastFailed   = "cast_failed"  // a remote Cast could not be queued (stopped, mailbox full), or casts were lost (or, at the stop, may have been) on the connection
	ReasonLate         = "late"         // a reply for a caller that had given up: discarded
	ReasonClosing      = "closing"      // arrived while the node was closing
	ReasonNameLost     = "name_lost"    // a claimed name was taken over or deleted: its actor is killed; or a message to it (on arrival, or a call, cast or stream open on its turn), or a stream's item or end, was refused (ErrNotFound to its caller or reader) as its claim's lease had run out unrefreshed
	ReasonDropped      = "dropped"      // nats.go dropped messages of a subscription too slow to keep up, or another async error
)

// Refusal is a message a node refused, dropped or discarded, passed to the
// hook of WithRefusalHook.
type Refusal struct {
	Reason string // one of the Reason constants
	Name   string // the export's name ("" for a late reply on the caller's side, and for casts that may have been lost with a connection: to any name)
	Method string
	Err    error // what the caller got, if anything
}

func (n *Node) refuse(r Refusal) {
	n.refusals.Add(1)
	if f := n.cfg.refused; f != nil {
		f(r)
	}
}
