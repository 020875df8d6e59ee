package actor_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

// Guarantee 8: a graceful stop runs what is queued; later calls get
// ErrStopped at once.
func TestStopProcessesQueued(t *testing.T) {
	rt := newRuntime(t)
	acct := spawnAccount(t, rt)
	release := busy(t, acct)
	wg, results := depositCalls(acct, 10)
	waitQueued(t, acct, 10)
	stopped := make(chan error, 1)
	go func() { stopped <- acct.Stop(context.Background()) }()
	waitStopping(t, acct)
	if err := Deposit.Cast(acct, 1); !errors.Is(err, actor.ErrStopped) {
		t.Fatalf("Cast while stopping = %v; want ErrStopped", err)
	}
	if _, err := Deposit.Call(context.Background(), acct, 1); !errors.Is(err, actor.ErrStopped) {
		t.Fatalf("Call while stopping = %v; want ErrStopped", err)
	}
	release()
	if err := <-stopped; err != nil {
		t.Fatalf("Stop = %v", err)
	}
	wg.Wait()
	for i, err := range results {
		if err != nil {
			t.Errorf("queued call %d = %v; want processed", i, err)
		}
	}
	if err := acct.Stop(context.Background()); err != nil {
		t.Fatalf("second Stop = %v; want nil (idempotent)", err)
	}
}

// Kill fails every queued sync call with ErrStopped.
func TestKillFailsQueued(t *testing.T) {
	rt := newRuntime(t)
	acct := spawnAccount(t, rt)
	release := busy(t, acct)
	wg, results := depositCalls(acct, 10)
	waitQueued(t, acct, 10)
	acct.Kill()
	release()
	wg.Wait()
	<-acct.Done()
	for i, err := range results {
		if !errors.Is(err, actor.ErrStopped) {
			t.Errorf("queued call %d = %v; want ErrStopped", i, err)
		}
	}
}

// Stop bounded by ctx: a stuck handler makes Stop return a *StopError that
// matches DeadlineExceeded; the queued calls fail with ErrStopped.
func TestStopDeadline(t *testing.T) {
	bubble(t, func(t *testing.T) {
		rt := newRuntime(t)
		acct := spawnAccount(t, rt)
		go Sleep.Call(context.Background(), acct, 3*time.Second)
		synctest.Wait()
		res := make(chan error, 1)
		go func() { _, err := Deposit.Call(context.Background(), acct, 1); res <- err }()
		synctest.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		err := acct.Stop(ctx)
		var se *actor.StopError
		if !errors.As(err, &se) || !errors.Is(err, context.DeadlineExceeded) || len(se.Actors) != 1 {
			t.Fatalf("Stop = %v; want *StopError naming 1 actor, matching DeadlineExceeded", err)
		}
		if err := <-res; !errors.Is(err, actor.ErrStopped) {
			t.Fatalf("queued call = %v; want ErrStopped", err)
		}
	})
}

// Ctx.Stop from inside a handler: the actor stops after the queue.
func TestCtxStop(t *testing.T) {
	rt := newRuntime(t)
	acct := spawnAccount(t, rt)
	quit := actor.NewMethod("quit", func(a *Account, c *actor.Ctx, _ int) (int, error) {
		c.Stop()
		c.Stop() // idempotent
		return 0, nil
	})
	if _, err := quit.Call(context.Background(), acct, 0); err != nil {
		t.Fatal(err)
	}
	<-acct.Done()
	if _, err := Deposit.Call(context.Background(), acct, 1); !errors.Is(err, actor.ErrStopped) {
		t.Fatalf("after stop: %v; want ErrStopped", err)
	}
}

// Stopping hook runs exactly once, however Stop is called.
type hooked struct {
	started, stopping int
	mu                *sync.Mutex
}

