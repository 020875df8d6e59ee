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
// itself), without a panic and without a hang. An alias of an unnamed
// struct type, so that the packages' tables may list cases unkeyed (vet
// flags unkeyed literals of another package's named struct types).
type Case = struct {
	Name string
	Call func() error
	Want error
}

// Run runs each case as a subtest.
func Run(t *testing.T, cases []Case) {
	t.Helper()
	for _, tc := range cases {
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
