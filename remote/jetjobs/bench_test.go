package jetjobs_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/jobs"
)

// The three workloads of issue 17, named for bench/'s table (make bench
// runs them): one b.Run, "troupe", each.

func BenchmarkJetJobSubmitResult(b *testing.B) { b.Run("troupe", benchSubmitRunResult) }
func BenchmarkJetJobQueue10k(b *testing.B)     { b.Run("troupe", benchQueue10k) }
func BenchmarkJetJobFollow(b *testing.B)       { b.Run("troupe", benchFollow) }

// benchSubmitRunResult: an empty Method job submitted on a node
// without its host, run on the node that has it, its result awaited on
// the first (one embedded server, in process): the latency per job.
func benchSubmitRunResult(b *testing.B) {
	s := startServer(b)
	p := newProbe()
	a := startNode(b, s.ClientURL(), "a", p, false)
	startNode(b, s.ClientURL(), "b", p, true)
	ctx := ctxTimeout(b, 10*time.Minute)
	b.ReportAllocs()
	for b.Loop() {
		j, err := a.d.Submit(ctx, "web", "empty", nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := j.Result(ctx, true); err != nil {
			b.Fatal(err)
		}
	}
}

// benchQueue10k: 10,000 jobs of 1 ms submitted from 3 nodes into one
// queue of concurrency 8 that all 3 serve: never more than 8 run at once
// (checked), and the throughput is reported in jobs/s.
func benchQueue10k(b *testing.B) {
	s := startServer(b)
	p := newProbe()
	var nodes []*node
	for i := range 3 {
		nodes = append(nodes, startNode(b, s.ClientURL(), fmt.Sprint("n", i), p, true))
	}
	ctx := ctxTimeout(b, 10*time.Minute)
	const total = 10_000
	b.ReportAllocs()
	var elapsed time.Duration
	for b.Loop() {
		start := time.Now()
		js := make([]*jobs.Job, total)
		var wg sync.WaitGroup
		for w := range 3 {
			wg.Go(func() {
				for i := w; i < total; i += 3 {
					j, err := nodes[w].d.Submit(ctx, "web", "work", 1, jobs.Queue("q", 8))
					if err != nil {
						b.Error(err)
						return
					}
					js[i] = j
				}
			})
		}
		wg.Wait()
		for _, j := range js {
			if j == nil {
				b.FailNow()
			}
			if _, err := j.Result(ctx, true); err != nil {
				b.Fatal(err)
			}
		}
		elapsed += time.Since(start)
	}
	if peak := p.peak.Load(); peak > 8 {
		b.Fatalf("peak running: got %d; want ≤ 8", peak)
	}
	b.ReportMetric(float64(total*b.N)/elapsed.Seconds(), "jobs/s")
	b.ReportMetric(float64(p.peak.Load()), "peak")
}

// benchFollow: a stream job on one node sends 10,000 items as fast
// as it can; another node follows its output: items per second, from
// the submit to the last item read.
func benchFollow(b *testing.B) {
	s := startServer(b)
	p := newProbe()
	a := startNode(b, s.ClientURL(), "a", p, false)
	startNode(b, s.ClientURL(), "b", p, true)
	ctx := ctxTimeout(b, 10*time.Minute)
	const n = 10_000
	b.ReportAllocs()
	var elapsed time.Duration
	for b.Loop() {
		start := time.Now()
		j, err := a.d.Submit(ctx, "web", "lines", linesReq{N: n})
		if err != nil {
			b.Fatal(err)
		}
		f, err := j.Follow(ctx, actor.Since(0))
		if err != nil {
			b.Fatal(err)
		}
		got := 0
		for _, err := range f.All() {
			if err != nil {
				b.Fatal(err)
			}
			got++
		}
		elapsed += time.Since(start)
		if got != n {
			b.Fatalf("followed %d items; want %d", got, n)
		}
	}
	b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "items/s")
}

var _ = context.Background
