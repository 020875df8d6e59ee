package timer

import (
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// dropRecorder is a Dropper counting its Fires and Droppeds; the first to
// fire of a group sharing stopper stops the wheel.
type dropRecorder struct {
	tm             Timer
	w              *Wheel
	fired, dropped atomic.Int32
	stopper        *atomic.Bool
}

func (r *dropRecorder) Fire() {
	r.fired.Add(1)
	if r.stopper.CompareAndSwap(false, true) {
		r.w.Stop()
	}
}

func (r *dropRecorder) Dropped() { r.dropped.Add(1) }

// Wheel.Stop tells every Dropper it drops, once, instead of firing it:
// the pending ones before Stop returns, those the driver had taken out to
// run but not begun before Done is closed.
func TestStopTellsDroppers(t *testing.T) {
	w := newWheel(t)
	var stopper atomic.Bool
	now := make([]*dropRecorder, 5) // due together: one batch
	for i := range now {
		now[i] = &dropRecorder{w: w, stopper: &stopper}
		if err := w.Start(&now[i].tm, 0, now[i]); err != nil {
			t.Fatal(err)
		}
	}
	late := &dropRecorder{w: w, stopper: &stopper}
	if err := w.Start(&late.tm, 1<<40, late); err != nil {
		t.Fatal(err)
	}
	<-w.Done()
	for i, r := range now {
		f, d := r.fired.Load(), r.dropped.Load()
		switch {
		case i == 0 && (f != 1 || d != 0):
			t.Errorf("first to fire: fired %d, dropped %d; want 1, 0", f, d)
		case i > 0 && (f != 0 || d != 1):
			t.Errorf("#%d (held, or pending): fired %d, dropped %d; want 0, 1", i, f, d)
		}
	}
	if f, d := late.fired.Load(), late.dropped.Load(); f != 0 || d != 1 {
		t.Errorf("pending: fired %d, dropped %d; want 0, 1", f, d)
	}

	// Stop from outside: the pending Dropper is told before Stop returns.
	w2 := newWheel(t)
	r := &dropRecorder{w: w2, stopper: &stopper}
	if err := w2.Start(&r.tm, 1<<40, r); err != nil {
		t.Fatal(err)
	}
	if n := w2.Stop(); n != 1 || r.dropped.Load() != 1 || r.fired.Load() != 0 {
		t.Errorf("Stop: %d dropped, told %d, fired %d; want 1, 1, 0", n, r.dropped.Load(), r.fired.Load())
	}
	<-w2.Done()
}

// blockingDropper's Dropped waits for release, then records that it
// returned.
type blockingDropper struct {
	tm       Timer
	release  chan struct{}
	returned atomic.Bool
}

func (b *blockingDropper) Fire() {}
func (b *blockingDropper) Dropped() {
	<-b.release
	b.returned.Store(true)
}

// Once Done is closed every Dropped has returned, also those Wheel.Stop
// calls, from another goroutine, for the pending timers: the driver,
// waking on its own meanwhile, saw the wheel stopped and closed Done
// while Stop was still in a Dropped.
func TestDoneWaitsForStopsDroppeds(t *testing.T) {
	bubble(t, time.Hour, func(t *testing.T) {
		w := newWheel(t)
		b := &blockingDropper{release: make(chan struct{})}
		if err := w.Start(&b.tm, time.Hour, b); err != nil {
			t.Fatal(err)
		}
		mustAfter(t, w, time.Millisecond, func() {}) // the driver wakes at 1ms
		synctest.Wait()
		stopped := make(chan int)
		go func() { stopped <- w.Stop() }()
		time.Sleep(10 * time.Millisecond) // Stop is in Dropped; the driver woke
		synctest.Wait()
		select {
		case <-w.Done():
			t.Errorf("Done closed while Wheel.Stop's Dropped had not returned (returned: %v)", b.returned.Load())
		default:
		}
		close(b.release)
		if n := <-stopped; n != 2 {
			t.Errorf("Stop = %d; want 2", n)
		}
		<-w.Done()
		if !b.returned.Load() {
			t.Error("Done closed before Dropped returned")
		}
	})
}

// panicDropper panics in Dropped.
type panicDropper struct{ tm Timer }

func (p *panicDropper) Fire()    {}
func (p *panicDropper) Dropped() { panic("dropped") }

// The panic handler gets a pending Dropper's panic on Wheel.Stop's
// caller, before Stop returns, not on the driver (as its doc said): it
// may run alongside the driver's callbacks.
func TestDroppedPanicHandledByStopsCaller(t *testing.T) {
	bubble(t, time.Hour, func(t *testing.T) {
		var got rec[any]
		w := newWheel(t, WithPanicHandler(func(e *PanicError) { got.add(e.Value) }))
		p := &panicDropper{}
		if err := w.Start(&p.tm, time.Hour, p); err != nil {
			t.Fatal(err)
		}
		release := make(chan struct{})
		mustAfter(t, w, time.Millisecond, func() { <-release }) // the driver is busy
		time.Sleep(2 * time.Millisecond)
		synctest.Wait()
		if n := w.Stop(); n != 1 {
			t.Errorf("Stop = %d; want 1", n)
		}
		if v := got.all(); len(v) != 1 || v[0] != "dropped" || w.Panics() != 1 {
			t.Errorf("after Stop returned, while the driver runs a callback: handled %v, Panics %d; want [dropped], 1", v, w.Panics())
		}
		close(release)
		<-w.Done()
	})
}
