package timer

import (
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreCurrent())
}

// bubble runs f in a synctest bubble with a fake-time watchdog: if the
// test is still running after limit of fake time (a wheel that never goes
// quiet, a deadlock hidden by a pending timer), it panics with the test's
// name instead of hanging.
func bubble(t *testing.T, limit time.Duration, f func(t *testing.T)) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		name := t.Name()
		wd := time.AfterFunc(limit, func() {
			panic("watchdog: " + name + " still running after " + limit.String() + " of fake time")
		})
		defer wd.Stop()
		f(t)
	})
}

// newWheel returns a wheel stopped at the end of the test, after which
// the cleanup waits for its driver to exit.
func newWheel(t *testing.T, opts ...Option) *Wheel {
	t.Helper()
	w, err := New(opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		w.Stop()
		<-w.Done()
	})
	return w
}

// mustAfter is AfterFunc failing the test on error.
func mustAfter(t *testing.T, w *Wheel, d time.Duration, f func()) *Timer {
	t.Helper()
	tm, err := w.AfterFunc(d, f)
	if err != nil {
		t.Fatalf("AfterFunc(%v): %v", d, err)
	}
	return tm
}

// rec records values from callbacks for the test goroutine to read: the
// driver and the test do not synchronize otherwise (a synctest bubble
// orders them in time, not in memory).
type rec[T any] struct {
	mu sync.Mutex
	vs []T
}

func (r *rec[T]) add(v T) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.vs = append(r.vs, v)
}

func (r *rec[T]) all() []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.vs)
}
