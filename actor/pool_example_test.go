package actor_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

type Resizer struct{ done int }

var Thumbnail = actor.NewMethod("thumbnail", func(r *Resizer, _ *actor.Ctx, name string) (string, error) {
	r.done++
	return "thumb-" + name, nil
})

func ExampleNewPool() {
	rt, _ := troupe.New()
	defer rt.Shutdown(context.Background())
	ctx := context.Background()

	p, err := actor.NewPool(rt, 4, func() *Resizer { return &Resizer{} })
	if err != nil {
		panic(err)
	}
	out, err := actor.CallPool(ctx, Thumbnail, p, "cat.png") // one worker, round robin
	fmt.Println(out, err)

	var fs []*actor.Future[string]
	for _, name := range []string{"a.png", "b.png", "c.png"} {
		fs = append(fs, actor.AskPool(ctx, Thumbnail, p, name)) // spread over the workers
	}
	outs, err := actor.AwaitAll(ctx, fs...)
	fmt.Println(outs, err)
	fmt.Println(p.Stop(ctx), p.Stopped())
	// Output:
	// thumb-cat.png <nil>
	// [thumb-a.png thumb-b.png thumb-c.png] <nil>
	// <nil> true
}

type Cart struct{ items map[string]int }

var AddItem = actor.NewMethod("add item", func(c *Cart, _ *actor.Ctx, user string) (int, error) {
	c.items[user]++
	return c.items[user], nil
})

// Hash keeps each user's calls on one worker, in order: that worker's
// state holds the user's cart.
func ExampleHash() {
	rt, _ := troupe.New()
	defer rt.Shutdown(context.Background())
	p, _ := actor.NewPool(rt, 4, func() *Cart { return &Cart{items: map[string]int{}} },
		actor.Hash(func(user string) string { return user }))
	for _, user := range []string{"ann", "bob", "ann", "ann", "bob"} {
		n, _ := actor.CallPool(context.Background(), AddItem, p, user)
		fmt.Print(user, ":", n, " ")
	}
	fmt.Println()
	// Output: ann:1 bob:1 ann:2 ann:3 bob:2
}

type Config struct{ version int }

var Reload = actor.NewMethod("reload", func(c *Config, _ *actor.Ctx, v int) (int, error) {
	c.version = v
	return c.version, nil
})

// BroadcastPool reaches every worker: a configuration reload.
func ExampleBroadcastPool() {
	rt, _ := troupe.New()
	defer rt.Shutdown(context.Background())
	p, _ := actor.NewPool(rt, 3, func() *Config { return &Config{} })
	versions, err := actor.BroadcastPool(context.Background(), Reload, p, 7)
	fmt.Println(versions, err)
	// Output: [7 7 7] <nil>
}

type Replica struct{ name string }

var Read = actor.NewMethod("read", func(r *Replica, _ *actor.Ctx, key string) (string, error) {
	return strings.ToUpper(key), nil
})

// A group routes over actors spawned elsewhere, here found by name; a
// member that stops leaves the group.
func ExampleNewGroup() {
	rt, _ := troupe.New()
	defer rt.Shutdown(context.Background())
	ctx := context.Background()
	for _, name := range []string{"replica-1", "replica-2"} {
		_, _ = actor.Spawn(rt, &Replica{name: name}, actor.WithName(name))
	}
	var refs []*actor.Ref[*Replica]
	for _, name := range []string{"replica-1", "replica-2"} {
		r, _ := troupe.Lookup[*Replica](rt, name)
		refs = append(refs, r)
	}
	g, _ := actor.NewGroup(refs, actor.First(0)) // ask both, take the first reply
	v, err := actor.CallPool(ctx, Read, g, "k1")
	fmt.Println(v, err, g.Len())

	_ = refs[0].Stop(ctx)
	v, err = actor.CallPool(ctx, Read, g, "k2")
	fmt.Println(v, err, g.Len())
	// Output:
	// K1 <nil> 2
	// K2 <nil> 1
}

// Sizes streams the thumbnails of a batch, one item per picture.
var Sizes = actor.NewStream("sizes", func(r *Resizer, _ *actor.Ctx, names []string, out *actor.Out[string]) error {
	for _, name := range names {
		r.done++
		if err := out.Send("thumb-" + name); err != nil {
			return err
		}
	}
	return out.Close(nil)
})

func ExampleOpenPool() {
	rt, _ := troupe.New()
	defer rt.Shutdown(context.Background())
	ctx := context.Background()

	p, _ := actor.NewPool(rt, 2, func() *Resizer { return &Resizer{} }, actor.LeastBusy())
	f, err := actor.OpenPool(ctx, Sizes, p, []string{"a.png", "b.png", "c.png"})
	if err != nil {
		panic(err)
	}
	for it, err := range f.All() {
		fmt.Println(it.Seq, it.V, err)
	}
	// Output:
	// 0 thumb-a.png <nil>
	// 1 thumb-b.png <nil>
	// 2 thumb-c.png <nil>
}
