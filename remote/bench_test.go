package remote_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/remote"
)

// Payload is the benchmarks' request and reply: small, JSON.
type Payload struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	N    int    `json:"n"`
}

type Counter struct{ n *atomic.Int64 }

var (
	Reflect = actor.NewMethod("reflect", func(_ *Counter, _ *actor.Ctx, p Payload) (Payload, error) {
		p.N++
		return p, nil
	})
	Count = actor.NewMethod("count", func(c *Counter, _ *actor.Ctx, p Payload) (struct{}, error) {
		c.n.Add(1)
		return struct{}{}, nil
	})
)

// benchNodes starts two nodes: srv exports a Counter as "bench"; cli calls
// it. tcp connects both over TCP loopback; otherwise in-process.
func benchNodes(b *testing.B, tcp bool) (srv, cli *remote.Node, n *atomic.Int64) {
	s := startServer(b)
	connect := func() *remote.Node {
		opts := []remote.Option{}
		if !tcp {
			opts = append(opts, remote.WithNATSOptions(nats.InProcessServer(s)))
		}
		return startNode(b, s.ClientURL(), opts...)
	}
	srv, cli = connect(), connect()
	n = new(atomic.Int64)
	ref, err := actor.Spawn(srv.Runtime(), &Counter{n: n})
	if err != nil {
		b.Fatal(err)
	}
	if err := remote.Export(srv, "bench", ref, remote.Serve(Reflect), remote.Serve(Count)); err != nil {
		b.Fatal(err)
	}
	return srv, cli, n
}

// BenchmarkRemoteCall: a remote Call (request encoded, actor call, reply
// encoded) against bare nats.go request/reply with the same payload and
// JSON codec, over the embedded server with in-process connections;
// BenchmarkRemoteCallTCP the same over TCP loopback. (bench/'s table reads
// these: `make bench` runs them too.)
func BenchmarkRemoteCall(b *testing.B)    { benchRemoteCall(b, false) }
func BenchmarkRemoteCallTCP(b *testing.B) { benchRemoteCall(b, true) }

