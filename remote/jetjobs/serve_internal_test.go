package jetjobs

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-go/troupe/jobs"
)

// hookKV is a procedures bucket that calls afterPut, once, after the next
// Put returns.
type hookKV struct {
	jetstream.KeyValue
	mu       sync.Mutex // guards afterPut
	afterPut func()
}

func (k *hookKV) Put(ctx context.Context, key string, value []byte) (uint64, error) {
	rev, err := k.KeyValue.Put(ctx, key, value)
	k.mu.Lock()
	f := k.afterPut
	k.afterPut = nil
	k.mu.Unlock()
	if f != nil {
		f()
	}
	return rev, err
}

// TestServeWaiterGivesUp: a Serve of a procedure that another Serve of
// the same procedure is starting to serve waits for that one, and its ctx
// ends first. Before, the waiter's give-up took the procedure's
// registration here back, though the first Serve went on to serve it:
// this node then handed back every job of the procedure (not registered
// here), and they never ran. The waiter now takes back only its own
// registration.
func TestServeWaiterGivesUp(t *testing.T) {
	a, _, url := storeNodes(t)
	c := startStoreNode(t, url, "c", false)
	procs := &hookKV{KeyValue: c.b.procs}
	c.b.procs = procs
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ref := spawnOpenGate(t, c)
	reached, release := make(chan struct{}), make(chan struct{})
	c.q.mu.Lock()
	c.q.stall = func() { close(reached); <-release }
	c.q.mu.Unlock()
	first := make(chan error, 1)
	go func() { first <- jobs.Register(c.d, jobs.Ref("api", ref), gate) }()
	wait(t, "the first Serve to look up the host's consumer", reached)
	wctx, wcancel := context.WithCancel(ctx)
	defer wcancel()
	procs.mu.Lock()
	procs.afterPut = wcancel // the waiter's ctx ends as it begins to wait
	procs.mu.Unlock()
	if err := c.b.Serve(wctx, "api", "gate"); !errors.Is(err, jobs.ErrUnavailable) {
		t.Fatalf("the waiting Serve: got %v; want jobs.ErrUnavailable", err)
	}
	close(release)
	if err := wait(t, "Register", first); err != nil {
		t.Fatalf("Register: got %v; want the host served", err)
	}
	if !c.b.runsHere("api", "gate") {
		t.Fatal("api/gate: not registered here after its Register returned nil")
	}
	j, err := a.d.Submit(ctx, "api", "gate", "x")
	if err != nil {
		t.Fatal(err)
	}
	wantX(t, ctx, j)
}

// TestServeFailedLeavesNoTrace: a Serve whose start fails (the store
// away as it looks up its host's consumer). Before, the procedure stayed
// recorded in the procedures bucket (its first step), so that every
// node's Submit took jobs of it, as served, though no node consumed its
// host: they waited queued, and the caller was told it submitted. A
// failed Serve now takes back the record it created ("alone": a Submit
// is refused, jobs.ErrUnknownHost, and a Register again serves it), and
// leaves one that another node wrote ("elsewhere": its jobs run there).
func TestServeFailedLeavesNoTrace(t *testing.T) {
	for _, elsewhere := range []bool{false, true} {
		name := "alone"
		if elsewhere {
			name = "elsewhere"
		}
		t.Run(name, func(t *testing.T) {
			a, b, url := storeNodes(t)
			c := startStoreNode(t, url, "c", false)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			host := "web" // served by b
			if !elsewhere {
				host = "api"
			}
			ref := spawnOpenGate(t, c)
			c.q.failNext(1)
			if err := jobs.Register(c.d, jobs.Ref(host, ref), gate); !errors.Is(err, jobs.ErrUnavailable) {
				t.Fatalf("Register: got %v; want jobs.ErrUnavailable", err)
			}
			if elsewhere {
				close(b.gate.open)
				wantX(t, ctx, submit(t, ctx, a, "gate", "x"))
				return
			}
			if _, err := a.d.Submit(ctx, host, "gate", "x"); !errors.Is(err, jobs.ErrUnknownHost) {
				t.Fatalf("Submit after the failed Serve: got %v; want jobs.ErrUnknownHost", err)
			}
			if err := jobs.Register(c.d, jobs.Ref(host, ref), gate); err != nil {
				t.Fatalf("Register again: %v", err)
			}
			j, err := a.d.Submit(ctx, host, "gate", "x")
			if err != nil {
				t.Fatal(err)
			}
			wantX(t, ctx, j)
		})
	}
}

// TestServeFailedForgetsKnown: a Submit on the node of a Serve that then
// fails, made while that Serve starts (its procedure recorded, its host's
// consumer being looked up): the Submit finds the record and this node
// remembers the procedure as existing (known). Before, the failed Serve
// took the record back but not that memory, so every later Submit on
// this node took jobs of the procedure though no node served it (they
// waited queued), where the failed Serve was to leave no trace. Now the
// Submit made meanwhile is taken (the record was there), and a later one
// is refused, jobs.ErrUnknownHost, as on any other node.
func TestServeFailedForgetsKnown(t *testing.T) {
	a, _, url := storeNodes(t)
	c := startStoreNode(t, url, "c", false)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ref := spawnOpenGate(t, c)
	var meanwhile error
	c.q.mu.Lock()
	c.q.n = 1 // the Serve's lookup of its host's consumer fails
	c.q.stall = func() { _, meanwhile = c.d.Submit(ctx, "api", "gate", "early") }
	c.q.mu.Unlock()
	if err := jobs.Register(c.d, jobs.Ref("api", ref), gate); !errors.Is(err, jobs.ErrUnavailable) {
		t.Fatalf("Register: got %v; want jobs.ErrUnavailable", err)
	}
	if meanwhile != nil {
		t.Fatalf("the Submit made while the Serve started: %v", meanwhile)
	}
	if _, err := a.d.Submit(ctx, "api", "gate", "x"); !errors.Is(err, jobs.ErrUnknownHost) {
		t.Fatalf("Submit on another node after the failed Serve: got %v; want jobs.ErrUnknownHost", err)
	}
	if _, err := c.d.Submit(ctx, "api", "gate", "x"); !errors.Is(err, jobs.ErrUnknownHost) {
		t.Fatalf("Submit on the failed Serve's node after it: got %v; want jobs.ErrUnknownHost", err)
	}
}
