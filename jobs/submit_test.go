package jobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/testkit"
	"github.com/troupe-go/troupe/jobs"
	troupe "github.com/troupe-go/troupe/runtime"
)

func TestNewBadOptions(t *testing.T) {
	rt := testkit.NewRuntime(t)
	for _, tc := range []struct {
		name string
		opt  jobs.Option
	}{
		{"nil", nil},
		{"zero retention age", jobs.WithRetention(0, 10)},
		{"negative retention count", jobs.WithRetention(time.Hour, -1)},
		{"zero max queued", jobs.WithMaxQueued(0)},
		{"zero output items", jobs.WithOutputLimit(0, 10)},
		{"negative output bytes", jobs.WithOutputLimit(10, -1)},
		{"nil backend", jobs.WithBackend(nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := jobs.New(rt, tc.opt)
			if !errors.Is(err, jobs.ErrInvalidOption) || d != nil {
				t.Fatalf("got %v, %v; want nil, ErrInvalidOption", d, err)
			}
		})
	}
	if _, err := jobs.New(nil); !errors.Is(err, actor.ErrNilRuntime) {
		t.Fatalf("New(nil): got %v; want ErrNilRuntime", err)
	}
}

func TestRegisterBadInput(t *testing.T) {
	e := newEnv(t, 1)
	other, err := actor.Spawn(e.rt, &agent{p: e.p})
	if err != nil {
		t.Fatal(err)
	}
	h := jobs.Ref("a0", e.hosts[0])
	nilFn := actor.NewMethod[*agent, string, string]("nil_fn", nil)
	for _, tc := range []struct {
		name string
		reg  func() error
		want error
	}{
		{"nil dispatcher", func() error { return jobs.Register(nil, h, echo) }, jobs.ErrInvalidOption},
		{"nil method", func() error { return jobs.Register[*agent, string, string](e.d, h, nil) }, jobs.ErrInvalidOption},
		{"method with nil handler", func() error { return jobs.Register(e.d, h, nilFn) }, jobs.ErrInvalidOption},
		{"nil stream", func() error { return jobs.RegisterStream[*agent, int, int](e.d, h, nil) }, jobs.ErrInvalidOption},
		{"invalid host name", func() error { return jobs.Register(e.d, jobs.Ref("bad\nname", e.hosts[0]), echo) }, jobs.ErrInvalidOption},
		{"nil ref", func() error { return jobs.Register(e.d, jobs.Ref[*agent]("x", nil), echo) }, jobs.ErrInvalidOption},
		{"duplicate procedure", func() error { return jobs.Register(e.d, h, echo) }, jobs.ErrDuplicate},
		{"host name of another actor", func() error { return jobs.Register(e.d, jobs.Ref("a0", other), echo, jobs.As("echo2")) }, jobs.ErrDuplicate},
		{"host name of a named actor", func() error { return jobs.Register(e.d, jobs.Named[*agent]("a0"), echo, jobs.As("echo3")) }, jobs.ErrDuplicate},
		{"invalid As", func() error { return jobs.Register(e.d, h, echo, jobs.As("")) }, jobs.ErrInvalidOption},
		{"nil option", func() error { return jobs.Register(e.d, h, echo, nil) }, jobs.ErrInvalidOption},
		{"decoder of another type", func() error {
			return jobs.Register(e.d, h, echo, jobs.As("echo4"), jobs.DecodeWith(func([]byte) (int, error) { return 0, nil }))
		}, jobs.ErrInvalidOption},
		{"nil decoder", func() error { return jobs.Register(e.d, h, echo, jobs.As("echo5"), jobs.DecodeWith[string](nil)) }, jobs.ErrInvalidOption},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.reg(); !errors.Is(err, tc.want) {
				t.Fatalf("got %v; want %v", err, tc.want)
			}
		})
	}
	// The same host name and actor takes more procedures.
	if err := jobs.Register(e.d, h, echo, jobs.As("echo_again")); err != nil {
		t.Fatalf("second name for echo: %v", err)
	}
	_ = e.d.Close()
	if err := jobs.Register(e.d, h, echo, jobs.As("late")); !errors.Is(err, jobs.ErrClosed) {
		t.Fatalf("after Close: got %v; want ErrClosed", err)
	}
}

