package timer

import (
	"errors"
	"testing"
	"time"

	"github.com/troupe-go/troupe/internal/zerocase"
)

var is = zerocase.Is

type nopCallback struct{}

func (nopCallback) Fire() {}

// TestZeroValues calls every exported method with a pointer receiver on a
// nil and a zero value: a nil or zero Wheel behaves as a stopped one, a
// nil or never started Timer as one that is not pending; bad arguments
// get a sentinel and leave the wheel usable. Add a case here with every
// new exported method.
func TestZeroValues(t *testing.T) {
	var nw *Wheel
	var nt *Timer
	live := func(t *testing.T) *Wheel {
		w, err := New()
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	w := live(t)
	other := live(t)
	defer func() {
		for _, w := range []*Wheel{w, other} {
			w.Stop()
			<-w.Done()
		}
	}()
	var foreign Timer
	if err := other.Start(&foreign, time.Hour, nopCallback{}); err != nil {
		t.Fatal(err)
	}
	closed := func(ch <-chan struct{}) error {
		select {
		case <-ch:
			return nil
		default:
			return errors.New("Done not closed")
		}
	}
	zerocase.Run(t, []zerocase.Case{
		{"Wheel.AfterFunc nil", func() error { _, err := nw.AfterFunc(1, func() {}); return err }, ErrStopped},
		{"Wheel.AfterFunc zero", func() error { _, err := (&Wheel{}).AfterFunc(1, func() {}); return err }, ErrStopped},
		{"Wheel.Start nil", func() error { return nw.Start(&Timer{}, 1, nopCallback{}) }, ErrStopped},
		{"Wheel.Start zero", func() error { return (&Wheel{}).Start(&Timer{}, 1, nopCallback{}) }, ErrStopped},
		{"Wheel.Schedule nil", func() error { _, err := nw.Schedule(1, func() {}); return err }, ErrStopped},
		{"Wheel.Schedule zero", func() error { _, err := (&Wheel{}).Schedule(1, func() {}); return err }, ErrStopped},
		{"Wheel.Done nil", func() error { return closed(nw.Done()) }, nil},
		{"Wheel.Done zero", func() error { return closed((&Wheel{}).Done()) }, nil},
		{"Wheel.Len nil", func() error { return is(nw.Len(), 0) }, nil},
		{"Wheel.Len zero", func() error { return is((&Wheel{}).Len(), 0) }, nil},
		{"Wheel.Panics nil", func() error { return is(nw.Panics(), uint64(0)) }, nil},
		{"Wheel.Panics zero", func() error { return is((&Wheel{}).Panics(), uint64(0)) }, nil},
		{"Wheel.Stop nil", func() error { return is(nw.Stop(), 0) }, nil},
		{"Wheel.Stop zero", func() error { return is((&Wheel{}).Stop(), 0) }, nil},
		{"Wheel.Start nil timer", func() error { return w.Start(nil, time.Hour, nopCallback{}) }, ErrBadTimer},
		{"Wheel.Start timer of another wheel", func() error { return w.Start(&foreign, time.Hour, nopCallback{}) }, ErrBadTimer},
		{"wheel usable after bad Starts", func() error { var t Timer; return w.Start(&t, time.Hour, nopCallback{}) }, nil},
		{"Timer.Stop nil", func() error { return is(nt.Stop(), false) }, nil},
		{"Timer.Stop zero", func() error { return is((&Timer{}).Stop(), false) }, nil},
		{"Timer.Reset nil", func() error { return is(nt.Reset(1), false) }, nil},
		{"Timer.Reset zero", func() error { return is((&Timer{}).Reset(1), false) }, nil},
		{"Timer.Deadline nil", func() error { return is(nt.Deadline(), time.Time{}) }, nil},
		{"Timer.Deadline zero", func() error { return is((&Timer{}).Deadline(), time.Time{}) }, nil},
		{"Handle.Stop zero", func() error { return is(Handle{}.Stop(), false) }, nil},
		{"PanicError zero", func() error { _ = (&PanicError{}).Error(); return (&PanicError{}).Unwrap() }, nil},
	})
}
