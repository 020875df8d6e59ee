package main

import (
	"bytes"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m, goleak.IgnoreCurrent()) }

const want = `The flower's lifecycle:

---
title: flower
---
stateDiagram-v2
    [*] --> sprouting
    sprouting --> growing
    growing --> flowering
    growing --> withering: after 2s
    flowering --> dead
    flowering --> withering: after 2s
    withering --> dead
    dead --> [*]
    note right of flowering: admits water, pick

rose sprouts
rose grows: it needs 3 waterings within 2s
rose is watered (1/3)
picking the rose too early is refused: flower: growing → dead: fsm: invalid transition
rose is watered (2/3)
rose is watered (3/3)
rose flowers
rose dies in a vase
weed sprouts
weed grows: it needs 3 waterings within 2s
weed withers: 2s went by in growing
weed dies and goes back to the soil
the weed lived 2s
`

// The demo runs in a synctest bubble: the weed's season passes in fake
// time, instantly.
func TestDemo(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w := time.AfterFunc(time.Hour, func() { panic("watchdog: the demo deadlocked") })
		defer w.Stop()
		var out bytes.Buffer
		if err := run(&out); err != nil {
			t.Fatalf("run: %v", err)
		}
		if out.String() != want {
			t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
		}
	})
}
