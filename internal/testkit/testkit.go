// Package testkit holds the helpers troupe's own tests share: a runtime
// torn down with the test, a synctest bubble with a fake-time watchdog, and
// a dead-letter recorder. It is internal: no public API.
package testkit

import (
	"bytes"
	"context"
	"iter"
	"os"
	goruntime "runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	troupe "github.com/troupe-go/troupe/runtime"
)

// NewRuntime returns a runtime that is shut down (bounded by 10 s) when the
// test ends; a failed shutdown fails the test.
func NewRuntime(t testing.TB, opts ...troupe.Option) *troupe.Runtime {
	t.Helper()
	rt, err := troupe.New(opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { Shutdown(t, rt) })
	return rt
}

// Shutdown shuts rt down within 10 s or fails the test.
func Shutdown(t testing.TB, rt *troupe.Runtime) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rt.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown: %v", err)
	}
}

// Bubble runs f in a synctest bubble with a fake-time watchdog: a deadlock
// hidden by background tickers (the pool's housekeeping) becomes a panic
// after an hour of fake time instead of a hang.
func Bubble(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		w := time.AfterFunc(time.Hour, func() { panic("watchdog: " + t.Name() + ": the bubble made no progress for an hour of fake time") })
		defer w.Stop()
		f(t)
	})
}

// Procs makes GOMAXPROCS at least n for the rest of t (restored after),
// for a test whose interleaving needs n scheduler loops: a scheduler runs
// min(GOMAXPROCS, pool size) loops, a handler in a wait the scheduler
// cannot see holds its loop until the stall watchdog starts another, and
// in a synctest bubble the watchdog's timer waits for fake time to move.
// Under -cpu 1 such a test would check another interleaving than the one
// it describes. Call it before the runtime is made; not from a parallel
// test.
func Procs(t testing.TB, n int) {
	t.Helper()
	if old := goruntime.GOMAXPROCS(0); old < n {
		goruntime.GOMAXPROCS(n)
		t.Cleanup(func() { goruntime.GOMAXPROCS(old) })
	}
}

// Letters records dead letters; pass its Hook to troupe.WithDeadLetterHook.
type Letters struct {
	mu  sync.Mutex // guards all
	all []troupe.DeadLetter
}

// Hook records d.
func (l *Letters) Hook(d troupe.DeadLetter) {
	l.mu.Lock()
	l.all = append(l.all, d)
	l.mu.Unlock()
}

// All returns a copy of what was recorded.
func (l *Letters) All() []troupe.DeadLetter {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.all)
}

// Count counts the recorded letters with this reason and method.
func (l *Letters) Count(why troupe.Reason, method string) int {
	n := 0
	for _, d := range l.All() {
		if d.Reason == why && d.Method == method {
			n++
		}
	}
	return n
}

// LockedBuffer is a bytes.Buffer safe for concurrent writes: a log that
// net/http or the runtime writes to from their goroutines.
type LockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *LockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// String returns what was written so far.
func (l *LockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// Pause waits d, or until ctx ends unless ignore (a handler that ignores
// its cancel); it reports whether it waited all of d. The model tests'
// handlers work this way.
func Pause(ctx context.Context, d time.Duration, ignore bool) bool {
	if ignore {
		time.Sleep(d)
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Seeds returns the n seeds a model test runs: 0 to n-1, or, with
// TROUPE_SEED_BASE=b in the environment, b to b+n-1, so that a stress run
// explores seeds the default runs never try. A failing seed is in its
// subtest's name: run it again with the same base.
func Seeds(n int) iter.Seq[uint64] {
	base, _ := strconv.ParseUint(os.Getenv("TROUPE_SEED_BASE"), 10, 64)
	return func(yield func(uint64) bool) {
		for i := range uint64(n) {
			if !yield(base + i) {
				return
			}
		}
	}
}
