package actor

import (
	"fmt"

	"github.com/troupe-go/troupe/internal/engine"
	"github.com/troupe-go/troupe/mailbox"
)

// Overflow is what a full mailbox does with one more call.
type Overflow = mailbox.Policy

// The overflow policies of a bounded mailbox.
const (
	// Reject: the sender gets ErrMailboxFull at once.
	Reject = mailbox.Reject
	// DropOldest: the oldest queued call is evicted; its own caller gets
	// ErrDropped at once (a oneway goes to dead letters).
	DropOldest = mailbox.DropOldest
	// Block: the sender waits for room, bounded by its ctx (a Cast by the
	// runtime's call timeout), then gets ErrMailboxFull.
	Block = mailbox.Block
)

// Option configures Spawn.
type Option interface{ apply(*spawnConfig) }

type spawnConfig struct {
	name     string
	capacity int
	policy   mailbox.Policy
	sup      Supervision
	badName  bool
	idle     *idleSpec
	// idleTouched: the idle count restarts only on Ctx.TouchIdle.
	idleTouched bool
	// restarting, set by pools for their workers, is told when a panic
	// has the actor restart (before its backoff), on the actor's turn.
	restarting func()
	// admitted, set by Balancing pools for their workers, is told when
	// the actor's whitelist changed, on the actor's turn.
	admitted func()
	// onTurn, set by pools for their workers, reports whether a stop
	// must finalize the actor on its own turn (see supervisor.onTurn).
	onTurn func() bool
}

type optionFunc func(*spawnConfig)

func (f optionFunc) apply(c *spawnConfig) { f(c) }

// WithName registers the actor under name in the runtime's registry until
// it has stopped: it is freed as Done closes, not when the actor begins
// stopping (see runtime.Lookup). The name must be free (else
// ErrNameTaken, also while the actor that held it is stopping),
// non-empty, at most 255 bytes of UTF-8 without control characters (else
// ErrInvalidName).
func WithName(name string) Option {
	return optionFunc(func(c *spawnConfig) { c.name, c.badName = name, name == "" })
}

// WithMailbox bounds the mailbox to capacity calls (queued plus held by a
// whitelist) with the given overflow policy. The default is unbounded.
func WithMailbox(capacity int, policy Overflow) Option {
	return optionFunc(func(c *spawnConfig) { c.capacity, c.policy = capacity, policy })
}

func (c *spawnConfig) validate() error {
	if c.name != "" || c.badName {
		if err := engine.ValidName(c.name); err != nil {
			return err
		}
	}
	if c.capacity < 0 {
		return fmt.Errorf("%w: mailbox capacity %d < 0", ErrInvalidOption, c.capacity)
	}
	if c.policy > Block {
		return fmt.Errorf("%w: unknown overflow policy %d", ErrInvalidOption, c.policy)
	}
	return c.sup.validate()
}
