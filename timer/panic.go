package timer

import (
	"fmt"
	"io"
	"runtime/debug"
)

// A PanicError is a callback panic the wheel recovered: the value passed
// to panic and the driver's stack where it happened. The wheel hands it to
// the [WithPanicHandler] function, or writes it to standard error.
type PanicError struct {
	Value any    // the value passed to panic
	Stack []byte // the driver goroutine's stack at the panic
}

// Error gives the panic's value; the stack is in Stack.
func (e *PanicError) Error() string {
	return fmt.Sprintf("timer: callback panicked: %v", e.Value)
}

// Unwrap returns the panic value if it is an error, so that [errors.Is]
// and [errors.As] see through a panic(err).
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// call runs f on the driver. A panic is recovered, counted, and handed as
// a *PanicError to w.onPanic (never nil: see newConfig), which recovers a
// panic of its own (see guardPanics).
func (w *Wheel) call(f Callback) {
	defer w.recovered()
	f.Fire()
}

// drop tells d that its timer was dropped, recovering a panic as call
// does (on the driver, or on the goroutine calling Wheel.Stop).
func (w *Wheel) drop(d Dropper) {
	defer w.recovered()
	d.Dropped()
}

// recovered, deferred, recovers a panic of call's or drop's and reports
// it.
func (w *Wheel) recovered() {
	if v := recover(); v != nil {
		w.panics.Add(1)
		w.onPanic(&PanicError{Value: v, Stack: debug.Stack()})
	}
}

// writePanic returns the default panic handler: it writes the panic and
// its stack to out (standard error), in one Write.
func writePanic(out io.Writer) func(*PanicError) {
	return func(e *PanicError) {
		fmt.Fprintf(out, "%v\n\n%s\n", e, e.Stack)
	}
}

// guardPanics wraps the handler of [WithPanicHandler]: a panic in f is
// recovered, and it and e (the panic f was handed) are written to out, in
// one Write, so that it neither ends the driver (and the program) nor
// escapes [Wheel.Stop] on its caller when f handles a Dropper's panic.
func guardPanics(f func(*PanicError), out io.Writer) func(*PanicError) {
	return func(e *PanicError) {
		defer func() {
			if v := recover(); v != nil {
				fmt.Fprintf(out, "timer: panic handler panicked: %v\n\n%s\nwhile handling %v\n\n%s\n", v, debug.Stack(), e, e.Stack)
			}
		}()
		f(e)
	}
}
