// Package zerocase runs the zero-value tests of troupe's packages: calls
// on nil values, and on zero values of exported types (ones not made by
// their constructors), each of which must return its documented error at
// once, without a panic and without a hang. It imports nothing of ours,
// so that every package's internal tests can use it. Internal: no public
// API.
package zerocase

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// Case is one call on a nil or zero value: it must give Want (errors.Is;
// nil for a call that has no error to give, which checks its result
// itself), without a panic and without a hang.
type Case struct {
	Name string
	Call func() error
	Want error
}

// Run runs each case as a subtest. A package's tests declare their own
// case type of Case's fields, so that their tables may list them
// unkeyed.
func Run[C ~struct {
	Name string
	Call func() error
	Want error
}](t *testing.T, cases []C) {
	t.Helper()
	for _, c := range cases {
		tc := Case(c)
		t.Run(tc.Name, func(t *testing.T) {
			done := make(chan struct{})
			var err error
			var pv any
			go func() {
				defer close(done)
				defer func() { pv = recover() }()
				err = tc.Call()
			}()
			select {
			case <-done:
			case <-time.After(10 * time.Second): // a failure detector only: every case returns at once
				t.Fatalf("hung; want %v", tc.Want)
			}
			if pv != nil {
				t.Fatalf("panicked: %v; want %v", pv, tc.Want)
			}
			if tc.Want == nil && err != nil || !errors.Is(err, tc.Want) {
				t.Fatalf("got %v; want %v", err, tc.Want)
			}
		})
	}
}

// Is is a Case's check of a result that is not an error: nil if got ==
// want, else an error saying what it got.
func Is(got, want any) error {
	if got != want {
		return fmt.Errorf("got %v; want %v", got, want)
	}
	return nil
}
