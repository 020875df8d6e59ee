package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

func ExampleNew() {
	rt, err := troupe.New(troupe.WithCallTimeout(2 * time.Second))
	if err != nil {
		panic(err)
	}
	ref, _ := actor.Spawn(rt, &Counter{})
	n, _ := Inc.Call(context.Background(), ref, 2)
	fmt.Println(n)

	if err := rt.Shutdown(context.Background()); err != nil {
		panic(err)
	}
	_, err = Inc.Call(context.Background(), ref, 1)
	fmt.Println(errors.Is(err, actor.ErrStopped))
	// Output:
	// 2
	// true
}

func ExampleLookup() {
	rt, _ := troupe.New()
	defer rt.Shutdown(context.Background())
	_, _ = actor.Spawn(rt, &Counter{}, actor.WithName("visits"))

	ref, err := troupe.Lookup[*Counter](rt, "visits")
	if err != nil {
		panic(err)
	}
	n, _ := Inc.Call(context.Background(), ref, 1)
	fmt.Println(n)
	_, err = troupe.Lookup[*Counter](rt, "nobody")
	fmt.Println(errors.Is(err, troupe.ErrNotFound))
	// Output:
	// 1
	// true
}

func ExampleWithDeadLetterHook() {
	letters := make(chan troupe.DeadLetter, 1)
	rt, _ := troupe.New(troupe.WithDeadLetterHook(func(d troupe.DeadLetter) { letters <- d }))
	defer rt.Shutdown(context.Background())
	ref, _ := actor.Spawn(rt, &Counter{})
	_ = Inc.Cast(ref, -1) // the handler fails; nobody waits for a oneway
	d := <-letters
	fmt.Println(d.Reason, d.Method, d.Err)
	// Output: failed inc negative
}

type Cart struct{ items []string }

var AddItem = actor.NewMethod("add", func(c *Cart, _ *actor.Ctx, item string) (int, error) {
	c.items = append(c.items, item)
	return len(c.items), nil
})

// One actor per user session, made on first use and found afterwards.
func ExampleLookupOrSpawn() {
	rt, _ := troupe.New()
	defer rt.Shutdown(context.Background())
	ctx := context.Background()

	for _, item := range []string{"tea", "milk"} {
		cart, created, err := troupe.LookupOrSpawn(ctx, rt, "cart:ada", func() *Cart { return &Cart{} })
		if err != nil {
			panic(err)
		}
		n, _ := AddItem.Call(ctx, cart, item)
		fmt.Println(created, n)
	}
	// Output:
	// true 1
	// false 2
}

func ExampleRuntime_Shutdown() {
	rt, _ := troupe.New()
	ref, _ := actor.Spawn(rt, &Cart{})
	_ = AddItem.Cast(ref, "bread") // queued: Shutdown lets it run

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	fmt.Println(rt.Shutdown(ctx)) // graceful; past ctx it would force the stop
	fmt.Println(rt.Close())       // already stopped: the same result
	// Output:
	// <nil>
	// <nil>
}
