package remote_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/remote"
	"github.com/troupe-go/troupe/remote/embedded"
)

// Worker handles Work, recording which request ids it ran: an id run
// twice anywhere in the cluster is a failure.
type Worker struct {
	node string
	seen *sync.Map // id → node
	dups *atomic.Int64
}

type WorkReq struct {
	ID    int64
	Delay time.Duration
}

var Work = actor.NewMethod("work", func(w *Worker, c *actor.Ctx, req WorkReq) (string, error) {
	if _, loaded := w.seen.LoadOrStore(req.ID, w.node); loaded {
		w.dups.Add(1)
	}
	ctx := c.Context()
	t := time.NewTimer(req.Delay)
	defer t.Stop()
	select {
	case <-t.C:
		return w.node, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
})

// TestFaults: a 3-server NATS cluster with three nodes serving one name
// and a client on a fourth: under steady load, one NATS server is killed,
// then one serving node. Calls keep succeeding on the survivors; calls in
// flight where the fault hit fail with a clear error within their
// deadline; no request runs twice; and no goroutine is left (TestMain).
func TestFaults(t *testing.T) {
	ctx := ctxTimeout(t, 30*time.Second)
	servers, err := embedded.Cluster(ctx, 3, embedded.WithoutJetStream())
	if err != nil {
		t.Fatalf("Cluster: %v", err)
	}
	for _, s := range servers {
		t.Cleanup(s.Shutdown)
	}
	urls := func(first int) string {
		out := []string{servers[first].ClientURL()}
		for i, s := range servers {
			if i != first {
				out = append(out, s.ClientURL())
			}
		}
		return strings.Join(out, ",")
	}
	seen, dups := new(sync.Map), new(atomic.Int64)
	nodes := make([]*remote.Node, 3)
	for i := range nodes {
		nodes[i] = startNode(t, urls(i), remote.WithName(fmt.Sprintf("n%d", i+1)),
			remote.WithNATSOptions(nats.DontRandomize(), nats.ReconnectWait(20*time.Millisecond)))
		ref, err := actor.Spawn(nodes[i].Runtime(), &Worker{node: nodes[i].ID(), seen: seen, dups: dups})
		if err != nil {
			t.Fatal(err)
		}
		if err := remote.Export(nodes[i], "work", ref, remote.Serve(Work)); err != nil {
			t.Fatal(err)
		}
	}
	// The client is on the third server, which is never killed.
	cli := startNode(t, urls(2), remote.WithName("cli"), remote.WithNATSOptions(nats.DontRandomize()))
	b := remote.Bind(cli, "work", Work)

	const deadline = time.Second
	var (
		nextID   atomic.Int64
		ok       atomic.Int64
		mu       sync.Mutex
		failures = map[string]int{}
		hung     atomic.Int64
		byNode   sync.Map // node → *atomic.Int64
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				id := nextID.Add(1)
				cctx, cancel := context.WithTimeout(context.Background(), deadline)
				start := time.Now()
				node, err := b.Call(cctx, WorkReq{ID: id, Delay: 2 * time.Millisecond})
				cancel()
				if time.Since(start) > deadline+time.Second {
					hung.Add(1)
				}
				if err == nil {
					ok.Add(1)
					c, _ := byNode.LoadOrStore(node, new(atomic.Int64))
					c.(*atomic.Int64).Add(1)
					continue
				}
				mu.Lock()
				failures[classify(err)]++
				mu.Unlock()
			}
		})
	}
	// waitOK waits until n more calls have succeeded after now.
	waitOK := func(phase string, n int64) {
		t.Helper()
		target := ok.Load() + n
		for ok.Load() < target {
			if ctx.Err() != nil {
				close(stop)
				wg.Wait()
				t.Fatalf("%s: only %d successes; want %d", phase, ok.Load(), target)
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitOK("steady", 200)
	servers[0].Shutdown() // n1 loses its server and reconnects to another
	waitOK("after a NATS server died", 200)
	nodeCount := func(name string) int64 {
		c, ok := byNode.Load(name)
		if !ok {
			return 0
		}
		return c.(*atomic.Int64).Load()
	}
	n2Before := nodeCount("n2")
	_ = nodes[1].Close() // a serving node dies with calls in flight
	n2After := nodeCount("n2")
	waitOK("after a serving node died", 200)
	close(stop)
	wg.Wait()

	if d := dups.Load(); d != 0 {
		t.Fatalf("%d requests ran twice; want 0", d)
	}
	if h := hung.Load(); h != 0 {
		t.Fatalf("%d calls outlived their deadline; want 0", h)
	}
	if got := nodeCount("n2"); got > n2After+int64(6) {
		t.Fatalf("n2 answered %d calls after it closed (had %d, %d before closing); want none beyond those in flight", got-n2After, n2After, n2Before)
	}
	for kind, count := range failures {
		switch kind {
		case "timeout", "closed", "not found":
		default:
			t.Fatalf("%d calls failed with %q; want only timeouts, closed, or not found", count, kind)
		}
	}
	t.Logf("ok %d, failures %v", ok.Load(), failures)
}

// classify names a failed call's error.
func classify(err error) string {
	switch {
	case errors.Is(err, remote.ErrTimeout):
		return "timeout"
	case errors.Is(err, remote.ErrClosed):
		return "closed"
	case errors.Is(err, remote.ErrNotFound):
		return "not found"
	}
	return err.Error()
}
