package remote_test

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/remote"
)

// pair is two nodes on one server: srv exports "acct", cli calls it.
func pair(t *testing.T, opts ...remote.Option) (srv, cli *remote.Node, ref *actor.Ref[*Acct], a *Acct) {
	t.Helper()
	s := startServer(t)
	srv = startNode(t, s.ClientURL(), opts...)
	cli = startNode(t, s.ClientURL())
	ref, a = export(t, srv, "acct")
	return srv, cli, ref, a
}

// TestCallOutcomes: each outcome of a local call arrives across the wire,
// with the same sentinels.
func TestCallOutcomes(t *testing.T) {
	_, cli, _, _ := pair(t)
	ctx := ctxTimeout(t, 10*time.Second)
	t.Run("reply", func(t *testing.T) {
		got, err := remote.Bind(cli, "acct", Deposit).Call(ctx, 5)
		if err != nil || got != 5 {
			t.Fatalf("got %d, %v; want 5, nil", got, err)
		}
	})
	t.Run("coded handler error", func(t *testing.T) {
		_, err := remote.Bind(cli, "acct", Fail).Call(ctx, "no money")
		var re *remote.Error
		if !errors.As(err, &re) {
			t.Fatalf("got %T %v; want *remote.Error", err, err)
		}
		if re.Code != "insufficient_funds" || re.Message != "no money" || re.Method != "acct.fail" {
			t.Fatalf("got code %q message %q method %q; want insufficient_funds, no money, acct.fail", re.Code, re.Message, re.Method)
		}
	})
	t.Run("plain handler error", func(t *testing.T) {
		_, err := remote.Bind(cli, "acct", Plain).Call(ctx, "bad")
		var re *remote.Error
		if !errors.As(err, &re) || re.Code != remote.CodeHandler || re.Message != "bad" {
			t.Fatalf("got %v; want *remote.Error code handler message bad", err)
		}
		if errors.Unwrap(re) != nil {
			t.Fatalf("handler error unwraps to %v; want nil", errors.Unwrap(re))
		}
	})
	t.Run("panic", func(t *testing.T) {
		_, err := remote.Bind(cli, "acct", Boom).Call(ctx, 1)
		var pe *remote.PanicError
		if !errors.As(err, &pe) {
			t.Fatalf("got %T %v; want *remote.PanicError", err, err)
		}
		if pe.Value != "kaboom" || !strings.Contains(pe.Stack, "helpers_test.go") {
			t.Fatalf("got value %q, stack %q; want kaboom and a stack naming helpers_test.go", pe.Value, pe.Stack)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		short := ctxTimeout(t, 50*time.Millisecond)
		_, err := remote.Bind(cli, "acct", Block).Call(short, "t")
		for _, want := range []error{remote.ErrTimeout, actor.ErrTimeout, context.DeadlineExceeded} {
			if !errors.Is(err, want) {
				t.Fatalf("got %v; want errors.Is %v", err, want)
			}
		}
	})
	t.Run("not exported name", func(t *testing.T) {
		_, err := remote.Bind(cli, "nobody", Deposit).Call(ctx, 1)
		if !errors.Is(err, remote.ErrNotFound) {
			t.Fatalf("got %v; want ErrNotFound", err)
		}
	})
	t.Run("not exported method", func(t *testing.T) {
		// Withdraw is a method of Acct that acct does not export.
		_, err := remote.Bind(cli, "acct", Withdraw).Call(ctx, 1)
		if !errors.Is(err, remote.ErrNotFound) {
			t.Fatalf("got %v; want ErrNotFound", err)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		_, err := remote.Bind(cli, "acct", Deposit).Call(cctx, 1)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v; want context.Canceled", err)
		}
	})
}

// Withdraw exists, but no test exports it.
var Withdraw = actor.NewMethod("withdraw", func(a *Acct, c *actor.Ctx, n int) (int, error) {
	a.hits.Add(1)
	a.bal -= n
	return a.bal, nil
})

// TestCallStopped: a call queued at an exported actor that is killed
// fails with ErrStopped (also actor.ErrStopped); once the node has
// withdrawn the export, calls are ErrNotFound.
func TestCallStopped(t *testing.T) {
	srv, cli, ref, a := pair(t)
	ctx := ctxTimeout(t, 10*time.Second)
	blocked := remote.Bind(cli, "acct", Block).Ask(ctx, "first")
	<-a.entered
	queued := remote.Bind(cli, "acct", Deposit).Ask(ctx, 1)
	for ref.Queued() < 1 && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	ref.Kill()
	_, err := queued.Await(ctx)
	if !errors.Is(err, remote.ErrStopped) || !errors.Is(err, actor.ErrStopped) {
		t.Fatalf("queued call: got %v; want ErrStopped and actor.ErrStopped", err)
	}
	if _, err := blocked.Await(ctx); err == nil {
		t.Fatalf("running call: got nil error; want one")
	}
	<-ref.Done()
	for slicesContains(srv.Exports(), "acct") && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	if _, err := remote.Bind(cli, "acct", Deposit).Call(ctx, 1); !errors.Is(err, remote.ErrNotFound) {
		t.Fatalf("after withdrawal: got %v; want ErrNotFound", err)
	}
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestCast: casts arrive, in order, and a failing cast is reported on the
// serving node.
func TestCast(t *testing.T) {
	rs := newRefusals()
	_, cli, ref, a := pair(t, remote.WithRefusalHook(rs.hook))
	b := remote.Bind(cli, "acct", Deposit)
	for i := 1; i <= 100; i++ {
		if err := b.Cast(i); err != nil {
			t.Fatalf("Cast: %v", err)
		}
	}
	if err := cli.Conn().Flush(); err != nil {
		t.Fatal(err)
	}
	ctx := ctxTimeout(t, 10*time.Second)
	for a.hits.Load() < 100 && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	got, err := Balance.Call(ctx, ref, struct{}{})
	if err != nil || got != 5050 {
		t.Fatalf("balance = %d, %v; want 5050, nil", got, err)
	}
	// A cast the actor cannot take is reported where it failed.
	ref.Kill()
	<-ref.Done()
	if err := remote.Bind(cli, "acct", Deposit).Cast(1); err != nil {
		t.Fatalf("Cast: %v", err)
	}
	_ = cli.Conn().Flush()
	// The export may be withdrawn before the cast arrives (then nothing
	// serves it and NATS drops it); if it arrived, it was reported.
	select {
	case r := <-rs.ch:
		if r.Reason != remote.ReasonCastFailed || !errors.Is(r.Err, actor.ErrStopped) {
			t.Fatalf("refusal %+v; want cast_failed with ErrStopped", r)
		}
	case <-time.After(200 * time.Millisecond):
	}
}

// TestAsk: futures fan out and each gets its own reply.
func TestAsk(t *testing.T) {
	_, cli, _, _ := pair(t)
	b := remote.Bind(cli, "acct", Echo)
	ctx := ctxTimeout(t, 10*time.Second)
	var fs []*remote.Future[string]
	for i := range 50 {
		fs = append(fs, b.Ask(ctx, strings.Repeat("x", i)))
	}
	for i, f := range fs {
		got, err := f.Await(ctx)
		if err != nil || len(got) != i {
			t.Fatalf("future %d = %q, %v; want %d x's", i, got, err, i)
		}
	}
	// Ask's own deadline ends a future nobody answers.
	f := remote.Bind(cli, "acct", Block).Ask(ctxTimeout(t, 30*time.Millisecond), "a")
	if _, err := f.Await(ctx); !errors.Is(err, remote.ErrTimeout) {
		t.Fatalf("Ask on Block: got %v; want ErrTimeout", err)
	}
	// A nil ctx fails at once.
	//lint:ignore SA1012 testing the nil check
	if _, err := b.Ask(nil, "x").Await(ctx); !errors.Is(err, actor.ErrNilContext) { //nolint:staticcheck
		t.Fatalf("Ask(nil): got %v; want actor.ErrNilContext", err)
	}
}

// TestBindErrors: a bad binding fails every call with its sentinel, never
// panics.
func TestBindErrors(t *testing.T) {
	_, cli, _, _ := pair(t)
	var nilMethod *actor.Method[*Acct, int, int]
	ctx := ctxTimeout(t, 5*time.Second)
	tests := []struct {
		name string
		b    *remote.Binding[int, int]
		want error
	}{
		{"nil node", remote.Bind(nil, "acct", Deposit), remote.ErrNilNode},
		{"nil method", remote.Bind(cli, "acct", nilMethod), remote.ErrNilRef},
		{"bad name", remote.Bind(cli, "a.b", Deposit), remote.ErrInvalidName},
		{"empty name", remote.Bind(cli, "", Deposit), remote.ErrInvalidName},
		{"nil option", remote.Bind(cli, "acct", Deposit, nil), remote.ErrInvalidOption},
		{"nil codec", remote.Bind(cli, "acct", Deposit, remote.WithCodec(nil)), remote.ErrInvalidOption},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.b.Call(ctx, 1); !errors.Is(err, tt.want) {
				t.Fatalf("Call: got %v; want %v", err, tt.want)
			}
			if err := tt.b.Cast(1); !errors.Is(err, tt.want) {
				t.Fatalf("Cast: got %v; want %v", err, tt.want)
			}
			if _, err := tt.b.Ask(ctx, 1).Await(ctx); !errors.Is(err, tt.want) {
				t.Fatalf("Ask: got %v; want %v", err, tt.want)
			}
		})
	}
	//lint:ignore SA1012 testing the nil check
	if _, err := remote.Bind(cli, "acct", Deposit).Call(nil, 1); !errors.Is(err, actor.ErrNilContext) { //nolint:staticcheck
		t.Fatalf("Call(nil ctx): got %v; want actor.ErrNilContext", err)
	}
}

