package jetjobs_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/jobs"
	"github.com/troupe-go/troupe/remote/embedded"
	"github.com/troupe-go/troupe/remote/jetjobs"
)

// startCluster runs 3 routed JetStream servers; url(i) is server i's
// client URL followed by the next one's, for reconnects.
func startCluster(t testing.TB) ([]*embedded.Server, func(i int) string) {
	t.Helper()
	servers, err := embedded.Cluster(ctxTimeout(t, 30*time.Second), 3)
	if err != nil {
		t.Fatalf("Cluster: %v", err)
	}
	for _, s := range servers {
		t.Cleanup(s.Shutdown)
	}
	return servers, func(i int) string {
		return fmt.Sprintf("%s,%s", servers[i].ClientURL(), servers[(i+1)%3].ClientURL())
	}
}

// submit retries a submission refused as unavailable (a JetStream
// cluster electing leaders) until ctx ends.
func submit(t testing.TB, ctx context.Context, d *jobs.Dispatcher, host, proc string, args any, opts ...jobs.SubmitOption) *jobs.Job {
	t.Helper()
	for {
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		j, err := d.Submit(actx, host, proc, args, opts...)
		cancel()
		if err == nil {
			return j
		}
		if ctx.Err() != nil || !errors.Is(err, jobs.ErrUnavailable) {
			t.Fatalf("Submit %s/%s: %v", host, proc, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestClusterConcurrency: three nodes on three servers serve one host and
// one queue of concurrency 8 (the streams kept on all three servers):
// never more than 8 of its jobs run at once across the cluster, and
// every job runs exactly once.
func TestClusterConcurrency(t *testing.T) {
	_, url := startCluster(t)
	p := newProbe()
	opts := []jetjobs.Option{jetjobs.WithReplicas(3), jetjobs.WithLease(5 * time.Second)}
	var nodes []*node
	for i := range 3 {
		nodes = append(nodes, startNode(t, url(i), fmt.Sprintf("n%d", i), p, true, opts...))
	}
	ctx := ctxTimeout(t, 60*time.Second)
	const total = 240
	t0 := time.Now()
	js := make([]*jobs.Job, total)
	var wg sync.WaitGroup
	for w := range 3 {
		wg.Go(func() {
			for i := w; i < total; i += 3 {
				js[i] = submit(t, ctx, nodes[w].d, "web", "work", 5, jobs.Queue("q", 8))
			}
		})
	}
	wg.Wait()
	t.Logf("submitted in %v", time.Since(t0))
	for i, j := range js {
		if v, err := j.Result(ctx, true); err != nil || string(v.(json.RawMessage)) != "5" {
			t.Fatalf("job %d: got %v, %v", i, v, err)
		}
	}
	if got := p.peak.Load(); got > 8 {
		t.Fatalf("peak running: got %d; want ≤ 8", got)
	}
	if got := p.calls.Load(); got != total {
		t.Fatalf("handler runs: got %d; want %d", got, total)
	}
	t.Logf("peak running %d of 8; %v", p.peak.Load(), time.Since(t0))
}

// TestNodeDeath: the node running a job dies (its server too) mid-job:
// after its lease the job is failed with ErrWorkerLost by another node
// serving its host, and never run again. Jobs queued through a
// dispatcher node that dies are not lost: another node runs them, and a
// third serves their results over its HTTP face.
func TestNodeDeath(t *testing.T) {
	servers, url := startCluster(t)
	p := newProbe()
	opts := []jetjobs.Option{jetjobs.WithReplicas(3), jetjobs.WithLease(time.Second)}
	a := startNode(t, url(0), "a", p, false, opts...)
	b := startNode(t, url(1), "b", p, true, opts...)
	ctx := ctxTimeout(t, 60*time.Second)

	j := submit(t, ctx, a.d, "web", "hold", "mid-job", jobs.Queue("q", 1))
	if tag := entered(t, p); tag != "mid-job" {
		t.Fatalf("entered %q", tag)
	}
	if st := j.Status(); st.State != jobs.Running {
		t.Fatalf("state: got %s; want running", st.State)
	}
	// b dies: its connection and its server go at once; its dispatcher
	// is only cleaned up at the end of the test (its handler then sees
	// its context end, but nothing it writes gets out).
	b.nc.Close()
	servers[1].Shutdown()
	c := startNode(t, url(2), "c", p, true, opts...)

	_, err := j.Result(ctx, true)
	if !errors.Is(err, jobs.ErrWorkerLost) {
		t.Fatalf("Result: got %v; want ErrWorkerLost", err)
	}
	if st := j.Status(); st.State != jobs.Failed {
		t.Fatalf("state: got %s; want failed", st.State)
	}
	if got := p.calls.Load(); got != 1 {
		t.Fatalf("handler runs: got %d; want 1 (a job runs at most once)", got)
	}

	// The dispatcher node dies with jobs queued (no node serves "web2"
	// yet): they are in the stream.
	d := startNode(t, url(0), "d", p, false, opts...)
	c2 := startNode(t, url(2), "c2", p, false, opts...)
	web2(t, c2) // "web2" is known; then its only node goes: its jobs wait
	_ = c2.d.Close()
	c2.nc.Close()
	var ids []string
	for i := range 5 {
		ids = append(ids, submit(t, ctx, d.d, "web2", "echo", fmt.Sprint(i)).ID())
	}
	_ = d.d.Close()
	d.nc.Close()
	web2(t, c) // a node serves web2 again: the queued jobs run

	srv := httptest.NewServer(jobs.Handler(a.d))
	defer srv.Close()
	for i, id := range ids {
		resp, err := http.Get(srv.URL + "/jobs/" + id + "/result?wait=1&timeout=20")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if want := fmt.Sprintf(`"value":"%d!"`, i); resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Fatalf("result of %s over HTTP: %d %s; want %s", id, resp.StatusCode, body, want)
		}
	}
}

// web2 registers echo on a new agent under the host name "web2".
func web2(t testing.TB, n *node) {
	t.Helper()
	ref, err := actor.Spawn(n.rt, &agent{p: n.p})
	if err != nil {
		t.Fatal(err)
	}
	must(t, jobs.Register(n.d, jobs.Ref("web2", ref), echo))
}
