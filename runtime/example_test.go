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
