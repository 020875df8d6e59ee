package timer

import (
	"errors"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// driverRunning reports whether a wheel driver goroutine exists, waiting
// up to a second for a new one to be scheduled (before it runs, its stack
// names only the go statement's wrapper).
func driverRunning() bool {
	buf := make([]byte, 1<<20)
	for range 1000 {
		if strings.Contains(string(buf[:runtime.Stack(buf, true)]), "timer.(*Wheel).run(") {
			return true
		}
		time.Sleep(time.Millisecond)
	}
	return false
}

func TestGoroutineLifecycle(t *testing.T) {
	before := goleak.IgnoreCurrent()
	w, err := New()
	if err != nil {
		t.Fatal(err)
	}
	if err := goleak.Find(before); err != nil {
		t.Fatalf("New started a goroutine: %v", err)
	}
	if w.Len() != 0 || w.Stop() != 0 {
		t.Fatalf("idle wheel: got Len %d; want 0", w.Len())
	}

	w, _ = New()
	tm := mustAfter(t, w, time.Hour, func() {})
	if !driverRunning() {
		t.Fatalf("no driver goroutine after the first AfterFunc")
	}
	tm.Stop()
	if got := w.Stop(); got != 0 {
		t.Fatalf("Stop: got %d; want 0", got)
	}
	<-w.Done()
	if err := goleak.Find(before); err != nil {
		t.Fatalf("driver still running after Stop: %v", err)
	}
}

func TestIdleDriverBlocksOnChannel(t *testing.T) {
	w := newWheel(t)
	done := make(chan struct{})
	mustAfter(t, w, 0, func() { close(done) })
	<-done
	// With nothing pending, the driver waits on its wake channel alone:
	// no ticker, no timer, no select.
	deadline := time.Now().Add(5 * time.Second)
	for {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		for g := range strings.SplitSeq(stacks, "\n\n") {
			if strings.Contains(g, "timer.(*sleeper).sleep") && strings.Contains(g, "[chan receive") {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("driver not blocked on a channel receive:\n%s", stacks)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestStop(t *testing.T) {
	bubble(t, time.Hour, func(t *testing.T) {
		w := newWheel(t)
		var fired atomic.Int32
		tm := mustAfter(t, w, time.Second, func() { fired.Add(1) })
		if w.Len() != 1 {
			t.Fatalf("Len: got %d; want 1", w.Len())
		}
		if !tm.Stop() {
			t.Fatalf("first Stop: got false; want true")
		}
		if tm.Stop() {
			t.Fatalf("second Stop: got true; want false")
		}
		if w.Len() != 0 {
			t.Fatalf("Len after Stop: got %d; want 0", w.Len())
		}
		tm2 := mustAfter(t, w, time.Second, func() { fired.Add(10) })
		time.Sleep(2 * time.Second)
		if got := fired.Load(); got != 10 {
			t.Fatalf("fired: got %d; want 10 (only the second timer)", got)
		}
		if tm2.Stop() {
			t.Fatalf("Stop after fire: got true; want false")
		}
	})
}

func TestReset(t *testing.T) {
	bubble(t, time.Hour, func(t *testing.T) {
		w := newWheel(t)
		start := time.Now()
		var fires rec[time.Duration]
		tm := mustAfter(t, w, time.Second, func() { fires.add(time.Since(start)) })

		if !tm.Reset(3 * time.Second) { // pending: true, deadline moves
			t.Fatalf("Reset of a pending timer: got false; want true")
		}
		time.Sleep(2 * time.Second)
		if got := fires.all(); len(got) != 0 {
			t.Fatalf("fired at %v; want at 3s after Reset", got)
		}
		time.Sleep(2 * time.Second)
		if tm.Reset(time.Second) { // fired: false, re-armed
			t.Fatalf("Reset after fire: got true; want false")
		}
		time.Sleep(2 * time.Second)
		if got := fires.all(); len(got) != 2 {
			t.Fatalf("fires: got %v; want [3s 5s]", got)
		}
		tm.Reset(time.Second)
		tm.Stop()
		if tm.Reset(time.Second) { // stopped: false, re-armed
			t.Fatalf("Reset after Stop: got true; want false")
		}
		time.Sleep(2 * time.Second)
		want := []time.Duration{3 * time.Second, 5 * time.Second, 7 * time.Second}
		if got := fires.all(); !slices.Equal(got, want) {
			t.Fatalf("fires: got %v; want %v", got, want)
		}
		tm.Reset(time.Second)
		if got := w.Stop(); got != 1 {
			t.Fatalf("wheel Stop: got %d; want 1", got)
		}
		if tm.Reset(time.Second) { // stopped wheel: false, nothing
			t.Fatalf("Reset on a stopped wheel: got true; want false")
		}
		if w.Len() != 0 || tm.Stop() {
			t.Fatalf("Reset on a stopped wheel re-armed the timer")
		}
	})
}

func TestWheelStop(t *testing.T) {
	bubble(t, time.Hour, func(t *testing.T) {
		before := goleak.IgnoreCurrent()
		w := newWheel(t)
		var fired atomic.Int32
		var timers []*Timer
		for i := range 100 {
			timers = append(timers, mustAfter(t, w, time.Duration(i)*time.Second, func() { fired.Add(1) }))
		}
		time.Sleep(10*time.Second + time.Millisecond) // 0s..10s have fired
		if got := w.Stop(); got != 89 {
			t.Fatalf("Stop: got %d; want 89", got)
		}
		<-w.Done()
		if err := goleak.Find(before); err != nil {
			t.Fatalf("driver still running after Stop: %v", err)
		}
		if got := w.Stop(); got != 0 {
			t.Fatalf("second Stop: got %d; want 0", got)
		}
		time.Sleep(time.Hour / 2)
		if got := fired.Load(); got != 11 {
			t.Fatalf("fired: got %d; want 11", got)
		}
		for _, tm := range timers {
			if tm.Stop() {
				t.Fatalf("Timer.Stop after wheel Stop: got true; want false")
			}
		}
		if _, err := w.AfterFunc(0, func() {}); !errors.Is(err, ErrStopped) {
			t.Fatalf("AfterFunc after Stop: got %v; want %v", err, ErrStopped)
		}
		if w.Len() != 0 {
			t.Fatalf("Len after Stop: got %d; want 0", w.Len())
		}
	})
}
