package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/jobs"
	troupe "github.com/troupe-go/troupe/runtime"
)

// Agent is a host: the agent of one machine.
type Agent struct{ restarts int }

// Restart restarts a service and returns how many restarts it has made.
var Restart = actor.NewMethod("restart_nginx", func(a *Agent, _ *actor.Ctx, service string) (string, error) {
	a.restarts++
	return fmt.Sprintf("%s restarted (%d)", service, a.restarts), nil
})

// Tail streams n log lines.
var Tail = actor.NewStream("tail", func(_ *Agent, _ *actor.Ctx, n int, out *actor.Out[string]) error {
	for i := range n {
		_ = out.Send(fmt.Sprintf("line %d", i))
	}
	return out.Close(nil)
})

func Example() {
	rt, _ := troupe.New()
	defer rt.Shutdown(context.Background())
	d, _ := jobs.New(rt)
	defer d.Shutdown(context.Background())
	web01, _ := actor.Spawn(rt, &Agent{})
	_ = jobs.Register(d, jobs.Ref("web01", web01), Restart)

	ctx := context.Background()
	job, _ := d.Submit(ctx, "web01", "restart_nginx", "nginx",
		jobs.Queue("nginx", 1), jobs.MaxExec(15*time.Second), jobs.Info("ticket 42"), jobs.ID("restart-1"))
	v, err := job.Result(ctx, true)
	fmt.Println(v, err, job.Status().State, job.Info())

	// Found again by id; the same id with the same args is the same job.
	again, _ := d.Submit(ctx, "web01", "restart_nginx", "nginx", jobs.ID("restart-1"))
	fmt.Println(again == job)
	_, err = d.Submit(ctx, "web01", "restart_nginx", "apache", jobs.ID("restart-1"))
	fmt.Println(errors.Is(err, jobs.ErrConflict))
	// Output:
	// nginx restarted (1) <nil> done ticket 42
	// true
	// true
}

func ExampleJob_Follow() {
	rt, _ := troupe.New()
	defer rt.Shutdown(context.Background())
	d, _ := jobs.New(rt)
	defer d.Shutdown(context.Background())
	host, _ := actor.Spawn(rt, &Agent{})
	_ = jobs.RegisterStream(d, jobs.Ref("web01", host), Tail)

	ctx := context.Background()
	job, _ := d.Submit(ctx, "web01", "tail", 4)
	f, _ := job.Follow(ctx, actor.Since(0))
	for it, err := range f.All() {
		fmt.Println(it.Seq, it.V, err)
	}
	// Resume later from item 2: harp's follow(since=2).
	f, _ = job.Follow(ctx, actor.Since(2))
	items, err := f.Collected()
	fmt.Println(items, err)
	// Output:
	// 0 line 0 <nil>
	// 1 line 1 <nil>
	// 2 line 2 <nil>
	// 3 line 3 <nil>
	// [{2 line 2} {3 line 3}] EOF
}

func ExampleJob_Cancel() {
	rt, _ := troupe.New()
	defer rt.Shutdown(context.Background())
	d, _ := jobs.New(rt)
	defer d.Shutdown(context.Background())
	host, _ := actor.Spawn(rt, &Agent{})
	_ = jobs.Register(d, jobs.Ref("web01", host), Restart)
	ctx := context.Background()

	// A queue of concurrency 1, taken by a job that waits for its host.
	block := make(chan struct{})
	_ = jobs.Register(d, jobs.Ref("web01", host), actor.NewMethod("wait", func(*Agent, *actor.Ctx, struct{}) (int, error) {
		<-block
		return 0, nil
	}))
	first, _ := d.Submit(ctx, "web01", "wait", nil, jobs.Queue("q", 1))
	second, _ := d.Submit(ctx, "web01", "restart_nginx", "nginx", jobs.Queue("q", 1))
	fmt.Println(second.Status().State, second.Cancel(), second.Cancel())
	_, err := second.Result(ctx, true)
	fmt.Println(errors.Is(err, jobs.ErrCancelled))
	close(block)
	_, _ = first.Result(ctx, true)
	// Output:
	// queued true false
	// true
}

func ExampleHandler() {
	rt, _ := troupe.New()
	defer rt.Shutdown(context.Background())
	d, _ := jobs.New(rt)
	defer d.Shutdown(context.Background())
	host, _ := actor.Spawn(rt, &Agent{})
	_ = jobs.Register(d, jobs.Ref("web01", host), Restart)

	mux := http.NewServeMux()
	mux.Handle("/jobs/", jobs.Handler(d))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	// Another process: harp's HarpCaller.
	rpc, _ := jobs.NewClient(srv.URL + "/jobs")
	ctx := context.Background()
	job, _ := rpc.Host("web01", jobs.Queue("nginx", 2)).Call(ctx, "restart_nginx", "nginx")
	v, err := job.Result(ctx, true)
	fmt.Println(string(v), err)
	_, err = rpc.Job("no-such-job").Status(ctx)
	fmt.Println(errors.Is(err, jobs.ErrNotFound))
	// Output:
	// "nginx restarted (1)" <nil>
	// true
}

func ExampleStateDiagram() {
	fmt.Print(jobs.StateDiagram())
	// Output:
	// ---
	// title: job
	// ---
	// stateDiagram-v2
	//     [*] --> queued
	//     queued --> running
	//     queued --> cancelled
	//     running --> done
	//     running --> failed
	//     running --> cancelled
	//     running --> expired
	//     done --> [*]
	//     failed --> [*]
	//     cancelled --> [*]
	//     expired --> [*]
}