// TestExportErrors: bad exports are refused with sentinels.
func TestExportErrors(t *testing.T) {
	s := startServer(t)
	n := startNode(t, s.ClientURL())
	ref := spawn(t, n)
	dead := spawn(t, n)
	dead.Kill()
	<-dead.Done()
	var nilMethod *actor.Method[*Acct, int, int]
	if err := remote.Export(n, "taken", ref, remote.Serve(Deposit)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"nil node", remote.Export(nil, "x", ref, remote.Serve(Deposit)), remote.ErrNilNode},
		{"nil ref", remote.Export[*Acct](n, "x", nil, remote.Serve(Deposit)), remote.ErrNilRef},
		{"bad name", remote.Export(n, "a.b", ref, remote.Serve(Deposit)), remote.ErrInvalidName},
		{"no methods", remote.Export(n, "x", ref), remote.ErrInvalidName},
		{"nil entry", remote.Export(n, "x", ref, nil), remote.ErrNilRef},
		{"nil method", remote.Export(n, "x", ref, remote.Serve(nilMethod)), remote.ErrNilRef},
		{"bad method name", remote.Export(n, "x", ref, remote.Serve(badName)), remote.ErrInvalidName},
		{"duplicate method", remote.Export(n, "x", ref, remote.Serve(Deposit), remote.Serve(Deposit)), remote.ErrInvalidName},
		{"taken", remote.Export(n, "taken", ref, remote.Serve(Deposit)), remote.ErrExported},
		{"stopped", remote.Export(n, "x", dead, remote.Serve(Deposit)), remote.ErrStopped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, tt.want) {
				t.Fatalf("got %v; want %v", tt.err, tt.want)
			}
		})
	}
	if !n.Unexport("taken") || n.Unexport("taken") {
		t.Fatalf("Unexport: got a second success or a first failure; want true then false")
	}
}

