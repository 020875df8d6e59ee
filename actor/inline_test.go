package actor_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/engine"
	troupe "github.com/troupe-go/troupe/runtime"
)

// TestCastInline: to an idle actor, CastInline returns once the handler
// has run (on the caller's goroutine); to a busy one it only queues; its
// refusals are Cast's; value payloads arrive whole.
func TestCastInline(t *testing.T) {
	rt := newRuntime(t)
	l := &ledger{got: map[int][]amount{}}
	ref, err := actor.Spawn(rt, l)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if err := credit.CastInline(engine.Seal{}, ref, amount{Sender: 1, Seq: i, Currency: "EUR"}); err != nil {
			t.Fatal(err)
		}
		// The actor was idle: the handler has run already. Reading its
		// state here is race-free only because it ran on this goroutine.
		if got := len(l.got[1]); got != i+1 {
			t.Fatalf("after CastInline %d: handled %d; want %d", i, got, i+1)
		}
	}
	gate := make(chan struct{})
	if err := stuck.Cast(ref, gate); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- credit.CastInline(engine.Seal{}, ref, amount{Sender: 2, Seq: 0, Currency: "EUR"}) }()
	if err := <-done; err != nil { // busy actor: queued, not run here (else this would wait for the gate)
		t.Fatal(err)
	}
	close(gate)
	if n, err := ledgerLen.Call(context.Background(), ref, struct{}{}); err != nil || n != 101 {
		t.Fatalf("handled: got %d, %v; want 101", n, err)
	}
	if err := ref.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := credit.CastInline(engine.Seal{}, ref, amount{}); !errors.Is(err, actor.ErrStopped) {
		t.Fatalf("stopped actor: got %v; want ErrStopped", err)
	}
	if err := credit.CastInline(engine.Seal{}, nil, amount{}); !errors.Is(err, actor.ErrNilRef) {
		t.Fatalf("nil ref: got %v; want ErrNilRef", err)
	}
}

// TestAskUnwatched: AskUnwatched replies as Ask does; a call whose ctx
// ends while it is queued stays pending (nothing watches ctx) until the
// actor reaches it, and then does not run: it settles with ctx's error.
func TestAskUnwatched(t *testing.T) {
	rt := newRuntime(t)
	ref, err := actor.Spawn(rt, &ledger{got: map[int][]amount{}})
	if err != nil {
		t.Fatal(err)
	}
	f := ledgerLen.AskUnwatched(engine.Seal{}, context.Background(), ref, struct{}{})
	if n, err := f.Await(context.Background()); err != nil || n != 0 {
		t.Fatalf("AskUnwatched: got %d, %v; want 0, nil", n, err)
	}
	gate := make(chan struct{})
	if err := stuck.Cast(ref, gate); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f = ledgerLen.AskUnwatched(engine.Seal{}, ctx, ref, struct{}{})
	cancel()
	select {
	case <-f.Done():
		t.Fatalf("settled while queued behind a stuck handler; want pending (ctx is not watched)")
	default:
	}
	close(gate)
	if _, err := f.Await(context.Background()); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled AskUnwatched: got %v; want context.Canceled", err)
	}
	if err := ref.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	f = ledgerLen.AskUnwatched(engine.Seal{}, context.Background(), ref, struct{}{})
	if _, err := f.Await(context.Background()); !errors.Is(err, actor.ErrStopped) {
		t.Fatalf("stopped actor: got %v; want ErrStopped", err)
	}
}

// gateCtx is a call's context that is also its gate (engine.Gate): Admit
// fails with shut once shut is closed.
type gateCtx struct {
	context.Context
	shut chan struct{}
}

var errGateShut = errors.New("gate shut")

func (g gateCtx) Admit(engine.Seal) error {
	select {
	case <-g.shut:
		return errGateShut
	default:
		return nil
	}
}

// TestAskUnwatchedGate: an AskUnwatched call whose ctx is an engine.Gate
// is asked on its turn, not when queued: one the gate lets through runs;
// one queued while it admitted, and shut before the actor reached it,
// does not run, and settles with the gate's error.
func TestAskUnwatchedGate(t *testing.T) {
	rt := newRuntime(t)
	ref, err := actor.Spawn(rt, &ledger{got: map[int][]amount{}})
	if err != nil {
		t.Fatal(err)
	}
	g := gateCtx{Context: context.Background(), shut: make(chan struct{})}
	f := credit.AskUnwatched(engine.Seal{}, g, ref, amount{Sender: 1})
	if _, err := f.Await(context.Background()); err != nil {
		t.Fatalf("admitted: %v", err)
	}
	stop := make(chan struct{})
	if err := stuck.Cast(ref, stop); err != nil {
		t.Fatal(err)
	}
	f = credit.AskUnwatched(engine.Seal{}, g, ref, amount{Sender: 2})
	close(g.shut)
	close(stop)
	if _, err := f.Await(context.Background()); !errors.Is(err, errGateShut) {
		t.Fatalf("shut while queued: got %v; want the gate's error", err)
	}
	if n, err := ledgerLen.Call(context.Background(), ref, struct{}{}); err != nil || n != 1 {
		t.Fatalf("credits run: %d, %v; want 1 (the refused one not run)", n, err)
	}
}

