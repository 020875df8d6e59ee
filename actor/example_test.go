package actor_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

type Wallet struct{ coins int }

var (
	Earn = actor.NewMethod("earn", func(w *Wallet, _ *actor.Ctx, n int) (int, error) {
		w.coins += n
		return w.coins, nil
	})
	Spend = actor.NewMethod("spend", func(w *Wallet, _ *actor.Ctx, n int) (int, error) {
		if n > w.coins {
			return w.coins, errors.New("not enough coins")
		}
		w.coins -= n
		return w.coins, nil
	})
)

func ExampleSpawn() {
	rt, err := troupe.New()
	if err != nil {
		panic(err)
	}
	defer rt.Shutdown(context.Background())

	w, err := actor.Spawn(rt, &Wallet{}, actor.WithName("wallet"))
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	_ = Earn.Cast(w, 5)                // oneway
	coins, err := Earn.Call(ctx, w, 3) // sync: runs after the Cast
	fmt.Println(coins, err)
	_, err = Spend.Call(ctx, w, 100)
	fmt.Println(err)
	// Output:
	// 8 <nil>
	// not enough coins
}

func ExampleMethod_Ask() {
	rt, _ := troupe.New()
	defer rt.Shutdown(context.Background())
	ctx := context.Background()

	a, _ := actor.Spawn(rt, &Wallet{})
	b, _ := actor.Spawn(rt, &Wallet{})
	fa, fb := Earn.Ask(ctx, a, 1), Earn.Ask(ctx, b, 2) // both run at once
	vals, err := actor.AwaitAll(ctx, fa, fb)
	if err != nil {
		panic(err)
	}
	fmt.Println(vals)
	// Output: [1 2]
}

func ExampleMethod_Call_timeout() {
	rt, _ := troupe.New()
	defer rt.Shutdown(context.Background())
	slow := actor.NewMethod("slow", func(w *Wallet, c *actor.Ctx, d time.Duration) (int, error) {
		select {
		case <-time.After(d):
		case <-c.Context().Done(): // the caller gave up
		}
		return w.coins, nil
	})
	w, _ := actor.Spawn(rt, &Wallet{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err := slow.Call(ctx, w, time.Minute)
	fmt.Println(errors.Is(err, actor.ErrTimeout), errors.Is(err, context.DeadlineExceeded))
	// Output: true true
}

func ExampleAfter() {
	rt, _ := troupe.New()
	defer rt.Shutdown(context.Background())
	fired := make(chan int, 1)
	tick := actor.NewMethod("tick", func(w *Wallet, _ *actor.Ctx, n int) (struct{}, error) {
		fired <- n
		return struct{}{}, nil
	})
	arm := actor.NewMethod("arm", func(w *Wallet, c *actor.Ctx, _ struct{}) (struct{}, error) {
		err := actor.After(c, "reminder", 5*time.Millisecond, tick, 42)
		return struct{}{}, err
	})
	w, _ := actor.Spawn(rt, &Wallet{})
	if _, err := arm.Call(context.Background(), w, struct{}{}); err != nil {
		panic(err)
	}
	fmt.Println(<-fired)
	// Output: 42
}

// A session that ends itself after a spell without calls.
type Session struct{ user string }

var Expire = actor.NewMethod("expire", func(s *Session, c *actor.Ctx, _ struct{}) (struct{}, error) {
	fmt.Println("session of", s.user, "expired")
	c.Stop()
	return struct{}{}, nil
})

func ExampleWithIdleTimeout() {
	rt, _ := troupe.New()
	defer rt.Shutdown(context.Background())

	ref, _ := actor.Spawn(rt, &Session{user: "ada"}, actor.WithIdleTimeout(10*time.Millisecond, Expire, struct{}{}))
	<-ref.Done()
	// Output: session of ada expired
}

func ExampleRef_Kill() {
	rt, _ := troupe.New()
	defer rt.Shutdown(context.Background())

	w, _ := actor.Spawn(rt, &Wallet{})
	w.Kill() // does not wait: timers, backoffs and queued calls end at once
	<-w.Done()
	_, err := Earn.Call(context.Background(), w, 1)
	fmt.Println(errors.Is(err, actor.ErrStopped))
	// Output: true
}

// Meter is a state that a panic throws away under Restart.
type Meter struct{ total int }

var Record = actor.NewMethod("record", func(m *Meter, _ *actor.Ctx, n int) (int, error) {
	if n < 0 {
		panic("negative reading")
	}
	m.total += n
	return m.total, nil
})

func ExampleWithSupervision() {
	rt, _ := troupe.New()
	defer rt.Shutdown(context.Background())
	ctx := context.Background()

	// SpawnFunc keeps the factory: a restart takes a fresh state from it.
	meter, _ := actor.SpawnFunc(rt, func() *Meter { return &Meter{} },
		actor.WithSupervision(actor.Supervision{Directive: actor.Restart, Backoff: time.Millisecond}))
	fmt.Println(Record.Call(ctx, meter, 5))

	_, err := Record.Call(ctx, meter, -1) // the caller gets the panic
	var pe *actor.PanicError
	fmt.Println(errors.As(err, &pe), pe.Value)

	// The next call waits out the backoff and runs on the fresh state.
	fmt.Println(Record.Call(ctx, meter, 1))
	// Output:
	// 5 <nil>
	// true negative reading
	// 1 <nil>
}
