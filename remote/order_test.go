package remote_test

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/remote"
)

var Record = actor.NewMethod("record", func(s *Seq, c *actor.Ctx, n int) (int, error) {
	s.got = append(s.got, n)
	return len(s.got), nil
})

// TestCallOrder: calls a node pipelines to one actor (Ask) run in the
// order they were sent, as local calls from one sender do.
func TestCallOrder(t *testing.T) {
	s := startServer(t)
	srv, cli := startNode(t, s.ClientURL()), startNode(t, s.ClientURL())
	ref, err := actor.Spawn(srv.Runtime(), &Seq{done: make(chan struct{})})
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Export(srv, "seq", ref, remote.Serve(Record), remote.Serve(Notes)); err != nil {
		t.Fatal(err)
	}
	ctx := ctxTimeout(t, 20*time.Second)
	b := remote.Bind(cli, "seq", Record)
	const total = 500
	fs := make([]*remote.Future[int], total)
	for i := range fs {
		fs[i] = b.Ask(ctx, i)
	}
	for i, f := range fs {
		if _, err := f.Await(ctx); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	got, err := remote.Bind(cli, "seq", Notes).Call(ctx, struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if v != i {
			t.Fatalf("call %d ran as number %d; want send order", v, i)
		}
	}
}

// Slow answers after a while, whatever its Context says.
var Slow = actor.NewMethod("slow", func(a *Acct, c *actor.Ctx, d time.Duration) (string, error) {
	a.entered <- d
	time.Sleep(d)
	return "done", nil
})

// TestShutdownAnswersInFlight: a graceful Shutdown answers the calls the
// node is serving before it closes its connection.
func TestShutdownAnswersInFlight(t *testing.T) {
	s := startServer(t)
	srv, cli := startNode(t, s.ClientURL()), startNode(t, s.ClientURL())
	a := newAcct()
	ref, err := actor.Spawn(srv.Runtime(), a)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Export(srv, "acct", ref, remote.Serve(Slow)); err != nil {
		t.Fatal(err)
	}
	ctx := ctxTimeout(t, 20*time.Second)
	f := remote.Bind(cli, "acct", Slow).Ask(ctx, 100*time.Millisecond)
	<-a.entered
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if got, err := f.Await(ctx); err != nil || got != "done" {
		t.Fatalf("in-flight call = %q, %v; want done, nil", got, err)
	}
	if _, err := remote.Bind(cli, "acct", Slow).Call(ctx, 0); !errors.Is(err, remote.ErrNotFound) {
		t.Fatalf("after Shutdown: got %v; want ErrNotFound", err)
	}
}

// jsonV2 is a codec the serving node learns with WithCodecs.
type jsonV2 struct{}

func (jsonV2) Name() string                       { return "json-v2" }
func (jsonV2) Marshal(v any) ([]byte, error)      { return remote.JSON.Marshal(v) }
func (jsonV2) Unmarshal(data []byte, v any) error { return remote.JSON.Unmarshal(data, v) }

// TestCodecsAndPrefix: a binding's codec is used both ways when the
// serving node knows it; nodes with different prefixes do not see each
// other.
func TestCodecsAndPrefix(t *testing.T) {
	s := startServer(t)
	srv := startNode(t, s.ClientURL(), remote.WithCodecs(jsonV2{}))
	cli := startNode(t, s.ClientURL())
	other := startNode(t, s.ClientURL(), remote.WithPrefix("tenant2"))
	export(t, srv, "acct")
	ctx := ctxTimeout(t, 10*time.Second)
	if got, err := remote.Bind(cli, "acct", Echo, remote.WithCodec(jsonV2{})).Call(ctx, "v2"); err != nil || got != "v2" {
		t.Fatalf("Call with json-v2 = %q, %v; want v2, nil", got, err)
	}
	if _, err := remote.Bind(other, "acct", Echo).Call(ctx, "x"); !errors.Is(err, remote.ErrNotFound) {
		t.Fatalf("Call from another prefix: got %v; want ErrNotFound", err)
	}
}

// countingJSON is JSON counting the requests it decodes: a node's own
// implementation of the "json" format (a faster library, say).
type countingJSON struct{ decoded *atomic.Int64 }

func (countingJSON) Name() string                  { return "json" }
func (countingJSON) Marshal(v any) ([]byte, error) { return remote.JSON.Marshal(v) }
func (c countingJSON) Unmarshal(data []byte, v any) error {
	c.decoded.Add(1)
	return remote.JSON.Unmarshal(data, v)
}

// TestNodeJSONCodec: a serving node given a codec named "json" decodes
// JSON with it — requests naming "json" (a binding with its own JSON
// codec) and those naming none (the package's JSON) — rather than with
// the package's.
func TestNodeJSONCodec(t *testing.T) {
	s := startServer(t)
	mine := countingJSON{new(atomic.Int64)}
	srv := startNode(t, s.ClientURL(), remote.WithCodecs(mine))
	cli := startNode(t, s.ClientURL())
	export(t, srv, "acct")
	ctx := ctxTimeout(t, 10*time.Second)
	bindings := []*remote.Binding[string, string]{
		remote.Bind(cli, "acct", Echo, remote.WithCodec(countingJSON{new(atomic.Int64)})),
		remote.Bind(cli, "acct", Echo),
	}
	for i, b := range bindings {
		if got, err := b.Call(ctx, "x"); err != nil || got != "x" {
			t.Fatalf("Call %d = %q, %v; want x, nil", i, got, err)
		}
		if got := mine.decoded.Load(); got != int64(i+1) {
			t.Fatalf("after call %d the serving node's json codec decoded %d requests; want %d", i, got, i+1)
		}
	}
}
