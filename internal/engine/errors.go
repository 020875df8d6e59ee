package engine

import "errors"

// The sentinels both actor and runtime return; actor re-exports them under
// the same names.
var (
	// ErrStopped: the actor is stopping or stopped, or the runtime is closed.
	ErrStopped = errors.New("actor: stopped")
	// ErrInvalidOption: an option out of range.
	ErrInvalidOption = errors.New("actor: invalid option")
	// ErrInvalidName: a method or actor name that is empty, longer than
	// MaxNameLen bytes, or holds control characters.
	ErrInvalidName = errors.New("actor: invalid name")
	// ErrNameTaken: an actor with that name is already running.
	ErrNameTaken = errors.New("actor: name taken")
)
