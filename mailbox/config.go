package mailbox

import (
	"fmt"
	"strings"
)

// Policy says what [Mailbox.Push] does when the mailbox is at capacity.
// Whatever the policy, if [Config.Live] is set, dead messages are discarded
// first to make room; the policy applies only if that frees nothing.
type Policy uint8

const (
	// Reject makes a Push on a full mailbox fail at once with [ErrFull].
	Reject Policy = iota

	// DropOldest makes a Push on a full mailbox evict the oldest user
	// message by arrival (a held message counts, and is the oldest if any
	// is held), enqueue the new one, and hand the evicted message to
	// [Config.OnDrop] on the pushing goroutine, outside the lock, before
	// Push returns.
	DropOldest

	// Block makes a Push on a full mailbox wait for space until its
	// context is done (Push then returns ctx.Err()) or the mailbox is
	// closed ([ErrClosed]). With a nil context it fails at once with
	// [ErrFull]. Blocked producers are not served in FIFO order.
	Block
)

// String returns "reject", "drop-oldest", "block", or "Policy(n)".
func (p Policy) String() string {
	switch p {
	case Reject:
		return "reject"
	case DropOldest:
		return "drop-oldest"
	case Block:
		return "block"
	}
	return fmt.Sprintf("Policy(%d)", uint8(p))
}

// Key identifies a kind of message for the admit filter
// ([Mailbox.Admit]). The actor layer uses one Key per method.
type Key uint64

// Config describes the mailboxes built from it. One Config is meant to be
// shared by many mailboxes (one per actor type or per runtime): [New] keeps
// the pointer, so the Config must not be modified after New.
//
// Key and Live are called with the mailbox's lock held: they must be cheap,
// must not block, and must not call back into the mailbox. OnDrop is called
// without the lock.
type Config[T any] struct {
	// Capacity is the maximum number of user messages, queued and held
	// together (dead ones included until discarded). 0 means unbounded.
	// System messages never count.
	Capacity int

	// Policy says what a Push does when Capacity is reached.
	Policy Policy

	// Key returns the kind of a message, for the admit filter. Required.
	Key func(T) Key

	// Live, if set, reports whether a message is still wanted: false
	// means it is dead (its caller gave up). When the mailbox is full,
	// dead messages are discarded (to OnExpire) before the Policy
	// applies, and [Mailbox.Held] does not count them. Pop still returns
	// dead messages that were not discarded: the consumer decides.
	Live func(T) bool

	// OnExpire, if set, receives each dead message discarded to make
	// room (see Live), so that nothing leaves the mailbox unseen. It runs
	// like OnDrop: on the pushing goroutine, before that Push returns,
	// without the lock. It must not panic.
	OnExpire func(T)

	// OnDrop, if set, receives each message evicted by [DropOldest].
	// It runs on the pushing goroutine, before that Push returns, without
	// the mailbox's lock. It must not panic.
	OnDrop func(T)

	// idleHook, if set, runs in Idle between seeing no work and storing
	// the idle flag. Tests of this package use it to push exactly in that
	// window.
	idleHook func()
}

// validate returns nil or an error wrapping ErrInvalidConfig that lists
// every problem.
func (c *Config[T]) validate() error {
	if c == nil {
		return fmt.Errorf("%w: nil config", ErrInvalidConfig)
	}
	var problems []string
	if c.Key == nil {
		problems = append(problems, "nil Key")
	}
	if c.Capacity < 0 {
		problems = append(problems, fmt.Sprintf("negative Capacity %d", c.Capacity))
	}
	if c.Policy > Block {
		problems = append(problems, fmt.Sprintf("unknown Policy %d", uint8(c.Policy)))
	}
	if problems != nil {
		return fmt.Errorf("%w: %s", ErrInvalidConfig, strings.Join(problems, "; "))
	}
	return nil
}
