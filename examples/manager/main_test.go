package main

import (
	"bytes"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, goleak.IgnoreCurrent()) }

// The output is deterministic: whatever the interleaving of monitors,
// consumers and the management loop, every update is applied once, every
// read is consistent, and the audit holds exactly the updates sent during
// it, which run once it ends.
func TestDemo(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	const want = `monitors: 3 monitors cast 60 updates; 60 applied between management steps; total 234
reads:    2 consumers made 30 reads; 30 consistent (levels add up to the total, never mid-step)
audit:    only access_resources admitted: held map[update_resource:15] while 10 reads were served; levels unchanged: true
release:  15 held updates applied after the audit, each monitor's in order: true; total 293; held now map[]
stopped:  read after stop: actor: stopped
`
	if got := out.String(); got != want {
		t.Fatalf("output:\n%s\nwant:\n%s", got, want)
	}
}
