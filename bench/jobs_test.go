package bench

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/jobs"
	troupe "github.com/troupe-go/troupe/runtime"
)

// The jobs workloads (issue 14): harp's dispatcher in process. Only
// troupe has a sub-benchmark: River and asynq need a database round trip
// (milliseconds) for what is measured here.

// jobHost is the host actor of the jobs benchmarks.
type jobHost struct {
	running, peak *atomic.Int64 // handlers running now, and at most
	out           atomic.Pointer[actor.Out[int]]
}

// emptyJob does nothing: the cost measured is the dispatcher's.
var emptyJob = actor.NewMethod("empty", func(h *jobHost, _ *actor.Ctx, _ struct{}) (struct{}, error) {
	if h.running != nil {
		n := h.running.Add(1)
		for old := h.peak.Load(); n > old && !h.peak.CompareAndSwap(old, n); old = h.peak.Load() {
		}
		h.running.Add(-1)
	}
	return struct{}{}, nil
})

// feed is a stream whose producer end the benchmark keeps.
var feed = actor.NewStream("feed", func(h *jobHost, _ *actor.Ctx, _ struct{}, out *actor.Out[int]) error {
	h.out.Store(out)
	return nil
})

// newDispatcher is a dispatcher on rt with the empty job on hosts
// "h0".."h<n-1>", closed with the benchmark or by close, whichever
// comes first.
func newDispatcher(b *testing.B, rt *troupe.Runtime, hosts int, running, peak *atomic.Int64, opts ...jobs.Option) (d *jobs.Dispatcher, states []*jobHost, close func()) {
	b.Helper()
	d, err := jobs.New(rt, opts...)
	if err != nil {
		b.Fatal(err)
	}
	// The Cleanup (there if a Fatal skips close) reaches d through box,
	// which close empties: a Cleanup holding d would keep every closed
	// dispatcher of a benchmark that makes one per round, with its
	// retained jobs, reachable until the benchmark ends.
	box := &struct{ d *jobs.Dispatcher }{d}
	close = func() {
		if box.d != nil {
			_ = box.d.Close()
			box.d = nil
		}
	}
	b.Cleanup(close)
	for i := range hosts {
		s := &jobHost{running: running, peak: peak}
		ref, err := actor.Spawn(rt, s)
		if err != nil {
			b.Fatal(err)
		}
		h := jobs.Ref(fmt.Sprintf("h%d", i), ref)
		if err := jobs.Register(d, h, emptyJob); err != nil {
			b.Fatal(err)
		}
		if err := jobs.RegisterStream(d, h, feed); err != nil {
			b.Fatal(err)
		}
		states = append(states, s)
	}
	return d, states, close
}

// BenchmarkJobSubmitResult is one empty job from one caller: Submit, the
// run on its host (a sync call), Result with wait. One op is one job.
func BenchmarkJobSubmitResult(b *testing.B) {
	b.Run("troupe", func(b *testing.B) {
		rt := newRuntime(b)
		d, _, _ := newDispatcher(b, rt, 1, nil, nil)
		ctx := context.Background()
		report := countAllocs(b)
		for b.Loop() {
			j, err := d.Submit(ctx, "h0", "empty", struct{}{})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := j.Result(ctx, true); err != nil {
				b.Fatal(err)
			}
		}
		report()
	})
}

// Throughput workload: jobsTotal empty jobs submitted by jobsSubmitters
// goroutines to one queue of concurrency jobsLimit, on 16 hosts (so that
// more handlers than the limit could run at once if the queue let them).
const (
	jobsTotal      = 100_000
	jobsSubmitters = 64
	jobsLimit      = 8
	jobsHosts      = 16
)