func benchRemoteCall(b *testing.B, tcp bool) {
	p := Payload{ID: 42, Name: "deposit", N: 1}
	b.Run("troupe", func(b *testing.B) {
		_, cli, _ := benchNodes(b, tcp)
		call := remote.Bind(cli, "bench", Reflect)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := call.Call(ctx, p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("raw", func(b *testing.B) { // bare nats.go: what one writes without troupe
		srv, cli, _ := benchNodes(b, tcp)
		sub := bareReflect(b, srv)
		defer func() { _ = sub.Unsubscribe() }()
		nc := cli.Conn()
		b.ReportAllocs()
		for b.Loop() {
			bareCall(b, nc, p)
		}
	})
}

// bareCall is BenchmarkRemoteCall's raw side: p encoded, a nats.go
// request to bare.reflect, the reply decoded.
func bareCall(b *testing.B, nc *nats.Conn, p Payload) {
	data, _ := json.Marshal(p)
	m, err := nc.Request("bare.reflect", data, time.Minute)
	if err != nil {
		b.Fatal(err)
	}
	var r Payload
	if err := json.Unmarshal(m.Data, &r); err != nil {
		b.Fatal(err)
	}
}

// bareReflect answers bare.reflect as Reflect does, on srv's connection.
func bareReflect(b *testing.B, srv *remote.Node) *nats.Subscription {
	sub, err := srv.Conn().Subscribe("bare.reflect", func(m *nats.Msg) {
		var q Payload
		if err := json.Unmarshal(m.Data, &q); err != nil {
			return
		}
		q.N++
		out, _ := json.Marshal(q)
		_ = m.Respond(out)
	})
	if err != nil {
		b.Fatal(err)
	}
	_ = srv.Conn().Flush()
	return sub
}

// BenchmarkRemoteStream: items of a remote stream per second, end to end
// (the producer sends them all at once; the reader collects them),
// in-process; BenchmarkRemoteStreamTCP over TCP loopback.
func BenchmarkRemoteStream(b *testing.B)    { benchRemoteStream(b, false) }
func BenchmarkRemoteStreamTCP(b *testing.B) { benchRemoteStream(b, true) }

func benchRemoteStream(b *testing.B, tcp bool) {
	b.Run("troupe", func(b *testing.B) {
		srv, cli, _ := benchNodes(b, tcp)
		ref, err := actor.Spawn(srv.Runtime(), &Feed{})
		if err != nil {
			b.Fatal(err)
		}
		if err := remote.Export(srv, "feed", ref, remote.ServeStream(Tail)); err != nil {
			b.Fatal(err)
		}
		open := remote.BindStream(cli, "feed", Tail)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		b.ReportAllocs()
		start := time.Now()
		var items int
		for b.Loop() {
			f, err := open.Open(ctx, TailReq{N: 10_000})
			if err != nil {
				b.Fatal(err)
			}
			got, err := f.Collected() // the stream has ended: all of it, and io.EOF
			if !errors.Is(err, io.EOF) || len(got) != 10_000 {
				b.Fatalf("collected %d, %v", len(got), err)
			}
			items += len(got)
		}
		b.ReportMetric(float64(items)/time.Since(start).Seconds(), "items/s")
	})
}

// BenchmarkRemoteCast: remote Cast throughput from one sender over TCP loopback,
// counted where the actor receives it (msg/s end to end), against bare
// nats.go publish to a subscription with the same JSON encoding. Core
// NATS has no flow control (a subscriber that falls behind drops
// messages), so the sender keeps at most two windows of casts unreceived,
// as a producer must when it wants every message delivered.
func BenchmarkRemoteCast(b *testing.B) {
	const window = 8192
	p := Payload{ID: 42, Name: "deposit", N: 1}
	// pace waits, every window sends, until at most two windows are in flight.
	pace := func(b *testing.B, sent int64, n *atomic.Int64) {
		if sent%window != 0 {
			return
		}
		deadline := time.Now().Add(time.Minute)
		for n.Load() < sent-2*window {
			if time.Now().After(deadline) {
				b.Fatalf("received %d of %d", n.Load(), sent)
			}
			time.Sleep(50 * time.Microsecond)
		}
	}
	b.Run("troupe", func(b *testing.B) {
		_, cli, n := benchNodes(b, true)
		cast := remote.Bind(cli, "bench", Count)
		b.ReportAllocs()
		start := time.Now()
		var sent int64
		for b.Loop() {
			if err := cast.Cast(p); err != nil {
				b.Fatal(err)
			}
			sent++
			pace(b, sent, n)
		}
		pace(b, sent+2*window-sent%window, n) // everything received
		b.ReportMetric(float64(sent)/time.Since(start).Seconds(), "msg/s")
	})
	b.Run("raw", func(b *testing.B) { // bare nats.go: what one writes without troupe
		srv, cli, _ := benchNodes(b, true)
		var n atomic.Int64
		sub, err := srv.Conn().Subscribe("bare.count", func(m *nats.Msg) {
			var q Payload
			if json.Unmarshal(m.Data, &q) == nil {
				n.Add(1)
			}
		})
		if err != nil {
			b.Fatal(err)
		}
		defer func() { _ = sub.Unsubscribe() }()
		_ = srv.Conn().Flush()
		nc := cli.Conn()
		b.ReportAllocs()
		start := time.Now()
		var sent int64
		for b.Loop() {
			data, _ := json.Marshal(p)
			if err := nc.Publish("bare.count", data); err != nil {
				b.Fatal(err)
			}
			sent++
			if sent%window == 0 {
				_ = nc.Flush()
			}
			pace(b, sent, &n)
		}
		_ = nc.Flush()
		pace(b, sent+2*window-sent%window, &n)
		b.ReportMetric(float64(sent)/time.Since(start).Seconds(), "msg/s")
	})
}

// BenchmarkRemoteCallRatio interleaves the two competitors of BenchmarkRemoteCall call
// by call, so that a noisy machine slows both alike, and reports each one's
// mean and their ratio (troupe/nats.go).
func BenchmarkRemoteCallRatio(b *testing.B) { b.Run("troupe", benchRemoteCallRatio) }

func benchRemoteCallRatio(b *testing.B) {
	p := Payload{ID: 42, Name: "deposit", N: 1}
	srv, cli, _ := benchNodes(b, false)
	sub := bareReflect(b, srv)
	defer func() { _ = sub.Unsubscribe() }()
	call := remote.Bind(cli, "bench", Reflect)
	nc := cli.Conn()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var tTroupe, tNATS time.Duration
	for b.Loop() {
		t0 := time.Now()
		if _, err := call.Call(ctx, p); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		bareCall(b, nc, p)
		tTroupe += t1.Sub(t0)
		tNATS += time.Since(t1)
	}
	n := float64(b.N)
	b.ReportMetric(float64(tTroupe.Nanoseconds())/n, "troupe-ns/call")
	b.ReportMetric(float64(tNATS.Nanoseconds())/n, "nats-ns/call")
	b.ReportMetric(float64(tTroupe)/float64(tNATS), "ratio")
}
