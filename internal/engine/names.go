package engine

import (
	"context"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// MaxNameLen is the longest actor or method name, in bytes.
const MaxNameLen = 255

// ValidName reports whether name can name an actor or a method: not empty,
// at most MaxNameLen bytes, valid UTF-8, no control characters. The error
// wraps ErrInvalidName. O(len(name)).
func ValidName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty", ErrInvalidName)
	case len(name) > MaxNameLen:
		return fmt.Errorf("%w: %d bytes, over %d", ErrInvalidName, len(name), MaxNameLen)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: %q is not UTF-8", ErrInvalidName, name)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: %q has a control character", ErrInvalidName, name)
		}
	}
	return nil
}

// Names is the registry an actor's name lives in while it runs. The
// runtime's sharded registry implements it. The values are the actors'
// refs (*actor.Ref[S]); each has a Stopped() bool method.
type Names interface {
	// Register claims name for ref; it returns an error wrapping
	// ErrNameTaken if another actor holds it, running or stopping: a
	// name is held until its actor's end frees it (Unregister), just
	// before its Done closes.
	Register(name string, ref Stoppable) error
	// Unregister frees name if ref still holds it.
	Unregister(name string, ref Stoppable)
}

// Stoppable is a ref as the registry sees it.
type Stoppable interface {
	// Stopped reports whether the actor is stopping or stopped.
	Stopped() bool
	// Done is closed once the actor has stopped.
	Done() <-chan struct{}
	// WaitDone waits for Done or ctx's end, failing at once with an
	// error wrapping actor's ErrCallCycle where ctx is a handler's whose
	// turn the actor's stop waits for (see actor's Ref.WaitDone).
	WaitDone(_ Seal, ctx context.Context) error
}