// BenchmarkJobThroughput: one op is the whole workload; ns/job and
// jobs/s are per job, max-running the most handlers seen running at once
// (never above the limit: TestConcurrencyNeverExceeded asserts it).
func BenchmarkJobThroughput(b *testing.B) {
	b.Run("troupe", func(b *testing.B) {
		rt := newRuntime(b)
		var running, peak atomic.Int64
		d, _, _ := newDispatcher(b, rt, jobsHosts, &running, &peak,
			jobs.WithMaxQueued(jobsTotal), jobs.WithRetention(time.Hour, 10_000))
		ctx := context.Background()
		names := make([]string, jobsHosts)
		for i := range names {
			names[i] = fmt.Sprintf("h%d", i)
		}
		b.ReportAllocs()
		for b.Loop() {
			var wg sync.WaitGroup
			for s := range jobsSubmitters {
				wg.Go(func() {
					n := jobsTotal / jobsSubmitters
					if s < jobsTotal%jobsSubmitters {
						n++
					}
					mine := make([]*jobs.Job, 0, n)
					for i := range n {
						j, err := d.Submit(ctx, names[(s+i)%jobsHosts], "empty", struct{}{}, jobs.Queue("q", jobsLimit))
						if err != nil {
							b.Error(err)
							return
						}
						mine = append(mine, j)
					}
					for _, j := range mine {
						if _, err := j.Result(ctx, true); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			wg.Wait()
		}
		perJob := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / jobsTotal
		b.ReportMetric(perJob, "ns/job")
		b.ReportMetric(1e9/perJob, "jobs/s")
		b.ReportMetric(float64(peak.Load()), "max-running")
		if peak.Load() > jobsLimit {
			b.Fatalf("%d handlers ran at once; the limit is %d", peak.Load(), jobsLimit)
		}
	})
}

// retainedJobs is how many finished jobs BenchmarkJobRetained keeps.
const retainedJobs = 10_000

// BenchmarkJobRetained is the memory a finished job keeps while it is
// retained (its record, its id, its place in the dispatcher's map and
// list), with empty args and result and no output: B/job. One op is
// retainedJobs jobs run, measured, then dropped.
func BenchmarkJobRetained(b *testing.B) {
	b.Run("troupe", jobRetained)
}

func jobRetained(b *testing.B) {
	rt := newRuntime(b)
	ctx := context.Background()
	var per float64
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		d, _, closeD := newDispatcher(b, rt, 1, nil, nil, jobs.WithRetention(time.Hour, retainedJobs))
		before := heapBytes()
		b.StartTimer()
		for range retainedJobs {
			j, err := d.Submit(ctx, "h0", "empty", struct{}{})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := j.Result(ctx, true); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		per = float64(heapBytes()-before) / retainedJobs
		if n := len(d.List(jobs.Filter{})); n != retainedJobs {
			b.Fatalf("retained %d jobs; want %d", n, retainedJobs)
		}
		closeD()
		b.StartTimer()
	}
	b.ReportMetric(per, "B/job")
}

// followReaders is how many HTTP readers follow one job in
// BenchmarkJobFollowHTTP.
const followReaders = 100

// BenchmarkJobFollowHTTP is one job's output followed over HTTP (JSON
// lines, loopback) by followReaders readers: the producer sends b.N int
// items; ns/op is per item (each item reaches every reader), items/s the
// items each reader gets per second, deliveries/s all readers' together.
func BenchmarkJobFollowHTTP(b *testing.B) {
	b.Run("troupe", func(b *testing.B) {
		rt := newRuntime(b)
		d, hosts, _ := newDispatcher(b, rt, 1, nil, nil, jobs.WithOutputLimit(max(b.N, 1), 1<<30))
		mux := http.NewServeMux()
		mux.Handle("/jobs/", jobs.Handler(d))
		srv := httptest.NewServer(mux)
		tr := &http.Transport{MaxIdleConnsPerHost: followReaders}
		b.Cleanup(func() {
			tr.CloseIdleConnections()
			srv.Close()
		})
		cl, err := jobs.NewClient(srv.URL+"/jobs", jobs.WithHTTPClient(&http.Client{Transport: tr}))
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		job, err := d.Submit(ctx, "h0", "feed", struct{}{})
		if err != nil {
			b.Fatal(err)
		}
		var out *actor.Out[int]
		for out = hosts[0].out.Load(); out == nil; out = hosts[0].out.Load() { // the feed's turn has not run yet
			time.Sleep(time.Millisecond)
		}
		var ready, done sync.WaitGroup
		ready.Add(followReaders)
		done.Add(followReaders)
		for range followReaders {
			go func() {
				defer done.Done()
				n, first := 0, true
				for _, err := range cl.Job(job.ID()).Follow(ctx, actor.Since(0)) {
					if first {
						ready.Done()
						first = false
					}
					if err != nil {
						b.Error(err)
						return
					}
					n++
				}
				if first {
					ready.Done()
				}
				if n != b.N+1 {
					b.Errorf("a reader got %d items; want %d", n, b.N+1)
				}
			}()
		}
		// One item first, so that every reader is connected before the clock runs.
		if err := out.Send(-1); err != nil {
			b.Fatal(err)
		}
		ready.Wait()
		b.ResetTimer()
		for i := range b.N {
			// SendWait: the host's journal waits for the job's copy of it,
			// which keeps all b.N items for the readers.
			if err := out.SendWait(ctx, i); err != nil {
				b.Fatal(err)
			}
		}
		_ = out.Close(nil)
		done.Wait()
		b.StopTimer()
		perItem := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		b.ReportMetric(1e9/perItem, "items/s")
		b.ReportMetric(1e9/perItem*followReaders, "deliveries/s")
	})
}
