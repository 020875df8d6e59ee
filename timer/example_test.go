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
	defer w.Stop()

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
	defer w.Stop()

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
	fmt.Println("dropped:", w.Stop()) // the driver has exited
	_, err = w.AfterFunc(time.Second, func() {})
	fmt.Println(err)
	// Output:
	// dropped: 3
	// timer: wheel stopped
}
