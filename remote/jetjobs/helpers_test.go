package jetjobs_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/jobs"
	"github.com/troupe-go/troupe/remote/embedded"
	"github.com/troupe-go/troupe/remote/jetjobs"
	troupe "github.com/troupe-go/troupe/runtime"
)

// agent is the tests' host actor: harpd on one machine.
type agent struct{ p *probe }

// probe counts what the agents' handlers do, across nodes (one process).
type probe struct {
	calls   atomic.Int64
	running atomic.Int64
	peak    atomic.Int64
	entered chan string // a hold handler reports here that it runs, with its tag
}

func newProbe() *probe { return &probe{entered: make(chan string, 64)} }

func (p *probe) enter() {
	p.calls.Add(1)
	n := p.running.Add(1)
	for {
		old := p.peak.Load()
		if n <= old || p.peak.CompareAndSwap(old, n) {
			return
		}
	}
}

func (p *probe) exit() { p.running.Add(-1) }

var errBoom = errors.New("boom")

var (
	echo = actor.NewMethod("echo", func(a *agent, _ *actor.Ctx, s string) (string, error) {
		a.p.enter()
		defer a.p.exit()
		return s + "!", nil
	})
	empty = actor.NewMethod("empty", func(a *agent, _ *actor.Ctx, _ struct{}) (struct{}, error) {
		return struct{}{}, nil
	})
	fail = actor.NewMethod("fail", func(a *agent, _ *actor.Ctx, _ struct{}) (int, error) {
		return 0, fmt.Errorf("failing: %w", errBoom)
	})
	// work runs for ms milliseconds on a goroutine (a deferred method:
	// several run at once on one host), counted by the probe.
	work = actor.NewDeferred("work", func(a *agent, _ *actor.Ctx, ms int, r *actor.Reply[int]) {
		a.p.enter()
		go func() {
			// The probe's count is left before the reply is sent: once
			// sent, the job's slot may go to the next job, on any node,
			// before this goroutine runs on, and the peak would read one
			// too high.
			t := time.NewTimer(time.Duration(ms) * time.Millisecond)
			defer t.Stop()
			select {
			case <-t.C:
				a.p.exit()
				_ = r.Send(ms, nil)
			case <-r.Context().Done():
				a.p.exit()
				_ = r.Send(0, r.Context().Err())
			}
		}()
	})
	// hold runs until its job's context ends (a cancel, a watchdog, the
	// node's end).
	hold = actor.NewDeferred("hold", func(a *agent, _ *actor.Ctx, tag string, r *actor.Reply[string]) {
		a.p.enter()
		a.p.entered <- tag
		go func() {
			<-r.Context().Done()
			a.p.exit() // before the reply: see work
			_ = r.Send("", r.Context().Err())
		}()
	})
	// lines streams n lines, every ms milliseconds.
	lines = actor.NewStream("lines", func(a *agent, _ *actor.Ctx, q linesReq, out *actor.Out[string]) error {
		go func() {
			ctx := out.Context()
			for i := range q.N {
				if q.EveryMS > 0 {
					select {
					case <-time.After(time.Duration(q.EveryMS) * time.Millisecond):
					case <-ctx.Done():
						_ = out.Close(ctx.Err())
						return
					}
				}
				if out.SendWait(ctx, fmt.Sprintf("line %d", i)) != nil {
					return
				}
			}
			_ = out.Close(nil)
		}()
		return nil
	})
)

type linesReq struct {
	N       int `json:"n"`
	EveryMS int `json:"every_ms"`
}

