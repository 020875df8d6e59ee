package mailbox

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// TestYieldLockTakesLockFreedWhileYielding: a Push that finds the lock
// held yields, and takes the lock if its holder freed it meanwhile,
// without sleeping on it. On one processor the order is fixed: the
// producer's first try fails, its yield runs the holder, which unlocks.
func TestYieldLockTakesLockFreedWhileYielding(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var mu sync.Mutex
	mu.Lock()
	got := make(chan bool)
	go func() { got <- yieldLock(&mu) }()
	runtime.Gosched() // the producer tries, fails and yields back
	mu.Unlock()
	if !<-got {
		t.Fatal("yieldLock did not take a lock freed while it yielded")
	}
	mu.Unlock()
}

// TestYieldLockGivesUp: held throughout, the lock is not taken, and
// yieldLock returns (the caller then sleeps on it) instead of spinning on.
func TestYieldLockGivesUp(t *testing.T) {
	var mu sync.Mutex
	mu.Lock()
	defer mu.Unlock()
	if yieldLock(&mu) {
		t.Fatal("yieldLock took a held lock")
	}
}

// TestPushWaitsOutAHeldLock: a Push whose yields do not see the lock
// freed sleeps on it, and completes when it is.
func TestPushWaitsOutAHeldLock(t *testing.T) {
	m := newTest(t, Config[msg]{Capacity: 1 << 20})
	pushPastHeldLock(t, m, msg{id: 1})
	if v, _, ok := m.Pop(); !ok || v.id != 1 {
		t.Fatalf("Pop = %v, %v", v, ok)
	}
}

// TestContendedPushSleepsWhenNotBehind: a Push that finds the lock held
// while the consumer keeps up sleeps on it without yielding.
func TestContendedPushSleepsWhenNotBehind(t *testing.T) {
	yields := countYields(t)
	pushPastHeldLock(t, newTest(t, Config[msg]{Capacity: 1 << 20}), msg{})
	if n := yields.Load(); n != 0 {
		t.Fatalf("a contended Push with nothing queued yielded %d times; want 0", n)
	}
}

// pushPastHeldLock pushes v while the test holds m's lock for longer than
// a Push yields, then frees it; it fails t if the Push fails.
func pushPastHeldLock(t *testing.T, m *Mailbox[msg], v msg) {
	t.Helper()
	q := m.lock()
	done := make(chan error)
	go func() {
		_, err := m.TryPush(v)
		done <- err
	}()
	for range 10 * yieldTries {
		runtime.Gosched()
	}
	q.mu.Unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// countYields counts yieldLock's yields until t ends.
func countYields(t *testing.T) *atomic.Int64 {
	var n atomic.Int64
	onYield = func() { n.Add(1) }
	t.Cleanup(func() { onYield = nil })
	return &n
}

// TestPushYieldsOnlyWhenBehind: a Push yields on contention only once the
// consumer is yieldBacklog messages behind; a consumer that keeps up
// leaves producers to sleep on the lock, and a consumer that empties the
// queue resets it. (A bounded mailbox: unbounded ones push without the
// lock.)
func TestPushYieldsOnlyWhenBehind(t *testing.T) {
	m, err := New(&Config[int]{Key: func(int) Key { return 0 }, Capacity: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	for i := range yieldBacklog - 1 {
		if _, err := m.TryPush(i); err != nil {
			t.Fatal(err)
		}
	}
	if m.q.Load().behind() {
		t.Fatalf("behind with %d queued", yieldBacklog-1)
	}
	if _, err := m.TryPush(yieldBacklog); err != nil {
		t.Fatal(err)
	}
	if !m.q.Load().behind() {
		t.Fatalf("not behind with %d queued", yieldBacklog)
	}
	for range yieldBacklog {
		if _, _, ok := m.Pop(); !ok {
			t.Fatal("Pop found nothing")
		}
	}
	if m.q.Load().behind() {
		t.Fatal("still behind once the consumer emptied the queue")
	}
}

// TestYieldingProducersKeepOrder: producers that yield on the lock (the
// consumer held back until it is behind) lose nothing and keep each
// producer's order. It retries until some Push did yield, so that it
// tests the yielding path.
func TestYieldingProducersKeepOrder(t *testing.T) {
	yields := countYields(t)
	const producers, each = 16, 4000
	for attempt := 0; yields.Load() == 0; attempt++ {
		if attempt == 20 {
			t.Fatal("no Push yielded in 20 attempts")
		}
		m := newTest(t, Config[msg]{Capacity: 1 << 20})
		wg := pushFrom(t, m, producers, each)
		for m.Backlog() < yieldBacklog*4 && m.Len() < producers*each {
			runtime.Gosched() // let the consumer fall behind
		}
		popInOrder(t, m, wg, producers, each)
	}
}
