package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	"github.com/troupe-go/troupe/jobs"
	troupe "github.com/troupe-go/troupe/runtime"
)

// agent is the tests' host actor (harp's harpd on one machine).
type agent struct{ p *probe }

// probe counts what the agents' handlers do, across agents.
type probe struct {
	calls   atomic.Int64 // handler entries
	running atomic.Int64 // handlers between entry and return
	peak    atomic.Int64 // the most running at once
}

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

// gate holds a handler until the test releases it; returned is closed
// when the handler has returned.
type gate struct {
	release  chan struct{}
	entered  chan struct{}
	returned chan struct{}
	sawCtx   atomic.Pointer[error] // the handler's ctx error when it left
}

func newGate() *gate {
	return &gate{release: make(chan struct{}), entered: make(chan struct{}), returned: make(chan struct{})}
}

type pair struct{ A, B int }

var errBoom = errors.New("boom")

var (
	echo = actor.NewMethod("echo", func(a *agent, _ *actor.Ctx, s string) (string, error) {
		a.p.enter()
		defer a.p.exit()
		return s + "!", nil
	})
	add = actor.NewMethod("add", func(a *agent, _ *actor.Ctx, p pair) (int, error) {
		a.p.enter()
		defer a.p.exit()
		return p.A + p.B, nil
	})
	fail = actor.NewMethod("fail", func(a *agent, _ *actor.Ctx, _ struct{}) (int, error) {
		a.p.enter()
		defer a.p.exit()
		return 0, fmt.Errorf("failing: %w", errBoom)
	})
	crash = actor.NewMethod("crash", func(a *agent, _ *actor.Ctx, _ struct{}) (int, error) {
		a.p.enter()
		defer a.p.exit()
		panic("crash")
	})
	// hold waits for its gate or its ctx, whichever is first.
	hold = actor.NewMethod("hold", func(a *agent, c *actor.Ctx, g *gate) (string, error) {
		a.p.enter()
		defer a.p.exit()
		defer close(g.returned)
		close(g.entered)
		select {
		case <-g.release:
			return "released", nil
		case <-c.Context().Done():
			err := c.Context().Err()
			g.sawCtx.Store(&err)
			return "", err
		}
	})
	// stuck ignores its ctx: it returns when its gate opens.
	stuck = actor.NewMethod("stuck", func(a *agent, c *actor.Ctx, g *gate) (string, error) {
		a.p.enter()
		defer a.p.exit()
		defer close(g.returned)
		close(g.entered)
		<-g.release
		err := c.Context().Err()
		g.sawCtx.Store(&err)
		return "late", nil
	})
)

// tickReq asks ticker for n items (0: for ever) every period.
type tickReq struct {
	Every time.Duration
	N     int
}