func ctxTimeout(t testing.TB, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// startServer runs an embedded JetStream server for the test.
func startServer(t testing.TB) *embedded.Server {
	t.Helper()
	s, err := embedded.Start(context.Background(), embedded.WithStoreDir(t.TempDir()))
	if err != nil {
		t.Fatalf("embedded.Start: %v", err)
	}
	t.Cleanup(s.Shutdown)
	return s
}

// node is a dispatcher on its own runtime and connection: one machine.
type node struct {
	name string
	rt   *troupe.Runtime
	nc   *nats.Conn
	b    *jetjobs.Backend
	d    *jobs.Dispatcher
	p    *probe
}

// startNode starts a node on url, with the agent "web" registered on it
// if host is true. Its teardown closes dispatcher, connection, runtime,
// in that order (before the servers: registered after them).
func startNode(t testing.TB, url, name string, p *probe, host bool, opts ...jetjobs.Option) *node {
	t.Helper()
	return startNodeWith(t, url, name, p, host, nil, opts...)
}

// startNodeWith is startNode with more connection options.
func startNodeWith(t testing.TB, url, name string, p *probe, host bool, natsOpts []nats.Option, opts ...jetjobs.Option) *node {
	t.Helper()
	rt, err := troupe.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close() })
	nc, err := nats.Connect(url, append([]nats.Option{nats.Name(name), nats.MaxReconnects(-1),
		nats.ReconnectWait(20 * time.Millisecond)}, natsOpts...)...)
	if err != nil {
		t.Fatalf("nats.Connect: %v", err)
	}
	t.Cleanup(nc.Close)
	ctx := ctxTimeout(t, 30*time.Second)
	b, err := jetjobs.New(ctx, nc, append([]jetjobs.Option{jetjobs.WithNode(name), jetjobs.WithMemoryStorage()}, opts...)...)
	if err != nil {
		t.Fatalf("jetjobs.New: %v", err)
	}
	d, err := jobs.New(rt, jobs.WithBackend(b))
	if err != nil {
		t.Fatalf("jobs.New: %v", err)
	}
	t.Cleanup(func() { _ = d.Close() })
	n := &node{name: name, rt: rt, nc: nc, b: b, d: d, p: p}
	if host {
		n.host(t)
	}
	return n
}

// host registers the agent "web" with every test procedure.
func (n *node) host(t testing.TB) {
	t.Helper()
	ref, err := actor.Spawn(n.rt, &agent{p: n.p})
	if err != nil {
		t.Fatal(err)
	}
	h := jobs.Ref("web", ref)
	for _, m := range []*actor.Method[*agent, string, string]{echo} {
		if err := jobs.Register(n.d, h, m); err != nil {
			t.Fatal(err)
		}
	}
	must(t, jobs.Register(n.d, h, empty))
	must(t, jobs.Register(n.d, h, fail))
	must(t, jobs.Register(n.d, h, work))
	must(t, jobs.Register(n.d, h, hold))
	must(t, jobs.RegisterStream(n.d, h, lines))
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// result waits for j's result, bounded by 20 s.
func result(t testing.TB, j *jobs.Job) (any, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return j.Result(ctx, true)
}

// entered waits for a hold handler to run and returns its tag.
func entered(t testing.TB, p *probe) string {
	t.Helper()
	select {
	case tag := <-p.entered:
		return tag
	case <-time.After(20 * time.Second):
		t.Fatal("no hold handler ran")
		return ""
	}
}

// holdLease is the short lease of the tests that watch a running job's
// lease: its record is rewritten every 100 ms.
const holdLease = 300 * time.Millisecond

// holding starts node a (which submits) and node b (which hosts "web"),
// both with holdLease, submits a "hold" job of arg on a with opts, and
// returns once its handler runs on b: a, the job, the probe, a JetStream
// handle on a's connection, the jobs' record bucket and the test's ctx.
func holding(t *testing.T, arg string, opts ...jobs.SubmitOption) (*node, *jobs.Job, *probe, jetstream.JetStream, jetstream.KeyValue, context.Context) {
	t.Helper()
	s := startServer(t)
	p := newProbe()
	lease := []jetjobs.Option{jetjobs.WithLease(holdLease)}
	a := startNode(t, s.ClientURL(), "a", p, false, lease...)
	startNode(t, s.ClientURL(), "b", p, true, lease...)
	ctx := ctxTimeout(t, 30*time.Second)
	j, err := a.d.Submit(ctx, "web", "hold", arg, opts...)
	must(t, err)
	entered(t, p)
	js, err := jetstream.New(a.nc)
	must(t, err)
	kv, err := js.KeyValue(ctx, "jobs_jobs")
	must(t, err)
	return a, j, p, js, kv, ctx
}
