package mailbox

import "errors"

// Sentinel errors returned by this package. Test for them with [errors.Is]:
// [New] wraps [ErrInvalidConfig] with the details of what is wrong.
var (
	// ErrFull is returned by [Mailbox.Push] when the mailbox is at capacity
	// and the policy is [Reject], or [Block] with a nil context; by
	// [Mailbox.TryPush] at capacity with Reject or Block; and by
	// [Mailbox.Offer] at capacity whatever the policy.
	ErrFull = errors.New("mailbox: full")

	// ErrClosed is returned by [Mailbox.Push] and [Mailbox.PushSystem]
	// after [Mailbox.Close], including to producers that were blocked
	// waiting for space when the mailbox was closed.
	ErrClosed = errors.New("mailbox: closed")

	// ErrInvalidConfig is wrapped by [New] when the [Config] is nil, has
	// a nil Key, a negative Capacity or an unknown Policy.
	ErrInvalidConfig = errors.New("mailbox: invalid config")
)