func TestSubmitBadInput(t *testing.T) {
	e := newEnv(t, 1)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name  string
		ctx   context.Context
		host  string
		proc  string
		args  any
		opts  []jobs.SubmitOption
		want  error
		wantT error // a second sentinel it must match too
	}{
		{name: "nil ctx", host: "a0", proc: "echo", args: "x", want: actor.ErrNilContext},
		{name: "cancelled ctx", ctx: cancelled, host: "a0", proc: "echo", args: "x", want: context.Canceled},
		{name: "unknown host", host: "nope", proc: "echo", args: "x", want: jobs.ErrUnknownHost},
		{name: "unknown procedure", host: "a0", proc: "nope", args: "x", want: jobs.ErrUnknownProcedure},
		{name: "args of another type", host: "a0", proc: "echo", args: 42, want: jobs.ErrBadArgs},
		{name: "args that are bad JSON", host: "a0", proc: "add", args: json.RawMessage(`{"A":`), want: jobs.ErrBadArgs},
		{name: "args of another JSON shape", host: "a0", proc: "add", args: json.RawMessage(`"text"`), want: jobs.ErrBadArgs},
		{name: "args with unknown fields", host: "a0", proc: "add", args: json.RawMessage(`{"A":1,"C":2}`), want: jobs.ErrBadArgs},
		{name: "args with trailing data", host: "a0", proc: "add", args: json.RawMessage(`{"A":1} {}`), want: jobs.ErrBadArgs},
		{name: "zero concurrency", host: "a0", proc: "echo", args: "x", opts: []jobs.SubmitOption{jobs.Queue("q", 0)}, want: jobs.ErrInvalidOption},
		{name: "negative concurrency", host: "a0", proc: "echo", args: "x", opts: []jobs.SubmitOption{jobs.Queue("q", -1)}, want: jobs.ErrInvalidOption},
		{name: "bad queue name", host: "a0", proc: "echo", args: "x", opts: []jobs.SubmitOption{jobs.Queue("", 1)}, want: jobs.ErrInvalidOption},
		{name: "zero max exec", host: "a0", proc: "echo", args: "x", opts: []jobs.SubmitOption{jobs.MaxExec(0)}, want: jobs.ErrInvalidOption},
		{name: "negative max exec", host: "a0", proc: "echo", args: "x", opts: []jobs.SubmitOption{jobs.MaxExec(-time.Second)}, want: jobs.ErrInvalidOption},
		{name: "zero read timeout", host: "a0", proc: "echo", args: "x", opts: []jobs.SubmitOption{jobs.ReadIdle(0)}, want: jobs.ErrInvalidOption},
		{name: "negative read timeout", host: "a0", proc: "echo", args: "x", opts: []jobs.SubmitOption{jobs.ReadIdle(-1)}, want: jobs.ErrInvalidOption},
		{name: "info not JSON", host: "a0", proc: "echo", args: "x", opts: []jobs.SubmitOption{jobs.Info(make(chan int))}, want: jobs.ErrInvalidOption},
		{name: "nil option", host: "a0", proc: "echo", args: "x", opts: []jobs.SubmitOption{nil}, want: jobs.ErrInvalidOption},
		{name: "empty id", host: "a0", proc: "echo", args: "x", opts: []jobs.SubmitOption{jobs.ID("")}, want: jobs.ErrInvalidID},
		{name: "id of 256 bytes", host: "a0", proc: "echo", args: "x", opts: []jobs.SubmitOption{jobs.ID(strings.Repeat("x", 256))}, want: jobs.ErrInvalidID},
		{name: "id with a control character", host: "a0", proc: "echo", args: "x", opts: []jobs.SubmitOption{jobs.ID("a\x00b")}, want: jobs.ErrInvalidID},
		{name: "id not UTF-8", host: "a0", proc: "echo", args: "x", opts: []jobs.SubmitOption{jobs.ID("a\xffb")}, want: jobs.ErrInvalidID},
		// "." and ".." are path elements an HTTP server cleans away: such a
		// job could not be reached over HTTP (GET /jobs/. is the list).
		{name: "id .", host: "a0", proc: "echo", args: "x", opts: []jobs.SubmitOption{jobs.ID(".")}, want: jobs.ErrInvalidID},
		{name: "id ..", host: "a0", proc: "echo", args: "x", opts: []jobs.SubmitOption{jobs.ID("..")}, want: jobs.ErrInvalidID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := tc.ctx
			if ctx == nil && tc.want != actor.ErrNilContext {
				ctx = context.Background()
			}
			j, err := e.d.Submit(ctx, tc.host, tc.proc, tc.args, tc.opts...)
			if !errors.Is(err, tc.want) || j != nil {
				t.Fatalf("got %v, %v; want nil, %v", j, err, tc.want)
			}
		})
	}
	if n := len(e.d.List(jobs.Filter{})); n != 0 {
		t.Fatalf("jobs after refused submissions: got %d; want 0", n)
	}
	if n := e.p.calls.Load(); n != 0 {
		t.Fatalf("handler calls: got %d; want 0", n)
	}
	// An id of 255 bytes is fine.
	j := e.submit(t, "a0", "echo", "x", jobs.ID(strings.Repeat("x", 255)))
	if _, err := result(t, j); err != nil {
		t.Fatalf("255-byte id: %v", err)
	}
}

