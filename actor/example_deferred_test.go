package actor_test

import (
	"context"
	"fmt"
	"time"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

// Front hands each call to one of its workers and takes the next call at
// once; the worker answers the caller directly.
type Front struct {
	workers []*actor.Ref[*Squarer]
	next    int
}

type Squarer struct{}

type squareJob struct {
	n int
	r *actor.Reply[int]
}

var (
	Square = actor.NewDeferred("square", func(f *Front, _ *actor.Ctx, n int, r *actor.Reply[int]) {
		w := f.workers[f.next%len(f.workers)]
		f.next++
		if err := squareOne.Cast(w, squareJob{n, r}); err != nil {
			_ = r.Send(0, err) // the worker is gone: answer now
		}
	})
	squareOne = actor.NewMethod("square one", func(_ *Squarer, _ *actor.Ctx, j squareJob) (struct{}, error) {
		return struct{}{}, j.r.Send(j.n*j.n, nil)
	})
)

func ExampleNewDeferred() {
	rt, err := troupe.New()
	if err != nil {
		panic(err)
	}
	defer rt.Close()

	f := &Front{}
	for range 3 {
		w, _ := actor.Spawn(rt, &Squarer{})
		f.workers = append(f.workers, w)
	}
	front, _ := actor.Spawn(rt, f)

	ctx := context.Background()
	var futures []*actor.Future[int]
	for n := 1; n <= 5; n++ {
		futures = append(futures, Square.Ask(ctx, front, n))
	}
	squares, err := actor.AwaitAll(ctx, futures...)
	fmt.Println(squares, err)
	// Output: [1 4 9 16 25] <nil>
}

// Cache answers from memory, or fetches off its turn and answers when the
// page comes back: its turn never waits for the network.
type Cache struct{ pages map[string]string }

type fetched struct {
	url, body string
	r         *actor.Reply[string]
}

// fetch stands for slow I/O that honours its ctx.
func fetch(ctx context.Context, url string) (string, error) {
	select {
	case <-time.After(10 * time.Millisecond):
		return "<h1>" + url + "</h1>", nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

var (
	Page = actor.NewDeferred("page", func(c *Cache, x *actor.Ctx, url string, r *actor.Reply[string]) {
		if body, ok := c.pages[url]; ok {
			_ = r.Send(body+" (cached)", nil)
			return
		}
		err := actor.Go(x, func(ctx context.Context) (fetched, error) {
			body, err := fetch(ctx, url)
			return fetched{url, body, r}, err
		}, stored)
		if err != nil {
			_ = r.Send("", err) // ErrWorkLimit, or the actor is stopping
		}
	})
	// stored runs on the cache's turn with the fetch's result.
	stored = actor.NewMethod("stored", func(c *Cache, _ *actor.Ctx, res actor.Result[fetched]) (struct{}, error) {
		f := res.Value
		if res.Err == nil {
			c.pages[f.url] = f.body
		}
		return struct{}{}, f.r.Send(f.body, res.Err)
	})
)

func ExampleGo() {
	rt, err := troupe.New()
	if err != nil {
		panic(err)
	}
	defer rt.Close()

	cache, _ := actor.Spawn(rt, &Cache{pages: map[string]string{}})
	ctx := context.Background()
	for range 2 {
		body, err := Page.Call(ctx, cache, "troupe.dev")
		fmt.Println(body, err)
	}
	// Output:
	// <h1>troupe.dev</h1> <nil>
	// <h1>troupe.dev</h1> (cached) <nil>
}
