package runtime

import "errors"

// Sentinel errors of this package. Spawns and calls on a closed runtime
// return actor.ErrStopped.
var (
	// ErrInvalidOption is wrapped by New when an option is out of range.
	ErrInvalidOption = errors.New("runtime: invalid option")
	// ErrNotFound: no running actor has that name.
	ErrNotFound = errors.New("runtime: actor not found")
	// ErrWrongType: the actor of that name has another state type.
	ErrWrongType = errors.New("runtime: actor has another state type")
)
