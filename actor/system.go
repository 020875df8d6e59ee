package actor

import (
	"context"
	"fmt"

	"github.com/troupe-go/troupe/internal/engine"
	"github.com/troupe-go/troupe/mailbox"
)

// Spawner is where actors are spawned: a *runtime.Runtime (a top-level
// actor), or a handler's [*Ctx] (a child of that handler's actor). It is
// sealed: its method takes a type only troupe's own packages can name.
type Spawner interface {
	Engine(engine.Seal) *engine.System
}

// unbounded is the config of every unbounded mailbox (the default): its
// OnDrop never runs, since nothing is evicted from a mailbox that is never
// full, so one config serves all.
var unbounded = &mailbox.Config[envelope]{Key: envelope.key, Live: envelope.live}

// mailboxConfig returns the mailbox config of c: the shared one if it is
// unbounded; else c's own, whose OnDrop reports the calls it evicts as c's.
func mailboxConfig(c *cell, capacity int, policy mailbox.Policy) *mailbox.Config[envelope] {
	if capacity == 0 {
		return unbounded
	}
	return &mailbox.Config[envelope]{
		Capacity: capacity,
		Policy:   policy,
		Key:      envelope.key,
		Live:     envelope.live,
		OnDrop:   func(e envelope) { e.fail(c, ErrDropped, engine.ReasonDropped) },
		OnExpire: func(e envelope) { e.fail(c, ErrTimeout, engine.ReasonExpired) },
	}
}

// StopError lists the actors that had not stopped when a Stop or Shutdown
// deadline passed, or runtime.Close's grace (the call timeout it gives
// running handlers). It unwraps to the ctx error
// (context.DeadlineExceeded).
type StopError struct {
	Actors []string // name or id of each late actor
	Err    error
}

// Error counts and names the late actors, and gives ctx's error.
func (e *StopError) Error() string {
	return fmt.Sprintf("actor: %d actor(s) did not stop in time %v: %v", len(e.Actors), e.Actors, e.Err)
}

// Unwrap returns Err, the ctx's error.
func (e *StopError) Unwrap() error { return e.Err }

// stopError is nil if no actor is late, else a *StopError with ctx's error.
func stopError(ctx context.Context, late []string) error {
	if len(late) == 0 {
		return nil
	}
	return &StopError{Actors: late, Err: ctx.Err()}
}
