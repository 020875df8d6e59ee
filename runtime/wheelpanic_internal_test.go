package runtime

import (
	"context"
	"errors"
	goruntime "runtime"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/actor"
)

// blockingErrorHook returns an error hook that blocks on its first call
// until release is closed (entered is closed as it begins), and records
// every error it is given.
func blockingErrorHook() (hook func(error), entered, release chan struct{}, got func() []error) {
	entered, release = make(chan struct{}), make(chan struct{})
	var once sync.Once
	var mu sync.Mutex
	var errs []error
	hook = func(err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
		once.Do(func() {
			close(entered)
			<-release
		})
	}
	got = func() []error {
		mu.Lock()
		defer mu.Unlock()
		return append([]error(nil), errs...)
	}
	return hook, entered, release, got
}

// A panic in a timer callback (a troupe bug) is reported to the error
// hook, user code: not on the timer wheel's goroutine, where a hook that
// blocks stalls every timer of the runtime (call deadlines included) and
// the stop, which waits for the wheel's goroutine. While the hook blocks
// on such a report, a call with no deadline of its own must still time
// out at the call timeout, and Close must still return within the call
// timeout, reporting the hook that would not return.
func TestWheelPanicReportOffWheel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const callTimeout = 100 * time.Millisecond
		hook, entered, release, got := blockingErrorHook()
		rt, err := New(WithCallTimeout(callTimeout), WithErrorHook(hook))
		if err != nil {
			t.Fatal(err)
		}
		b, err := actor.Spawn(rt, &target{}, actor.WithName("b"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rt.wheel.AfterFunc(time.Millisecond, func() { panic("timer callback") }); err != nil {
			t.Fatal(err)
		}
		<-entered // the panic is being reported: the hook blocks
		start := time.Now()
		unblock := make(chan struct{})
		called := make(chan error, 1)
		go func() {
			_, err := stall.Call(context.Background(), b, unblock)
			called <- err
		}()
		select {
		case err := <-called:
			if d := time.Since(start); d != callTimeout {
				t.Errorf("the call returned after %v; want %v", d, callTimeout)
			}
			if !errors.Is(err, actor.ErrTimeout) {
				t.Errorf("call = %v; want ErrTimeout", err)
			}
		case <-time.After(time.Minute):
			t.Error("the call had no outcome a minute after its deadline: the wheel is stuck in the error hook")
		}
		close(unblock)
		start = time.Now()
		closed := make(chan error, 1)
		go func() { closed <- rt.Close() }()
		select {
		case err = <-closed:
			if d := time.Since(start); d > callTimeout {
				t.Errorf("Close returned after %v; want at most the call timeout, %v", d, callTimeout)
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Close = %v; want an error matching context.DeadlineExceeded (the error hook did not return)", err)
			}
		case <-time.After(time.Hour):
			t.Error("Close did not return within an hour: the stop waits for the wheel's goroutine, stuck in the error hook")
			close(release)
			<-closed
		}
		select {
		case <-release:
		default:
			close(release)
		}
		<-b.Done()
		synctest.Wait() // the hook's goroutine exits as the hook returns
		if errs := got(); len(errs) != 1 || !strings.Contains(errs[0].Error(), "timer callback") {
			t.Errorf("error hook got %v; want the callback's panic, once", errs)
		}
	})
}

// An error hook that ends its goroutine (runtime.Goexit) on a timer
// callback's panic report does not lose the reports after it, nor leave
// the stop waiting for a reporter that is gone.
func TestWheelPanicReportHookGoexit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var got []string
		rt, err := New(WithErrorHook(func(err error) {
			mu.Lock()
			got = append(got, err.Error())
			n := len(got)
			mu.Unlock()
			if n == 1 {
				goruntime.Goexit()
			}
		}))
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range []string{"first", "second"} {
			if _, err := rt.wheel.AfterFunc(time.Millisecond, func() { panic(v) }); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if err := rt.Close(); err != nil {
			t.Errorf("Close = %v; want nil", err)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(got) != 2 || !strings.Contains(got[0], "first") || !strings.Contains(got[1], "second") {
			t.Errorf("error hook got %q; want both panics, in order", got)
		}
	})
}

