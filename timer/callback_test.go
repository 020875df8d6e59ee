package timer

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPanicRecovered(t *testing.T) {
	bubble(t, time.Hour, func(t *testing.T) {
		var seen rec[*PanicError]
		w := newWheel(t, WithPanicHandler(seen.add))
		bang := errors.New("bang")
		var fired rec[int]
		mustAfter(t, w, time.Millisecond, func() { fired.add(1) })
		mustAfter(t, w, 2*time.Millisecond, func() { panic("boom") })
		mustAfter(t, w, 2*time.Millisecond, func() { fired.add(2) })
		mustAfter(t, w, 3*time.Millisecond, func() { panic(fmt.Errorf("wrapped: %w", bang)) })
		mustAfter(t, w, 4*time.Millisecond, func() { fired.add(4) })
		time.Sleep(10 * time.Millisecond)
		got := seen.all()
		if w.Panics() != 2 || len(got) != 2 {
			t.Fatalf("panics: got %d, handler saw %d; want 2, 2", w.Panics(), len(got))
		}
		if got[0].Value != "boom" || got[0].Error() != "timer: callback panicked: boom" {
			t.Errorf("first panic: got value %v, error %q; want boom, %q",
				got[0].Value, got[0].Error(), "timer: callback panicked: boom")
		}
		if !errors.Is(got[1], bang) || errors.Unwrap(got[0]) != nil {
			t.Errorf("Unwrap: got %v, %v; want the panic's error, nil", errors.Unwrap(got[1]), errors.Unwrap(got[0]))
		}
		for _, pe := range got {
			if !strings.Contains(string(pe.Stack), "TestPanicRecovered") {
				t.Errorf("stack of %v does not name the panicking callback:\n%s", pe.Value, pe.Stack)
			}
		}
		if got := fired.all(); !slices.Equal(got, []int{1, 2, 4}) {
			t.Fatalf("fired: got %v; want [1 2 4]", got)
		}
	})
}

// Without a panic handler (or with a nil one) a recovered panic and its
// stack go to standard error, here a buffer set through the unexported
// config field.
func TestPanicDefaultWritesStderr(t *testing.T) {
	tests := []struct {
		name  string
		opts  []Option
		panic any
		want  string
	}{
		{"no handler", nil, "boom", "timer: callback panicked: boom\n\ngoroutine "},
		{"nil handler", []Option{WithPanicHandler(nil)}, "boom", "timer: callback panicked: boom\n\ngoroutine "},
		{"panic(nil)", nil, nil, "timer: callback panicked: panic called with nil argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bubble(t, time.Hour, func(t *testing.T) {
				var buf strings.Builder
				opts := append(tt.opts, optionFunc(func(c *config) { c.stderr = &buf }))
				w := newWheel(t, opts...)
				mustAfter(t, w, 0, func() { panic(tt.panic) })
				mustAfter(t, w, time.Second, func() {})
				time.Sleep(2 * time.Second)
				w.Stop()
				<-w.Done() // the driver's writes happen before
				if got := w.Panics(); got != 1 {
					t.Fatalf("Panics: got %d; want 1", got)
				}
				out := buf.String()
				if !strings.HasPrefix(out, tt.want) || !strings.Contains(out, "TestPanicDefaultWritesStderr") {
					t.Fatalf("stderr: got %q; want it to start with %q and hold the stack", out, tt.want)
				}
			})
		})
	}
}

func TestCallbacksUseTheWheel(t *testing.T) {
	bubble(t, time.Hour, func(t *testing.T) {
		w := newWheel(t)
		start := time.Now()
		var log rec[string]
		var victim, periodic *Timer
		var count int
		victim = mustAfter(t, w, 10*time.Millisecond, func() { log.add("victim") })
		mustAfter(t, w, time.Millisecond, func() {
			log.add("stopper")
			if !victim.Stop() {
				t.Errorf("Stop from a callback: got false; want true")
			}
			// Chain: add from inside a callback.
			mustAfter(t, w, time.Millisecond, func() { log.add("chained") })
		})
		var mu sync.Mutex
		mu.Lock()
		periodic = mustAfter(t, w, 5*time.Millisecond, func() {
			mu.Lock()
			defer mu.Unlock()
			count++
			if count < 3 {
				periodic.Reset(5 * time.Millisecond) // re-arm itself
			}
		})
		mu.Unlock()
		time.Sleep(time.Second)
		if got := log.all(); !slices.Equal(got, []string{"stopper", "chained"}) {
			t.Fatalf("log: got %v; want [stopper chained]", got)
		}
		mu.Lock()
		defer mu.Unlock()
		if count != 3 || time.Since(start) < 15*time.Millisecond {
			t.Fatalf("periodic: got %d fires; want 3", count)
		}
	})
}

// A panic handler that itself panics does not end the program: its panic
// is recovered and written to standard error (a buffer here) with the
// panic it was handling, and the driver goes on firing later timers. So
// does Wheel.Stop's caller when the handler panics on a Dropper's panic.
// The handler's panic used to escape the driver goroutine and end the
// program.
func TestPanicHandlerPanics(t *testing.T) {
	bubble(t, time.Hour, func(t *testing.T) {
		var buf strings.Builder
		w := newWheel(t, WithPanicHandler(func(e *PanicError) { panic(fmt.Sprint("handler-value:", e.Value)) }),
			optionFunc(func(c *config) { c.stderr = &buf }))
		var fired rec[int]
		mustAfter(t, w, time.Millisecond, func() { panic("callback-value") })
		mustAfter(t, w, 2*time.Millisecond, func() { fired.add(2) })
		mustAfter(t, w, 3*time.Millisecond, func() { panic("again") })
		mustAfter(t, w, 4*time.Millisecond, func() { fired.add(4) })
		time.Sleep(10 * time.Millisecond)
		if got := fired.all(); !slices.Equal(got, []int{2, 4}) {
			t.Errorf("fired after the handler panicked: got %v; want [2 4]", got)
		}
		p := &panicDropper{}
		if err := w.Start(&p.tm, time.Hour, p); err != nil {
			t.Fatal(err)
		}
		if n := w.Stop(); n != 1 {
			t.Errorf("Stop = %d; want 1", n)
		}
		<-w.Done()
		if got := w.Panics(); got != 3 {
			t.Errorf("Panics: got %d; want 3", got)
		}
		out := buf.String()
		for _, want := range []string{"handler-value:callback-value", "callback-value\n", "handler-value:again", "handler-value:dropped", "TestPanicHandlerPanics"} {
			if !strings.Contains(out, want) {
				t.Errorf("stderr: got %q; want it to hold %q", out, want)
			}
		}
	})
}
