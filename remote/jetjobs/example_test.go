package jetjobs_test

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/jobs"
	"github.com/troupe-go/troupe/remote/embedded"
	"github.com/troupe-go/troupe/remote/jetjobs"
	troupe "github.com/troupe-go/troupe/runtime"
)

type greeter struct{}

var greet = actor.NewMethod("greet", func(_ *greeter, _ *actor.Ctx, name string) (string, error) {
	return "hello, " + name, nil
})

// Two dispatchers share their jobs on an embedded JetStream server: a job
// submitted on the first runs on the second, where its host is.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv, err := embedded.Start(ctx)
	if err != nil {
		panic(err)
	}
	defer srv.Shutdown()
	dispatcher := func(name string) (*jobs.Dispatcher, *troupe.Runtime, func()) {
		rt, _ := troupe.New()
		nc, err := nats.Connect(srv.ClientURL())
		if err != nil {
			panic(err)
		}
		b, err := jetjobs.New(ctx, nc, jetjobs.WithNode(name))
		if err != nil {
			panic(err)
		}
		d, err := jobs.New(rt, jobs.WithBackend(b))
		if err != nil {
			panic(err)
		}
		return d, rt, func() { _ = d.Close(); nc.Close(); _ = rt.Close() }
	}
	front, _, stop1 := dispatcher("front")
	defer stop1()
	agent, rt, stop2 := dispatcher("agent")
	defer stop2()
	ref, _ := actor.Spawn(rt, &greeter{})
	if err := jobs.Register(agent, jobs.Ref("web01", ref), greet); err != nil {
		panic(err)
	}

	job, err := front.Submit(ctx, "web01", "greet", "harp")
	if err != nil {
		panic(err)
	}
	v, err := job.Result(ctx, true)
	fmt.Printf("%s %v %s\n", v, err, job.Status().State)
	// Output: "hello, harp" <nil> done
}