// WithErrorHook's doc: a panic that escaped the runtime's own goroutines
// reaches the hook as an *actor.PanicError carrying the stack; a timer
// callback's too.
func TestWheelPanicReportIsActorPanicError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		got := make(chan error, 1)
		rt, err := New(WithErrorHook(func(err error) { got <- err }))
		if err != nil {
			t.Fatal(err)
		}
		defer rt.Close()
		boom := errors.New("boom")
		if _, err := rt.wheel.AfterFunc(time.Millisecond, func() { panic(boom) }); err != nil {
			t.Fatal(err)
		}
		err = <-got
		var pe *actor.PanicError
		if !errors.As(err, &pe) || pe.Value != boom || len(pe.Stack) == 0 || !errors.Is(err, boom) {
			t.Errorf("error hook got %v (%T); want an *actor.PanicError of the callback's panic, with its stack, matching its error", err, err)
		}
	})
}

// panicTurn is a scheduler turn that panics past its runner: a bug of
// troupe's that the scheduler's loop reports.
type panicTurn struct{}

func (panicTurn) Run(int) bool { panic("scheduler turn") }
func (panicTurn) Abort()       {}

// A panic that escaped a scheduler loop is reported to the error hook,
// user code: not on the loop's goroutine, which the stop's drain of the
// scheduler waits for. While the hook blocks on such a report, Close must
// return within the call timeout.
func TestLoopPanicReportOffLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const callTimeout = 100 * time.Millisecond
		hook, entered, release, got := blockingErrorHook()
		rt, err := New(WithCallTimeout(callTimeout), WithErrorHook(hook))
		if err != nil {
			t.Fatal(err)
		}
		if err := rt.sched.Schedule(rt.sched.NewTask(panicTurn{})); err != nil {
			t.Fatal(err)
		}
		<-entered // the panic is being reported: the hook blocks
		start := time.Now()
		closed := make(chan error, 1)
		go func() { closed <- rt.Close() }()
		select {
		case err = <-closed:
			if d := time.Since(start); d > callTimeout {
				t.Errorf("Close returned after %v; want at most the call timeout, %v", d, callTimeout)
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Close = %v; want an error matching context.DeadlineExceeded (the error hook did not return)", err)
			}
			close(release)
		case <-time.After(time.Hour):
			t.Error("Close did not return within an hour: the scheduler's drain waits for the loop, stuck in the error hook")
			close(release)
			<-closed
		}
		synctest.Wait() // the hook's goroutine exits as the hook returns
		var pe *actor.PanicError
		if errs := got(); len(errs) != 1 || !errors.As(errs[0], &pe) || pe.Value != "scheduler turn" {
			t.Errorf("error hook got %v; want the turn's panic, once", errs)
		}
	})
}

// Shutdown waits for the error hook's reports as it waits for handlers:
// bounded by its ctx (then ctx's error: only the runtime's own goroutines
// are left), after which Close gives the hook the call timeout.
func TestShutdownBoundedDespiteBlockedErrorHook(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const callTimeout = 100 * time.Millisecond
		hook, entered, release, _ := blockingErrorHook()
		rt, err := New(WithCallTimeout(callTimeout), WithErrorHook(hook))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rt.wheel.AfterFunc(time.Millisecond, func() { panic("timer callback") }); err != nil {
			t.Fatal(err)
		}
		<-entered
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := rt.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Shutdown = %v; want ctx's error", err)
		}
		if d := time.Since(start); d != time.Second {
			t.Errorf("Shutdown returned after %v; want its ctx's 1s", d)
		}
		start = time.Now()
		if err := rt.Close(); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Close = %v; want an error matching context.DeadlineExceeded", err)
		}
		if d := time.Since(start); d > callTimeout {
			t.Errorf("Close returned after %v; want at most %v", d, callTimeout)
		}
		close(release)
	})
}
