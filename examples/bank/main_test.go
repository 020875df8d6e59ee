package main

import (
	"bytes"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, goleak.IgnoreCurrent()) }

func TestDemo(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out); err != nil {
		t.Fatalf("run: %v", err)
	}
	for _, want := range []string{
		"alice has 1000 after 100 concurrent deposits",
		"is overdraft: true",
		"PanicError: true",
		"alice still has 1000",
		"ErrTimeout: true",
		"ErrCallCycle: true", // "in under a second" is wall-clock: not asserted
		"bob found: true",
		"deposit to bob: actor: stopped",
		"runtime: actor not found",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}
