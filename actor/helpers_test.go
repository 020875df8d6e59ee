package actor_test

import (
	"errors"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
)

var (
	newRuntime = testkit.NewRuntime
	bubble     = testkit.Bubble
	procs      = testkit.Procs
)

// recorder collects dead letters.
type recorder = testkit.Letters

type Account struct {
	balance int
	log     []int
}

var (
	Deposit = actor.NewMethod("deposit", func(a *Account, _ *actor.Ctx, n int) (int, error) {
		if n < 0 {
			return a.balance, errNegative
		}
		a.balance += n
		a.log = append(a.log, n)
		return a.balance, nil
	})
	Balance = actor.NewMethod("balance", func(a *Account, _ *actor.Ctx, _ struct{}) (int, error) {
		return a.balance, nil
	})
	Boom = actor.NewMethod("boom", func(a *Account, _ *actor.Ctx, v any) (int, error) {
		panic(v)
	})
	Sleep = actor.NewMethod("sleep", func(a *Account, c *actor.Ctx, d time.Duration) (int, error) {
		select {
		case <-time.After(d):
			return 0, nil
		case <-c.Context().Done():
			return 0, c.Context().Err()
		}
	})
	errNegative = errors.New("negative deposit")
)

func spawnAccount(t testing.TB, rt actor.Spawner, opts ...actor.Option) *actor.Ref[*Account] {
	t.Helper()
	ref, err := actor.Spawn(rt, &Account{}, opts...)
	if err != nil {
		t.Fatalf("Spawn: %v", err)
	}
	return ref
}
