package timer_test

import (
	"fmt"
	"time"

	"github.com/troupe-go/troupe/timer"
)

func ExampleWheel_AfterFunc() {
	w, err := timer.New(timer.WithTick(time.Millisecond))
	if err != nil {
		panic(err)
	}
	defer func() {
		w.Stop()
		<-w.Done() // the driver has exited
	}()

	done := make(chan struct{})
	if _, err := w.AfterFunc(10*time.Millisecond, func() {
		fmt.Println("fired on the wheel's goroutine")
		close(done)
	}); err != nil {
		panic(err)
	}
	<-done
	// Output: fired on the wheel's goroutine
}

func ExampleTimer_Stop() {
	w, err := timer.New()
	if err != nil {
		panic(err)
	}
	defer func() {
		w.Stop()
		<-w.Done() // the driver has exited
	}()

	t, err := w.AfterFunc(time.Hour, func() { fmt.Println("never printed") })
	if err != nil {
		panic(err)
	}
	fmt.Println("stopped:", t.Stop())
	fmt.Println("again:", t.Stop())
	fmt.Println("pending:", w.Len())
	// Output:
	// stopped: true
	// again: false
	// pending: 0
}

func ExampleWheel_Stop() {
	w, err := timer.New()
	if err != nil {
		panic(err)
	}
	for range 3 {
		if _, err := w.AfterFunc(time.Minute, func() {}); err != nil {
			panic(err)
		}
	}
	fmt.Println("dropped:", w.Stop()) // does not wait for the driver
	<-w.Done()                        // the driver has exited
	_, err = w.AfterFunc(time.Second, func() {})
	fmt.Println(err)
	// Output:
	// dropped: 3
	// timer: wheel stopped
}

// A callback may stop its own wheel: Stop does not wait, and Done is
// closed once the callback has returned and the driver has exited.
func ExampleWheel_Done() {
	w, err := timer.New()
	if err != nil {
		panic(err)
	}
	if _, err := w.AfterFunc(time.Millisecond, func() {
		fmt.Println("dropped from the callback:", w.Stop())
		fmt.Println("callback returns")
	}); err != nil {
		panic(err)
	}
	if _, err := w.AfterFunc(time.Hour, func() {}); err != nil {
		panic(err)
	}
	<-w.Done()
	fmt.Println("driver exited")
	// Output:
	// dropped from the callback: 1
	// callback returns
	// driver exited
}

// Schedule is AfterFunc for timeouts that are mostly stopped before they
// fire: no allocation once the wheel has recycled a few timers, and a
// Handle that can only stop its own scheduling.
func ExampleWheel_Schedule() {
	w, err := timer.New()
	if err != nil {
		panic(err)
	}
	defer func() {
		w.Stop()
		<-w.Done() // the driver has exited
	}()

	h, err := w.Schedule(time.Hour, func() { fmt.Println("never printed") })
	if err != nil {
		panic(err)
	}
	fmt.Println("stopped:", h.Stop())

	// The stopped timer is reused; the old Handle does not reach the new
	// scheduling.
	done := make(chan struct{})
	if _, err := w.Schedule(time.Millisecond, func() { close(done) }); err != nil {
		panic(err)
	}
	fmt.Println("stale handle stops:", h.Stop())
	<-done
	fmt.Println("fired")
	// Output:
	// stopped: true
	// stale handle stops: false
	// fired
}

// reminder embeds its timer and is its own Callback: arming it allocates
// nothing.
type reminder struct {
	t    timer.Timer
	note string
	done chan struct{}
}

func (r *reminder) Fire() {
	fmt.Println(r.note)
	close(r.done)
}

func ExampleWheel_Start() {
	w, err := timer.New(timer.WithTick(time.Millisecond))
	if err != nil {
		panic(err)
	}
	defer func() {
		w.Stop()
		<-w.Done() // the driver has exited
	}()

	r := &reminder{note: "tea is ready", done: make(chan struct{})}
	if err := w.Start(&r.t, 10*time.Millisecond, r); err != nil {
		panic(err)
	}
	<-r.done
	fmt.Println("stopped after firing:", r.t.Stop())
	// Output:
	// tea is ready
	// stopped after firing: false
}
