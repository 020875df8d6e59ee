package timer

import (
	"sync/atomic"
	"testing"
	"unsafe"
)

// TestSetWheelUnshared: the plain store AfterFunc makes into Timer.w (see
// setWheelUnshared) writes the word atomic.Pointer's Load reads: a
// pointer-sized struct whose one field is at offset 0.
func TestSetWheelUnshared(t *testing.T) {
	if s := unsafe.Sizeof(atomic.Pointer[Wheel]{}); s != unsafe.Sizeof(unsafe.Pointer(nil)) {
		t.Fatalf("atomic.Pointer is %d bytes; want one pointer", s)
	}
	w := new(Wheel)
	var tm Timer
	tm.setWheelUnshared(w)
	if got := tm.w.Load(); got != w {
		t.Fatalf("w.Load() = %p after the plain store; want %p", got, w)
	}
}
