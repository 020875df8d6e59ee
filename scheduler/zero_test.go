package scheduler

import (
	"context"
	"testing"

	"github.com/troupe-go/troupe/internal/zerocase"
)

var is = zerocase.Is

type nopRunner struct{}

func (nopRunner) Run(int) bool { return false }
func (nopRunner) Abort()       {}

// TestZeroValues calls every exported method with a pointer receiver on a
// nil and a zero value: a nil or zero Scheduler binds no task (Schedule
// refuses, nothing queued to never run) and is closed. Add a case here
// with every new exported method.
func TestZeroValues(t *testing.T) {
	var ns *Scheduler
	bg := context.Background()
	zerocase.Run(t, []zerocase.Case{
		{"New nil option", func() error {
			s, err := New(nil)
			if s != nil {
				s.Close()
			}
			return err
		}, ErrInvalidOption},
		{"Throughput nil", func() error { return is(ns.Throughput(), 0) }, nil},
		{"Throughput zero", func() error { return is((&Scheduler{}).Throughput(), 0) }, nil},
		{"NewTask nil", func() error { return ns.Schedule(ns.NewTask(nopRunner{})) }, ErrInvalidTask},
		{"NewTask zero", func() error { z := &Scheduler{}; return z.Schedule(z.NewTask(nopRunner{})) }, ErrInvalidTask},
		{"InitTask nil", func() error { var tk Task; ns.InitTask(&tk, nopRunner{}); return ns.Schedule(&tk) }, ErrInvalidTask},
		{"InitTask zero", func() error { var tk Task; z := &Scheduler{}; z.InitTask(&tk, nopRunner{}); return z.Schedule(&tk) }, ErrInvalidTask},
		{"InitTask nil task", func() error { ns.InitTask(nil, nopRunner{}); (&Scheduler{}).InitTask(nil, nopRunner{}); return nil }, nil},
		{"Schedule nil zero task", func() error { return ns.Schedule(&Task{}) }, ErrInvalidTask},
		{"Running nil", func() error { return is(ns.Running(), 0) }, nil},
		{"Running zero", func() error { return is((&Scheduler{}).Running(), 0) }, nil},
		{"Block Unblock nil", func() error { ns.Block(); ns.Unblock(); return nil }, nil},
		{"Block Unblock zero", func() error { z := &Scheduler{}; z.Block(); z.Unblock(); return nil }, nil},
		// The type's doc: they do nothing, so an Unblock alone does not
		// panic either (it panicked on a zero Scheduler, which counted).
		{"Unblock alone nil", func() error { ns.Unblock(); return nil }, nil},
		{"Unblock alone zero", func() error { (&Scheduler{}).Unblock(); return nil }, nil},
		{"Shutdown nil", func() error { return ns.Shutdown(bg) }, ErrClosed},
		{"Shutdown zero", func() error { return (&Scheduler{}).Shutdown(bg) }, ErrClosed},
		{"Close nil", func() error { ns.Close(); return nil }, nil},
		{"Close zero", func() error { (&Scheduler{}).Close(); return nil }, nil},
	})
}