var badName = actor.NewMethod("has space", func(a *Acct, c *actor.Ctx, n int) (int, error) { return n, nil })

// TestNilReceivers: methods on nil values return sentinels, never panic.
func TestNilReceivers(t *testing.T) {
	var (
		n  *remote.Node
		b  *remote.Binding[int, int]
		f  *remote.Future[int]
		sb *remote.StreamBinding[TailReq, string]
	)
	ctx := context.Background()
	_, askErr := b.Ask(ctx, 1).Await(ctx)
	_, futErr := f.Await(ctx)
	_, callErr := b.Call(ctx, 1)
	_, openErr := sb.Open(ctx, TailReq{})
	_, ownerErr := remote.Owner(ctx, n, "x")
	_, resolveErr := remote.Resolve(ctx, n, "x")
	//lint:ignore SA1012 testing the nil check
	_, resolveCtxErr := remote.Resolve(nil, startNode(t, startServer(t).ClientURL()), "x") //nolint:staticcheck
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"Node.Close", n.Close(), remote.ErrNilNode},
		{"Node.Shutdown", n.Shutdown(ctx), remote.ErrNilNode},
		{"Binding.Call", callErr, remote.ErrNilRef},
		{"Binding.Cast", b.Cast(1), remote.ErrNilRef},
		{"Binding.Ask", askErr, remote.ErrNilRef},
		{"Future.Await", futErr, remote.ErrNilRef},
		{"StreamBinding.Open", openErr, remote.ErrNilRef},
		{"Owner", ownerErr, remote.ErrNilNode},
		{"Resolve", resolveErr, remote.ErrNilNode},
		{"Resolve nil ctx", resolveCtxErr, actor.ErrNilContext},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, tt.want) {
				t.Fatalf("got %v; want %v", tt.err, tt.want)
			}
		})
	}
	if n.ID() != "" || n.URL() != "" || n.Runtime() != nil || n.Conn() != nil || n.Refusals() != 0 || n.Exports() != nil || n.Unexport("x") {
		t.Fatalf("nil node accessors: want zero values")
	}
	select {
	case <-f.Done():
	default:
		t.Fatalf("nil Future's Done: want a closed channel")
	}
}

