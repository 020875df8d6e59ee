// Command bank is troupe's first demo: bank accounts as actors under
// concurrent deposits. It shows a reply, a handler error, a panic turned into
// an error, a timeout, a call cycle refused, and a graceful shutdown.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

// Account is an actor's state: only its own handlers touch it.
type Account struct {
	balance int
	peer    *actor.Ref[*Account]
}

var errOverdraft = errors.New("insufficient funds")

var (
	Deposit = actor.NewMethod("deposit", func(a *Account, _ *actor.Ctx, n int) (int, error) {
		a.balance += n
		return a.balance, nil
	})
	Withdraw = actor.NewMethod("withdraw", func(a *Account, _ *actor.Ctx, n int) (int, error) {
		if n > a.balance {
			return a.balance, fmt.Errorf("withdraw %d: %w", n, errOverdraft)
		}
		a.balance -= n
		return a.balance, nil
	})
	Audit = actor.NewMethod("audit", func(a *Account, _ *actor.Ctx, _ struct{}) (int, error) {
		panic("auditor spilled coffee on the ledger")
	})
	Slow = actor.NewMethod("slow", func(a *Account, c *actor.Ctx, d time.Duration) (int, error) {
		select {
		case <-time.After(d):
		case <-c.Context().Done(): // the caller gave up: stop working
		}
		return a.balance, nil
	})
)

// Mirror asks the peer account for its balance: a → b → a would close a
// cycle, which troupe refuses at once instead of deadlocking. A method whose
// handler calls itself is assigned in init, as Go requires for recursion
// between package-level variables.
var Mirror *actor.Method[*Account, int, int]

func init() {
	Mirror = actor.NewMethod("mirror", func(a *Account, c *actor.Ctx, depth int) (int, error) {
		if depth == 0 {
			return a.balance, nil
		}
		return Mirror.Call(c.Context(), a.peer, depth-1)
	})
}

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bank:", err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	rt, err := troupe.New(troupe.WithCallTimeout(2 * time.Second))
	if err != nil {
		return err
	}
	ctx := context.Background()
	defer rt.Shutdown(ctx)

	alice, err := actor.Spawn(rt, &Account{}, actor.WithName("alice"))
	if err != nil {
		return err
	}
	bob, err := actor.Spawn(rt, &Account{peer: alice}, actor.WithName("bob"))
	if err != nil {
		return err
	}
	if _, err := SetPeer.Call(ctx, alice, bob); err != nil {
		return err
	}

	// 1. Concurrent deposits: 100 goroutines, one actor, no lock in sight.
	var wg sync.WaitGroup
	for range 100 {
		wg.Go(func() { _ = Deposit.Cast(alice, 10) })
	}
	wg.Wait()
	bal, err := Deposit.Call(ctx, alice, 0)
	fmt.Fprintf(w, "reply:    alice has %d after 100 concurrent deposits of 10 (err=%v)\n", bal, err)

	// 2. A handler's error comes back to the caller as is.
	_, err = Withdraw.Call(ctx, bob, 50)
	fmt.Fprintf(w, "error:    bob withdraws 50: %v (is overdraft: %t)\n", err, errors.Is(err, errOverdraft))

	// 3. A panic becomes a *PanicError; the actor lives on.
	_, err = Audit.Call(ctx, alice, struct{}{})
	var pe *actor.PanicError
	fmt.Fprintf(w, "panic:    audit: %v (PanicError: %t)\n", err, errors.As(err, &pe))
	bal, _ = Deposit.Call(ctx, alice, 0)
	fmt.Fprintf(w, "          alice still has %d\n", bal)

	// 4. A timeout: the caller's deadline travels with the call.
	tctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err = Slow.Call(tctx, bob, time.Second)
	cancel()
	fmt.Fprintf(w, "timeout:  slow call: %v (ErrTimeout: %t)\n", err, errors.Is(err, actor.ErrTimeout))

	// 5. A cycle: alice asks bob who asks alice — refused at once.
	start := time.Now()
	_, err = Mirror.Call(ctx, alice, 2)
	fmt.Fprintf(w, "cycle:    alice → bob → alice: %v (ErrCallCycle: %t, in under a second: %t)\n",
		err, errors.Is(err, actor.ErrCallCycle), time.Since(start) < time.Second)

	// 6. Look an actor up by name, stop it, and see calls refused.
	ref, err := troupe.Lookup[*Account](rt, "bob")
	fmt.Fprintf(w, "lookup:   bob found: %t\n", err == nil && ref == bob)
	if err := bob.Stop(ctx); err != nil {
		return err
	}
	_, err = Deposit.Call(ctx, bob, 1)
	_, lerr := troupe.Lookup[*Account](rt, "bob")
	fmt.Fprintf(w, "stopped:  deposit to bob: %v; lookup: %v\n", err, lerr)

	return rt.Shutdown(ctx)
}

// SetPeer links an account to its peer for the Mirror demo.
var SetPeer = actor.NewMethod("set-peer", func(a *Account, _ *actor.Ctx, p *actor.Ref[*Account]) (struct{}, error) {
	a.peer = p
	return struct{}{}, nil
})
