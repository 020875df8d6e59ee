package remote_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/remote"
	_ "github.com/troupe-go/troupe/remote/embedded"
	troupe "github.com/troupe-go/troupe/runtime"
)

type Greeter struct{ greeted int }

var Greet = actor.NewMethod("greet", func(g *Greeter, _ *actor.Ctx, name string) (string, error) {
	if name == "" {
		return "", &remote.CodedError{Code: "no_name", Err: errors.New("nobody to greet")}
	}
	g.greeted++
	return fmt.Sprintf("hello %s (#%d)", name, g.greeted), nil
})

// Two nodes, one embedded server: the first exports a greeter, the second
// calls it by name.
func Example() {
	ctx := context.Background()
	rt, _ := troupe.New()
	defer rt.Shutdown(ctx)
	server, err := remote.Start(ctx, rt, remote.WithName("greeter")) // no URL: an embedded server
	if err != nil {
		fmt.Println(err)
		return
	}
	defer server.Shutdown(ctx) // after the client: it owns the server
	g, _ := actor.Spawn(rt, &Greeter{})
	_ = remote.Export(server, "greeter", g, remote.Serve(Greet))

	rt2, _ := troupe.New()
	defer rt2.Shutdown(ctx)
	client, _ := remote.Start(ctx, rt2, remote.WithURL(server.URL()))
	defer client.Shutdown(ctx)

	greet := remote.Bind(client, "greeter", Greet)
	fmt.Println(greet.Call(ctx, "ada"))
	_, err = greet.Call(ctx, "")
	var re *remote.Error
	if errors.As(err, &re) {
		fmt.Println(re.Code, re.Message)
	}
	// Output:
	// hello ada (#1) <nil>
	// no_name nobody to greet
}

// Resolve is cocaine's Locator.resolve: which nodes serve a name, its
// version and its API.
func ExampleResolve() {
	ctx := context.Background()
	rt, _ := troupe.New()
	defer rt.Shutdown(ctx)
	node, err := remote.Start(ctx, rt, remote.WithName("n1"), remote.WithVersion("2.1.0"))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer node.Shutdown(ctx)
	g, _ := actor.Spawn(rt, &Greeter{})
	_ = remote.Export(node, "greeter", g, remote.Serve(Greet))

	svc, err := remote.Resolve(ctx, node, "greeter")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(svc.Name, svc.Version, svc.Instances[0].Node)
	for _, m := range svc.API {
		fmt.Println(m.Name, m.Subject, m.Request, m.Reply)
	}
	_, err = remote.Resolve(ctx, node, "nobody")
	fmt.Println(errors.Is(err, remote.ErrNotFound))
	// Output:
	// greeter 2.1.0 n1
	// greet troupe.greeter.greet string string
	// true
}

type Ticker struct{ out *actor.Out[int] }

// Ticks sends n numbers and keeps its stream open for more.
var Ticks = actor.NewStream("ticks", func(t *Ticker, _ *actor.Ctx, n int, out *actor.Out[int]) error {
	for i := range n {
		_ = out.Send(i * 10)
	}
	t.out = out
	return nil
})

// A remote reader takes the local reader's options: actor.Recent and
// actor.Since place it, actor.ReadTimeout ends it when no item comes.
func ExampleBindStream() {
	ctx := context.Background()
	rt, _ := troupe.New()
	defer rt.Shutdown(ctx)
	node, err := remote.Start(ctx, rt)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer node.Shutdown(ctx)
	tk, _ := actor.Spawn(rt, &Ticker{})
	_ = remote.Export(node, "ticker", tk, remote.ServeStream(Ticks))

	ticks := remote.BindStream(node, "ticker", Ticks)
	f, err := ticks.Open(ctx, 5, actor.Recent(2), actor.ReadTimeout(100*time.Millisecond))
	if err != nil {
		fmt.Println(err)
		return
	}
	for it, err := range f.All() {
		if err != nil {
			fmt.Println("end:", errors.Is(err, actor.ErrTimeout))
			break
		}
		fmt.Println(it.Seq, it.V)
	}
	// Resume from item 1, by the first reader's Ref.
	g, _ := ticks.Follow(ctx, f.Ref(), actor.Since(1))
	defer g.Close()
	for it, err := range g.All() {
		if err != nil || it.Seq == 4 {
			break
		}
		fmt.Println("resumed", it.Seq, it.V)
	}
	// Output:
	// 3 30
	// 4 40
	// end: true
	// resumed 1 10
	// resumed 2 20
	// resumed 3 30
}
