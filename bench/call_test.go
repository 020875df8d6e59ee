package bench

import (
	"context"
	"errors"
	"testing"
	"time"

	proto "github.com/asynkron/protoactor-go/actor"
	"github.com/troupe-go/troupe/actor"
)

// BenchmarkCall is a synchronous request/reply round trip from one caller,
// with a deadline as users run it: troupe's default call timeout (armed on
// the runtime's timer wheel), protoactor-go's RequestFuture timeout, and a
// time.Timer in a select for raw Go. One op is one round trip.
func BenchmarkCall(b *testing.B) {
	b.Run("troupe", callTroupe)
	b.Run("raw", callRaw)
	b.Run("protoactor", callProto)
}

// BenchmarkCallCtx is the same round trip with a per-call deadline taken
// from context.WithTimeout, the other way users bound a call; protoactor-go
// takes no context, so it has no entry here.
func BenchmarkCallCtx(b *testing.B) {
	b.Run("troupe", callCtxTroupe)
	b.Run("raw", callCtxRaw)
}

type echoer struct{}

var echo = actor.NewMethod("echo", func(_ *echoer, _ *actor.Ctx, m *msg) (*msg, error) {
	return m, nil
})

func callTroupe(b *testing.B) {
	rt := newRuntime(b)
	ref, err := actor.Spawn(rt, &echoer{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background() // the runtime's call timeout applies
	report := countAllocs(b)
	for b.Loop() {
		if r, err := echo.Call(ctx, ref, payload); err != nil || r != payload {
			b.Fatalf("call: %v, %v", r, err)
		}
	}
	report()
}

func callCtxTroupe(b *testing.B) {
	rt := newRuntime(b)
	ref, err := actor.Spawn(rt, &echoer{})
	if err != nil {
		b.Fatal(err)
	}
	report := countAllocs(b)
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		r, err := echo.Call(ctx, ref, payload)
		cancel()
		if err != nil || r != payload {
			b.Fatalf("call: %v, %v", r, err)
		}
	}
	report()
}

// request is the raw Go request: the payload and a channel for the reply,
// made per call so that a reply arriving after its caller gave up cannot
// be read by the next call.
type request struct {
	m     *msg
	reply chan *msg
}

var errTimeout = errors.New("bench: timeout")

// rawServer runs a raw Go echo server until its inbox is closed.
func rawServer(b *testing.B) chan<- request {
	inbox := make(chan request, rawQueue)
	go func() {
		for r := range inbox {
			r.reply <- r.m
		}
	}()
	b.Cleanup(func() { close(inbox) })
	return inbox
}

// rawCall is a raw Go request/reply bounded by a timer.
func rawCall(inbox chan<- request, m *msg) (*msg, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	r := request{m: m, reply: make(chan *msg, 1)}
	select {
	case inbox <- r:
	case <-t.C:
		return nil, errTimeout
	}
	select {
	case v := <-r.reply:
		return v, nil
	case <-t.C:
		return nil, errTimeout
	}
}

// rawCallCtx is a raw Go request/reply bounded by ctx.
func rawCallCtx(ctx context.Context, inbox chan<- request, m *msg) (*msg, error) {
	r := request{m: m, reply: make(chan *msg, 1)}
	select {
	case inbox <- r:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case v := <-r.reply:
		return v, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func callRaw(b *testing.B) {
	inbox := rawServer(b)
	report := countAllocs(b)
	for b.Loop() {
		if r, err := rawCall(inbox, payload); err != nil || r != payload {
			b.Fatalf("call: %v, %v", r, err)
		}
	}
	report()
}

func callCtxRaw(b *testing.B) {
	inbox := rawServer(b)
	report := countAllocs(b)
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		r, err := rawCallCtx(ctx, inbox, payload)
		cancel()
		if err != nil || r != payload {
			b.Fatalf("call: %v, %v", r, err)
		}
	}
	report()
}

func callProto(b *testing.B) {
	sys := protoSystem()
	pid := sys.Root.Spawn(proto.PropsFromFunc(func(c proto.Context) {
		if m, ok := c.Message().(*msg); ok {
			c.Respond(m)
		}
	}))
	report := countAllocs(b)
	for b.Loop() {
		r, err := sys.Root.RequestFuture(pid, payload, timeout).Result()
		if err != nil || r != payload {
			b.Fatalf("call: %v, %v", r, err)
		}
	}
	report()
	protoStop(b, pid)
}