var (
	// lines sends n items, 0 to n-1, during its turn, then ends.
	lines = actor.NewStream("lines", func(a *agent, _ *actor.Ctx, n int, out *actor.Out[int]) error {
		a.p.enter()
		defer a.p.exit()
		for i := range n {
			if err := out.Send(i); err != nil {
				return err
			}
		}
		return out.Close(nil)
	})
	// ticker sends from a goroutine, until n items or its Out's context
	// ends (the job ended).
	ticker = actor.NewStream("ticker", func(a *agent, _ *actor.Ctx, r tickReq, out *actor.Out[string]) error {
		ctx := out.Context()
		go func() {
			a.p.enter()
			defer a.p.exit()
			t := time.NewTicker(r.Every)
			defer t.Stop()
			for i := 0; r.N == 0 || i < r.N; i++ {
				select {
				case <-t.C:
				case <-ctx.Done():
					_ = out.Close(context.Cause(ctx))
					return
				}
				_ = out.Send(fmt.Sprintf("tick %d", i))
			}
			_ = out.Close(nil)
		}()
		return nil
	})
	// silent sends one item, then nothing until its Out's context ends.
	silent = actor.NewStream("silent", func(a *agent, _ *actor.Ctx, _ struct{}, out *actor.Out[string]) error {
		ctx := out.Context()
		_ = out.Send("hello")
		go func() {
			<-ctx.Done()
			_ = out.Close(nil)
		}()
		return nil
	})
	// stuckStream sends one item, then ignores its Out's context until
	// its gate opens.
	stuckStream = actor.NewStream("stuck_stream", func(a *agent, _ *actor.Ctx, g *gate, out *actor.Out[string]) error {
		_ = out.Context() // watched from the start, ignored
		_ = out.Send("working")
		close(g.entered)
		go func() {
			a.p.enter()
			defer a.p.exit()
			defer close(g.returned)
			<-g.release
			err := out.Context().Err()
			g.sawCtx.Store(&err)
			_ = out.Close(nil)
		}()
		return nil
	})
	// spin works a moment on a goroutine of its own, for the concurrency
	// test: its jobs run side by side whatever the host and the scheduler.
	spin = actor.NewStream("spin", func(a *agent, _ *actor.Ctx, _ struct{}, out *actor.Out[int]) error {
		go func() {
			a.p.enter()
			time.Sleep(20 * time.Microsecond)
			a.p.exit()
			_ = out.Close(nil)
		}()
		return nil
	})
	failStream = actor.NewStream("fail_stream", func(_ *agent, _ *actor.Ctx, n int, out *actor.Out[int]) error {
		for i := range n {
			_ = out.Send(i)
		}
		return errBoom
	})
)

// env is a runtime, a dispatcher and hosts "a0".."a<n-1>", each with
// every procedure; all torn down with the test.
type env struct {
	rt    *troupe.Runtime
	d     *jobs.Dispatcher
	p     *probe
	hosts []*actor.Ref[*agent]
}

func newEnv(t *testing.T, hosts int, opts ...jobs.Option) *env {
	t.Helper()
	rt := testkit.NewRuntime(t)
	d, err := jobs.New(rt, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = d.Close() })
	e := &env{rt: rt, d: d, p: &probe{}}
	for i := range hosts {
		ref, err := actor.Spawn(rt, &agent{p: e.p})
		if err != nil {
			t.Fatal(err)
		}
		e.hosts = append(e.hosts, ref)
		h := jobs.Ref(fmt.Sprintf("a%d", i), ref)
		for _, err := range []error{
			jobs.Register(d, h, echo), jobs.Register(d, h, add), jobs.Register(d, h, fail),
			jobs.Register(d, h, crash), jobs.Register(d, h, hold), jobs.Register(d, h, stuck),
			jobs.RegisterStream(d, h, spin), jobs.RegisterStream(d, h, lines), jobs.RegisterStream(d, h, ticker),
			jobs.RegisterStream(d, h, silent), jobs.RegisterStream(d, h, stuckStream),
			jobs.RegisterStream(d, h, failStream),
		} {
			if err != nil {
				t.Fatalf("Register: %v", err)
			}
		}
	}
	return e
}

// submit submits or fails the test.
func (e *env) submit(t *testing.T, host, proc string, args any, opts ...jobs.SubmitOption) *jobs.Job {
	t.Helper()
	j, err := e.d.Submit(context.Background(), host, proc, args, opts...)
	if err != nil {
		t.Fatalf("Submit %s/%s: %v", host, proc, err)
	}
	return j
}

// result waits for the job's outcome, for at most 10 s.
func result(t *testing.T, j *jobs.Job) (any, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := j.Result(ctx, true)
	if errors.Is(err, jobs.ErrNotFinished) {
		t.Fatalf("job %s did not finish: %v", j.ID(), err)
	}
	return v, err
}

// waitFor polls cond (real time, or fake time in a bubble) for at most
// 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// state is the job's state now.
func state(j *jobs.Job) jobs.State { return j.Status().State }