// TestUnexportEndsWatcher: an export's goroutine (watching its actor's
// end) ends with the export: exporting and unexporting a long-lived actor
// again and again leaves none behind.
func TestUnexportEndsWatcher(t *testing.T) {
	s := startServer(t)
	n := startNode(t, s.ClientURL())
	ref := spawn(t, n)
	for range 20 {
		if err := remote.Export(n, "again", ref, remote.Serve(Deposit)); err != nil {
			t.Fatal(err)
		}
		if !n.Unexport("again") {
			t.Fatal("Unexport: false")
		}
	}
	watchers := func() int {
		buf := make([]byte, 1<<20)
		return strings.Count(string(buf[:runtime.Stack(buf, true)]), "remote.(*Node).watch(")
	}
	deadline := time.Now().Add(10 * time.Second)
	for watchers() > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if k := watchers(); k > 0 {
		t.Fatalf("%d export watchers still run 10 s after their exports were withdrawn; want 0", k)
	}
}

// codeOnly returns a CodedError without an Err: a code alone.
var codeOnly = actor.NewMethod("code-only", func(a *Acct, c *actor.Ctx, _ int) (int, error) {
	return 0, &remote.CodedError{Code: "no_reason"}
})

// TestCodedErrorWithoutErr: a handler's CodedError with a code and no Err
// reaches its caller as an *Error with that code; the serving node does
// not crash formatting it.
func TestCodedErrorWithoutErr(t *testing.T) {
	s := startServer(t)
	srv, cli := startNode(t, s.ClientURL()), startNode(t, s.ClientURL())
	if err := remote.Export(srv, "acct", spawn(t, srv), remote.Serve(codeOnly)); err != nil {
		t.Fatal(err)
	}
	_, err := remote.Bind(cli, "acct", codeOnly).Call(ctxTimeout(t, 10*time.Second), 1)
	var re *remote.Error
	if !errors.As(err, &re) || re.Code != "no_reason" || !errors.Is(err, remote.ErrRemote) {
		t.Fatalf("got %v; want *remote.Error with code no_reason", err)
	}
}
