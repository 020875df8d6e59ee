package timer

import "errors"

// Sentinel errors returned by this package. Test for them with [errors.Is]:
// [New] wraps [ErrInvalidOption] with the details of what is wrong.
var (
	// ErrStopped is returned by [Wheel.AfterFunc], [Wheel.Start] and
	// [Wheel.Schedule] once [Wheel.Stop] has been called. It is returned
	// at once: scheduling never blocks on a stopped wheel.
	ErrStopped = errors.New("timer: wheel stopped")

	// ErrInvalidOption is wrapped by [New] when an option is nil or out of
	// range, such as a tick that is not positive.
	ErrInvalidOption = errors.New("timer: invalid option")

	// ErrNilFunc is returned by [Wheel.AfterFunc], [Wheel.Start] and
	// [Wheel.Schedule] when the callback is nil.
	ErrNilFunc = errors.New("timer: nil func")

	// ErrBadTimer is returned by [Wheel.Start] for a nil *Timer, or a
	// Timer last started on another Wheel. Nothing is armed.
	ErrBadTimer = errors.New("timer: nil timer, or a timer of another wheel")
)
