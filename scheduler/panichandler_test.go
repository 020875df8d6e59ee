package scheduler

import (
	"strings"
	"testing"
	"testing/synctest"
)

// A panic handler that itself panics neither ends the program nor leaves
// the loop counted in: both panics go to standard error (testHooks.panicOut
// here), the turns queued behind the panicking one still run, and Close
// returns. The handler's panic escaped the loop's deferred recover, which
// skipped the loop's bookkeeping; ants recovered it and called the same
// handler, whose second panic ended the test binary.
func TestPanicHandlerPanics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var out strings.Builder
		s := newSched(t, WithPoolSize(1), WithMaxExtra(0),
			WithPanicHandler(func(v any) { panic("handler-value") }),
			optionFunc(func(c *config) { c.hooks.panicOut = &out }))
		schedule(t, s, funcRunner(func() { panic("turn-value") }))
		ran := scheduleMany(t, s, 3)
		waitFor(t, ran, "turns queued behind a turn whose panic handler panicked")
		s.Close()
		got := out.String()
		if !strings.Contains(got, "handler-value") || !strings.Contains(got, "turn-value") {
			t.Errorf("standard error got %q; want both panics", got)
		}
	})
}