func TestSubmitOutcomes(t *testing.T) {
	e := newEnv(t, 1)
	for _, tc := range []struct {
		name  string
		proc  string
		args  any
		want  any
		state jobs.State
		check func(t *testing.T, err error)
	}{
		{name: "value", proc: "echo", args: "hi", want: "hi!", state: jobs.Done},
		{name: "value from JSON", proc: "add", args: json.RawMessage(`{"A":2,"B":3}`), want: 5, state: jobs.Done},
		{name: "value from JSON bytes", proc: "add", args: []byte(`{"A":1,"B":1}`), want: 2, state: jobs.Done},
		{name: "nil args are the zero request", proc: "add", args: nil, want: 0, state: jobs.Done},
		{name: "stream: nil value", proc: "lines", args: 3, want: nil, state: jobs.Done},
		{name: "error as returned", proc: "fail", state: jobs.Failed, check: func(t *testing.T, err error) {
			if !errors.Is(err, errBoom) {
				t.Fatalf("got %v; want errBoom", err)
			}
		}},
		{name: "stream error", proc: "fail_stream", args: 2, state: jobs.Failed, check: func(t *testing.T, err error) {
			if !errors.Is(err, errBoom) {
				t.Fatalf("got %v; want errBoom", err)
			}
		}},
		{name: "panic with its stack", proc: "crash", state: jobs.Failed, check: func(t *testing.T, err error) {
			var pe *actor.PanicError
			if !errors.As(err, &pe) || pe.Value != "crash" || !strings.Contains(string(pe.Stack), "helpers_test.go") {
				t.Fatalf("got %#v; want a *actor.PanicError of \"crash\" with the handler's stack", err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := time.Now()
			j := e.submit(t, "a0", tc.proc, tc.args)
			v, err := result(t, j)
			if tc.check != nil {
				tc.check(t, err)
			} else if err != nil || v != tc.want {
				t.Fatalf("got %v, %v; want %v, nil", v, err, tc.want)
			}
			st := j.Status()
			if st.State != tc.state || st.Overrunning {
				t.Fatalf("status: got %s (overrunning %v); want %s", st.State, st.Overrunning, tc.state)
			}
			if st.Submitted.Before(before) || st.Started.Before(st.Submitted) || st.Ended.Before(st.Started) {
				t.Fatalf("times: submitted %v, started %v, ended %v (after %v)", st.Submitted, st.Started, st.Ended, before)
			}
			if st.ID != j.ID() || st.Host != "a0" || st.Procedure != tc.proc || st.Queue != "" {
				t.Fatalf("status: got %+v", st)
			}
			select {
			case <-j.Done():
			default:
				t.Fatal("Done not closed after Result")
			}
		})
	}
}

func TestResultNotFinished(t *testing.T) {
	e := newEnv(t, 1)
	g := newGate()
	j := e.submit(t, "a0", "hold", g)
	<-g.entered
	if v, err := j.Result(context.Background(), false); !errors.Is(err, jobs.ErrNotFinished) || v != nil {
		t.Fatalf("no wait: got %v, %v; want nil, ErrNotFinished", v, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	if _, err := j.Result(ctx, true); !errors.Is(err, jobs.ErrNotFinished) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("wait past ctx: got %v; want ErrNotFinished and DeadlineExceeded", err)
	}
	if _, err := j.Result(nil, true); !errors.Is(err, actor.ErrNilContext) { //nolint:staticcheck // the nil ctx is the test
		t.Fatalf("nil ctx: got %v; want ErrNilContext", err)
	}
	if st := j.Status(); st.State != jobs.Running || st.Started.IsZero() || !st.Ended.IsZero() {
		t.Fatalf("status: got %+v; want running, started, not ended", st)
	}
	close(g.release)
	if v, err := result(t, j); v != "released" || err != nil {
		t.Fatalf("got %v, %v; want released", v, err)
	}
}

func TestIdempotentID(t *testing.T) {
	e := newEnv(t, 2)
	j := e.submit(t, "a0", "add", pair{1, 2}, jobs.ID("job-1"))
	if _, err := result(t, j); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		host, proc string
		args       any
		want       error
	}{
		{"same args", "a0", "add", pair{1, 2}, nil},
		{"same args as JSON", "a0", "add", json.RawMessage(`{ "B": 2, "A": 1 }`), nil},
		{"other args", "a0", "add", pair{2, 1}, jobs.ErrConflict},
		{"other procedure", "a0", "echo", "x", jobs.ErrConflict},
		{"other host", "a1", "add", pair{1, 2}, jobs.ErrConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			again, err := e.d.Submit(context.Background(), tc.host, tc.proc, tc.args, jobs.ID("job-1"), jobs.Queue("other", 1))
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v; want %v", err, tc.want)
			}
			if tc.want == nil && again != j {
				t.Fatalf("got job %p; want the first one %p", again, j)
			}
		})
	}
	if n := e.p.calls.Load(); n != 1 {
		t.Fatalf("handler calls: got %d; want 1 (nothing ran again)", n)
	}
	if got, err := e.d.Job("job-1"); got != j || err != nil {
		t.Fatalf("Job: got %p, %v; want %p", got, err, j)
	}
	if _, err := e.d.Job("nope"); !errors.Is(err, jobs.ErrNotFound) {
		t.Fatalf("unknown job: got %v; want ErrNotFound", err)
	}
}