// TestCastGated: a CastGated oneway's gate is asked on its turn, not when
// queued: one it lets through runs; one queued while it admitted, and
// shut before the actor reached it, does not run and is a dead letter
// (expired, the gate's error, with its request). A nil gate is Cast.
func TestCastGated(t *testing.T) {
	var letters recorder
	rt := newRuntime(t, troupe.WithDeadLetterHook(letters.Hook))
	ref, err := actor.Spawn(rt, &ledger{got: map[int][]amount{}})
	if err != nil {
		t.Fatal(err)
	}
	g := gateCtx{Context: context.Background(), shut: make(chan struct{})}
	if err := credit.CastGated(engine.Seal{}, g, ref, amount{Sender: 1, Seq: 1}); err != nil {
		t.Fatal(err)
	}
	if err := credit.CastGated(engine.Seal{}, nil, ref, amount{Sender: 1, Seq: 2}); err != nil {
		t.Fatal(err)
	}
	if n, err := ledgerLen.Call(context.Background(), ref, struct{}{}); err != nil || n != 2 {
		t.Fatalf("admitted: %d credits run, %v; want 2", n, err)
	}
	stop := make(chan struct{})
	if err := stuck.Cast(ref, stop); err != nil {
		t.Fatal(err)
	}
	if err := credit.CastGated(engine.Seal{}, g, ref, amount{Sender: 1, Seq: 3}); err != nil {
		t.Fatal(err)
	}
	close(g.shut)
	close(stop)
	if n, err := ledgerLen.Call(context.Background(), ref, struct{}{}); err != nil || n != 2 {
		t.Fatalf("credits run: %d, %v; want 2 (the refused one not run)", n, err)
	}
	all := letters.All()
	if len(all) != 1 || all[0].Reason != troupe.ReasonExpired || !errors.Is(all[0].Err, errGateShut) || all[0].Payload != (amount{Sender: 1, Seq: 3}) {
		t.Fatalf("dead letters %v; want the refused credit's, expired with the gate's error", all)
	}
	if err := ref.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := credit.CastGated(engine.Seal{}, g, ref, amount{}); !errors.Is(err, actor.ErrStopped) {
		t.Fatalf("stopped actor: got %v; want ErrStopped", err)
	}
}

// TestStreamOpenGate: a stream's opening request whose ctx is an
// engine.Gate is asked on its turn: one shut while it was queued does
// not run its handler, and Open returns the gate's error.
func TestStreamOpenGate(t *testing.T) {
	rt := newRuntime(t)
	ref, err := actor.Spawn(rt, &ledger{got: map[int][]amount{}})
	if err != nil {
		t.Fatal(err)
	}
	var ran atomic.Int64
	lines := actor.NewStream("lines", func(_ *ledger, _ *actor.Ctx, n int, out *actor.Out[int]) error {
		ran.Add(1)
		return out.Close(nil)
	})
	g := gateCtx{Context: context.Background(), shut: make(chan struct{})}
	f, err := lines.Open(g, ref, 1)
	if err != nil {
		t.Fatalf("admitted: %v", err)
	}
	_ = f.Close()
	stop := make(chan struct{})
	if err := stuck.Cast(ref, stop); err != nil {
		t.Fatal(err)
	}
	opened := make(chan error, 1)
	go func() {
		f, err := lines.Open(g, ref, 1)
		if err == nil {
			_ = f.Close()
		}
		opened <- err
	}()
	for ref.Queued() < 1 {
		time.Sleep(time.Millisecond)
	}
	close(g.shut)
	close(stop)
	if err := <-opened; !errors.Is(err, errGateShut) {
		t.Fatalf("shut while queued: got %v; want the gate's error", err)
	}
	if n := ran.Load(); n != 1 {
		t.Fatalf("handler runs: %d; want 1 (the refused open not run)", n)
	}
}
