package scheduler

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// zeroCase is one call on a nil or zero value of an exported type (one
// not made by its constructor): it must give want (errors.Is; nil for a
// call that has no error to give, which checks its result itself),
// without a panic and without a hang.
type zeroCase struct {
	name string
	call func() error
	want error
}

func runZeroCases(t *testing.T, cases []zeroCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan struct{})
			var err error
			var pv any
			go func() {
				defer close(done)
				defer func() { pv = recover() }()
				err = tc.call()
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second): // a failure detector only: every case returns at once
				t.Fatalf("hung; want %v", tc.want)
			}
			if pv != nil {
				t.Fatalf("panicked: %v; want %v", pv, tc.want)
			}
			if tc.want == nil && err != nil || !errors.Is(err, tc.want) {
				t.Fatalf("got %v; want %v", err, tc.want)
			}
		})
	}
}

func is(got, want any) error {
	if got != want {
		return fmt.Errorf("got %v; want %v", got, want)
	}
	return nil
}

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
	runZeroCases(t, []zeroCase{
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
		{"Shutdown nil", func() error { return ns.Shutdown(bg) }, ErrClosed},
		{"Shutdown zero", func() error { return (&Scheduler{}).Shutdown(bg) }, ErrClosed},
		{"Close nil", func() error { ns.Close(); return nil }, nil},
		{"Close zero", func() error { (&Scheduler{}).Close(); return nil }, nil},
	})
}
