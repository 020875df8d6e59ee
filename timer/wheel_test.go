package timer

import (
	"errors"
	"math"
	"testing"
	"testing/synctest"
	"time"
	"unsafe"
)

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		opts []Option
		err  error
	}{
		{name: "defaults"},
		{name: "tick", opts: []Option{WithTick(time.Microsecond)}},
		{name: "nil panic handler", opts: []Option{WithPanicHandler(nil)}},
		{name: "zero tick", opts: []Option{WithTick(0)}, err: ErrInvalidOption},
		{name: "negative tick", opts: []Option{WithTick(-time.Second)}, err: ErrInvalidOption},
		{name: "nil option", opts: []Option{nil}, err: ErrInvalidOption},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := New(tt.opts...)
			if !errors.Is(err, tt.err) {
				t.Fatalf("New: got error %v; want %v", err, tt.err)
			}
			if err == nil {
				w.Stop()
			} else if w != nil {
				t.Fatalf("New: got a wheel with error %v", err)
			}
		})
	}
}

func TestTimerSize(t *testing.T) {
	if got := unsafe.Sizeof(Timer{}); got > 48 {
		t.Fatalf("Timer is %d bytes; want at most 48", got)
	}
}

// TestAllocs pins the operations that never allocate; AfterFunc's one
// allocation per timerSlab timers is TestSlabAllocs'.
func TestAllocs(t *testing.T) {
	w := newWheel(t)
	f := func() {}
	tm := mustAfter(t, w, time.Hour, f)
	tests := []struct {
		name string
		want float64
		op   func()
	}{
		{"Reset", 0, func() { tm.Reset(time.Hour) }},
		{"Stop", 0, func() { tm.Stop() }},
		{"Len", 0, func() { w.Len() }},
		{"Done", 0, func() { _ = w.Done() }},
	}
	for _, tt := range tests {
		if got := testing.AllocsPerRun(100, tt.op); got != tt.want {
			t.Errorf("%s: got %v allocs; want %v", tt.name, got, tt.want)
		}
	}
}

func TestAfterFuncErrors(t *testing.T) {
	w := newWheel(t)
	if tm, err := w.AfterFunc(time.Second, nil); !errors.Is(err, ErrNilFunc) || tm != nil {
		t.Fatalf("AfterFunc(nil): got %v, %v; want nil, %v", tm, err, ErrNilFunc)
	}
	w.Stop()
	if tm, err := w.AfterFunc(time.Second, func() {}); !errors.Is(err, ErrStopped) || tm != nil {
		t.Fatalf("AfterFunc after Stop: got %v, %v; want nil, %v", tm, err, ErrStopped)
	}
}

// Start arms a caller-owned (embedded) Timer without allocating, and it
// stops, resets and restarts like one from AfterFunc.
func TestStartEmbedded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, err := New()
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			w.Stop()
			<-w.Done()
		}()
		var o embedOwner
		if err := w.Start(&o.tm, time.Second, &o); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if o.fired != 1 {
			t.Fatalf("fired %d times; want 1", o.fired)
		}
		if err := w.Start(&o.tm, time.Second, &o); err != nil { // restart a fired timer
			t.Fatal(err)
		}
		if !o.tm.Stop() {
			t.Fatal("Stop of a started timer = false")
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if o.fired != 1 {
			t.Fatalf("a stopped timer fired: %d", o.fired)
		}
		if err := w.Start(&o.tm, time.Second, nil); !errors.Is(err, ErrNilFunc) {
			t.Fatalf("Start(nil f) = %v; want ErrNilFunc", err)
		}
		allocs := testing.AllocsPerRun(100, func() {
			_ = w.Start(&o.tm, time.Hour, &o)
			o.tm.Stop()
		})
		if allocs != 0 {
			t.Fatalf("Start+Stop allocated %v times; want 0", allocs)
		}
	})
}

// Deadline reports when a timer is due, rounded up to the tick.
func TestTimerDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		w, err := New(WithTick(10 * time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			w.Stop()
			<-w.Done()
		}()
		var zero Timer
		if !zero.Deadline().IsZero() {
			t.Fatal("a timer never started has a deadline")
		}
		start := time.Now()
		tm, _ := w.AfterFunc(25*time.Millisecond, func() {})
		if got, want := tm.Deadline(), start.Add(30*time.Millisecond); !got.Equal(want) {
			t.Fatalf("Deadline = %v; want %v (rounded up to the 10ms tick)", got.Sub(start), want.Sub(start))
		}
		tm.Stop()
	})
}

type embedOwner struct {
	tm    Timer
	fired int
}

func (o *embedOwner) Fire() { o.fired++ }

// Deadline of a timer due further than time.Duration reaches from the
// wheel's start (a call timeout of math.MaxInt64 meaning "none") is that
// far in the future, not wrapped around into the past.
func TestTimerDeadlineFar(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, tick := range []time.Duration{time.Millisecond, time.Second, 100 * time.Hour} {
			w, err := New(WithTick(tick))
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Hour)
			start := time.Now()
			var tm Timer
			if err := w.Start(&tm, math.MaxInt64, &embedOwner{}); err != nil {
				t.Fatal(err)
			}
			if got := tm.Deadline(); got.Sub(start) < math.MaxInt64-tick {
				t.Errorf("tick %v: Deadline is %v from now; want about %v (math.MaxInt64)", tick, got.Sub(start), time.Duration(math.MaxInt64))
			}
			tm.Stop()
			w.Stop()
			<-w.Done()
		}
	})
}
