package remote_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/remote"
)

// holdDeleteKV is a names bucket whose first Delete of key, once the
// server has applied it, waits until resume is closed (or its ctx ends):
// the releasing node holds there with the name free, as it does between
// the releases of its claims, one round trip each.
type holdDeleteKV struct {
	jetstream.KeyValue
	key     string
	deleted chan struct{} // closed once the held Delete is applied
	resume  chan struct{}
	once    sync.Once
}

func (k *holdDeleteKV) wrap(kv jetstream.KeyValue) jetstream.KeyValue {
	k.KeyValue = kv
	return k
}

func (k *holdDeleteKV) Delete(ctx context.Context, key string, opts ...jetstream.KVDeleteOpt) error {
	err := k.KeyValue.Delete(ctx, key, opts...)
	if key != k.key {
		return err
	}
	first := false
	k.once.Do(func() { first = true; close(k.deleted) })
	if first {
		select {
		case <-k.resume:
		case <-ctx.Done():
		}
	}
	return err
}

// TestClaimHandover: a node that gives up a claimed name — Shutdown,
// Close, Unexport — while callers on another node keep calling it, and a
// third node claims the name once it is free. The old owner leaves the
// name's queue group before its release lets another node take the name:
// a call made once the new owner's Claim has returned reaches the new
// owner (its reply, served there), never the stopping node, which would
// refuse it (ErrClosed) though the name is served. Calls made before
// get their reply, or a refusal the docs promise for the handover:
// ErrClosed (a stopping node refuses what it receives), ErrNotFound (no
// node serves the name for a moment, or a fenced call); none times out.
func TestClaimHandover(t *testing.T) {
	for _, how := range []string{"Shutdown", "Close", "Unexport"} {
		t.Run(how, func(t *testing.T) {
			s := startServer(t)
			kv := &holdDeleteKV{key: "x", deleted: make(chan struct{}), resume: make(chan struct{})}
			n1 := startNode(t, s.ClientURL(), remote.WithName("n1"), remote.WithNamesKV(kv.wrap))
			n2 := startNode(t, s.ClientURL(), remote.WithName("n2"))
			n3 := startNode(t, s.ClientURL(), remote.WithName("n3"))
			ctx := ctxTimeout(t, 20*time.Second)
			a := &heldSess{}
			refA, err := actor.Spawn(n1.Runtime(), a)
			if err != nil {
				t.Fatal(err)
			}
			if err := remote.Claim(ctx, n1, "x", refA, remote.Serve(heldTouch)); err != nil {
				t.Fatal(err)
			}
			touch := remote.Bind(n3, "x", heldTouch)
			if _, err := touch.Call(ctx, 0); err != nil {
				t.Fatalf("Call of the first owner: %v", err)
			}

			// Callers in flight all along: a call begun once claimed is
			// set (the new owner's Claim has returned) must be served.
			var claimed atomic.Bool
			stop := make(chan struct{})
			var wg sync.WaitGroup
			var mu sync.Mutex
			var bad []string
			var early, late int
			for range 3 {
				wg.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
						}
						after := claimed.Load()
						cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
						_, err := touch.Call(cctx, 0)
						cancel()
						mu.Lock()
						switch {
						case after && err != nil:
							bad = append(bad, fmt.Sprintf("call begun after the new owner's Claim: %v", err))
						case err != nil && !errors.Is(err, remote.ErrClosed) && !errors.Is(err, remote.ErrNotFound):
							bad = append(bad, fmt.Sprintf("call during the handover: %v", err))
						case after:
							late++
						default:
							early++
						}
						mu.Unlock()
					}
				})
			}

			gone := make(chan error, 1)
			go func() {
				switch how {
				case "Shutdown":
					gone <- n1.Shutdown(ctx)
				case "Close":
					gone <- n1.Close()
				case "Unexport":
					if !n1.Unexport("x") {
						gone <- errors.New("Unexport reported x not exported")
						return
					}
					gone <- nil
				}
			}()
			select { // n1 has released the name (its Delete applied), and holds
			case <-kv.deleted:
			case err := <-gone:
				t.Fatalf("%s returned before releasing the name: %v", how, err)
			}
			b := &heldSess{}
			refB, err := actor.Spawn(n2.Runtime(), b)
			if err != nil {
				t.Fatal(err)
			}
			if err := remote.Claim(ctx, n2, "x", refB, remote.Serve(heldTouch)); err != nil {
				t.Fatalf("Claim on n2 once n1 released the name: %v", err)
			}
			claimed.Store(true)
			for i := range 20 {
				if _, err := touch.Call(ctx, 0); err != nil {
					mu.Lock()
					bad = append(bad, fmt.Sprintf("call %d after the new owner's Claim: %v", i, err))
					mu.Unlock()
				}
			}
			close(kv.resume)
			if err := <-gone; err != nil {
				t.Errorf("%s: %v", how, err)
			}
			close(stop)
			wg.Wait()
			mu.Lock()
			defer mu.Unlock()
			for i, s := range bad {
				if i == 10 {
					t.Errorf("... and %d more", len(bad)-i)
					break
				}
				t.Error(s)
			}
			t.Logf("background calls: %d before the new owner's Claim, %d after; n1 ran %d, n2 %d",
				early, late, a.touched.Load(), b.touched.Load())
		})
	}
}
