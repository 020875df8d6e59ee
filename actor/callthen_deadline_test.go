package actor_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-go/troupe/internal/engine"
	troupe "github.com/troupe-go/troupe/runtime"
)

// A CallThen whose default deadline fires at once, before CallThen has
// returned, still hands that outcome to then, exactly once: the default
// deadline is armed only once then is in place. Before, the deadline was
// armed first, and one that fired in between settled the call with
// nobody to tell: then was never called.
func TestCallThenDefaultDeadlineAtOnce(t *testing.T) {
	rt := newRuntime(t, troupe.WithTick(time.Microsecond), troupe.WithCallTimeout(time.Microsecond))
	ref := spawnAccount(t, rt)
	const n = 20000
	var called atomic.Int64
	then := func(int, error) { called.Add(1) }
	queued := 0
	for range n {
		if err := Balance.CallThen(engine.Seal{}, context.Background(), ref, struct{}{}, then); err == nil {
			queued++
		}
	}
	deadline := time.Now().Add(30 * time.Second)
	for called.Load() < int64(queued) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(10 * time.Millisecond)
	if got := called.Load(); got != int64(queued) {
		t.Fatalf("then called %d times for %d calls queued; want once each", got, queued)
	}
}