func TestGeneratedIDsAvoidChosenOnes(t *testing.T) {
	e := newEnv(t, 1)
	first := e.submit(t, "a0", "echo", "x")
	// Take the next generated id by hand.
	prefix := first.ID()[:strings.LastIndexByte(first.ID(), '-')+1]
	taken := e.submit(t, "a0", "echo", "taken", jobs.ID(prefix+"2"))
	next := e.submit(t, "a0", "echo", "y")
	if next == taken || next.ID() == taken.ID() {
		t.Fatalf("generated id %q collides with a chosen one", next.ID())
	}
}

func TestInfoArgs(t *testing.T) {
	e := newEnv(t, 1)
	type meta struct{ User string }
	j := e.submit(t, "a0", "add", json.RawMessage(`{"A":4,"B":5}`), jobs.Info(meta{"ann"}))
	if got, ok := j.Args().(pair); !ok || got != (pair{4, 5}) {
		t.Fatalf("Args: got %#v; want pair{4, 5}", j.Args())
	}
	if got := j.Info(); got != (meta{"ann"}) {
		t.Fatalf("Info: got %#v; want meta{ann}", got)
	}
	if j.Host() != "a0" || j.Procedure() != "add" {
		t.Fatalf("host, procedure: got %s, %s", j.Host(), j.Procedure())
	}
	if k := e.submit(t, "a0", "echo", "x"); k.Info() != nil {
		t.Fatalf("Info without one: got %v; want nil", k.Info())
	}
}

func TestNamedHost(t *testing.T) {
	rt := testkit.NewRuntime(t)
	d, err := jobs.New(rt)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := jobs.Register(d, jobs.Named[*agent]("web01"), echo); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	run := func() error {
		j, err := d.Submit(ctx, "web01", "echo", "x")
		if err != nil {
			t.Fatal(err)
		}
		_, err = result(t, j)
		return err
	}
	if err := run(); !errors.Is(err, jobs.ErrUnreachable) || !errors.Is(err, troupe.ErrNotFound) {
		t.Fatalf("no actor: got %v; want ErrUnreachable and runtime.ErrNotFound", err)
	}
	ref, err := actor.Spawn(rt, &agent{p: &probe{}}, actor.WithName("web01"))
	if err != nil {
		t.Fatal(err)
	}
	if err := run(); err != nil {
		t.Fatalf("running actor: %v", err)
	}
	if err := ref.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := run(); !errors.Is(err, jobs.ErrUnreachable) {
		t.Fatalf("stopped actor: got %v; want ErrUnreachable", err)
	}
}

func TestStoppedRefHost(t *testing.T) {
	e := newEnv(t, 1)
	if err := e.hosts[0].Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, proc := range []string{"echo", "lines"} {
		j := e.submit(t, "a0", proc, nil)
		if _, err := result(t, j); !errors.Is(err, jobs.ErrUnreachable) || !errors.Is(err, actor.ErrStopped) || state(j) != jobs.Failed {
			t.Fatalf("%s on a stopped host: got %v (%s); want failed, ErrUnreachable and ErrStopped", proc, err, state(j))
		}
	}
}

func TestDeferredProcedure(t *testing.T) {
	rt := testkit.NewRuntime(t)
	d, err := jobs.New(rt)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	later := actor.NewDeferred("later", func(_ *agent, c *actor.Ctx, n int, r *actor.Reply[int]) {
		go func() { _ = r.Send(n*2, nil) }()
	})
	ref, err := actor.Spawn(rt, &agent{p: &probe{}})
	if err != nil {
		t.Fatal(err)
	}
	if err := jobs.Register(d, jobs.Ref("a", ref), later); err != nil {
		t.Fatal(err)
	}
	j, err := d.Submit(context.Background(), "a", "later", 21)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := result(t, j); v != 42 || err != nil {
		t.Fatalf("got %v, %v; want 42", v, err)
	}
}
