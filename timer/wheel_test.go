package timer

import (
	"errors"
	"strings"
	"testing"
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
	if got := unsafe.Sizeof(Timer{}); got > 64 {
		t.Fatalf("Timer is %d bytes; want at most 64", got)
	}
}

func TestAllocs(t *testing.T) {
	w := newWheel(t)
	f := func() {}
	tm := mustAfter(t, w, time.Hour, f)
	tests := []struct {
		name string
		want float64
		op   func()
	}{
		{"AfterFunc+Stop", 1, func() {
			t, _ := w.AfterFunc(time.Hour, f)
			t.Stop()
		}},
		{"Reset", 0, func() { tm.Reset(time.Hour) }},
		{"Stop", 0, func() { tm.Stop() }},
		{"Len", 0, func() { w.Len() }},
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

func TestZeroValuesPanic(t *testing.T) {
	tests := []struct {
		name string
		f    func()
	}{
		{"Wheel.AfterFunc", func() { new(Wheel).AfterFunc(0, func() {}) }},
		{"Timer.Stop", func() { new(Timer).Stop() }},
		{"Timer.Reset", func() { new(Timer).Reset(0) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				v, ok := recover().(string)
				if !ok || !strings.HasPrefix(v, "timer: ") {
					t.Fatalf("got panic %q; want one prefixed %q", v, "timer: ")
				}
			}()
			tt.f()
		})
	}
}