func (h *hooked) Started(*actor.Ctx)  { h.mu.Lock(); h.started++; h.mu.Unlock() }
func (h *hooked) Stopping(*actor.Ctx) { h.mu.Lock(); h.stopping++; h.mu.Unlock() }

func TestLifecycleHooksOnce(t *testing.T) {
	rt := newRuntime(t)
	h := &hooked{mu: &sync.Mutex{}}
	ref, err := actor.Spawn(rt, h)
	if err != nil {
		t.Fatal(err)
	}
	stopSelf := actor.NewMethod("stop-self", func(h *hooked, c *actor.Ctx, _ int) (int, error) { c.Stop(); return 0, nil })
	_ = stopSelf.Cast(ref, 0)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { _ = ref.Stop(context.Background()); ref.Kill() })
	}
	wg.Wait()
	<-ref.Done()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.started != 1 || h.stopping != 1 {
		t.Fatalf("started=%d stopping=%d; want 1 and 1", h.started, h.stopping)
	}
}

// Shutdown stops everything; afterwards spawns and calls are refused.
func TestShutdownRefusesAfterwards(t *testing.T) {
	rt, err := troupe.New()
	if err != nil {
		t.Fatal(err)
	}
	acct := spawnAccount(t, rt)
	if err := rt.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := rt.Shutdown(context.Background()); err != nil {
		t.Fatalf("second Shutdown = %v", err)
	}
	if err := rt.Close(); err != nil {
		t.Fatalf("Close after Shutdown = %v", err)
	}
	if _, err := actor.Spawn(rt, &Account{}); !errors.Is(err, actor.ErrStopped) {
		t.Fatalf("Spawn after Shutdown = %v; want ErrStopped", err)
	}
	if _, err := Deposit.Call(context.Background(), acct, 1); !errors.Is(err, actor.ErrStopped) {
		t.Fatalf("Call after Shutdown = %v; want ErrStopped", err)
	}
	if err := Deposit.Cast(acct, 1); !errors.Is(err, actor.ErrStopped) {
		t.Fatalf("Cast after Shutdown = %v; want ErrStopped", err)
	}
}

// Close is immediate: queued calls fail with ErrStopped.
func TestCloseImmediate(t *testing.T) {
	rt, err := troupe.New()
	if err != nil {
		t.Fatal(err)
	}
	acct := spawnAccount(t, rt)
	gate := make(chan struct{})
	hold := actor.NewMethod("hold", func(a *Account, _ *actor.Ctx, _ int) (int, error) { <-gate; return 0, nil })
	_ = hold.Cast(acct, 0)
	res := make(chan error, 5)
	for range 5 {
		go func() { _, err := Deposit.Call(context.Background(), acct, 1); res <- err }()
	}
	waitQueued(t, acct, 5)
	go func() { time.Sleep(10 * time.Millisecond); close(gate) }()
	if err := rt.Close(); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if err := <-res; !errors.Is(err, actor.ErrStopped) {
			t.Fatalf("queued call after Close = %v; want ErrStopped", err)
		}
	}
}

// depositCalls starts n concurrent Deposit calls; results[i] is the i-th's
// outcome once wg is done.
func depositCalls(acct *actor.Ref[*Account], n int) (*sync.WaitGroup, []error) {
	var wg sync.WaitGroup
	results := make([]error, n)
	for i := range n {
		wg.Go(func() { _, results[i] = Deposit.Call(context.Background(), acct, 1) })
	}
	return &wg, results
}

// waitQueued waits until n user calls wait in ref's mailbox.
func waitQueued[S any](t testing.TB, ref *actor.Ref[S], n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for n == 0 && ref.Queued() > 0 || n > 0 && ref.Queued() < n {
		if time.Now().After(deadline) {
			t.Fatalf("queued = %d; want %d", ref.Queued(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func waitStopping[S any](t testing.TB, ref *actor.Ref[S]) {
	t.Helper()
	for !ref.Stopped() {
		time.Sleep(time.Millisecond)
	}
}
