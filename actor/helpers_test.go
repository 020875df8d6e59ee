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

// newRuntime returns a runtime shut down when the test ends.
func newRuntime(t testing.TB, opts ...troupe.Option) *troupe.Runtime {
	t.Helper()
	rt, err := troupe.New(opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := rt.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return rt
}

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

// bubble runs f in a synctest bubble with a fake-time watchdog: a deadlock
// hidden by background tickers (the pool's housekeeping) shows up as a
// failure after an hour of fake time instead of a hang.
func bubble(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		w := time.AfterFunc(time.Hour, func() { panic("watchdog: the bubble made no progress for an hour of fake time") })
		defer w.Stop()
		f(t)
	})
}

// recorder collects dead letters.
type recorder struct {
	mu sync.Mutex
	ds []actor.DeadLetter
}

func (r *recorder) hook(d actor.DeadLetter) {
	r.mu.Lock()
	r.ds = append(r.ds, d)
	r.mu.Unlock()
}

func (r *recorder) all() []actor.DeadLetter {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]actor.DeadLetter(nil), r.ds...)
}

func (r *recorder) count(why actor.Reason, method string) int {
	n := 0
	for _, d := range r.all() {
		if d.Reason == why && d.Method == method {
			n++
		}
	}
	return n
}
