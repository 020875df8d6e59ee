package jetjobs_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/jobs"
	"github.com/troupe-go/troupe/remote/jetjobs"
)

func tok(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// waitFor polls cond every 10 ms until it holds or 20 s pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCancelAcrossNodes: a job running on b, cancelled from a, ends as
// cancelled at once, and its handler's context ends on b; a queued job
// cancelled from a never runs; a second cancel is refused.
func TestCancelAcrossNodes(t *testing.T) {
	s := startServer(t)
	p := newProbe()
	a := startNode(t, s.ClientURL(), "a", p, false)
	startNode(t, s.ClientURL(), "b", p, true)
	ctx := ctxTimeout(t, 20*time.Second)
	running, err := a.d.Submit(ctx, "web", "hold", "first", jobs.Queue("one", 1))
	must(t, err)
	entered(t, p)
	queued, err := a.d.Submit(ctx, "web", "hold", "second", jobs.Queue("one", 1))
	must(t, err)
	if st := queued.Status().State; st != jobs.Queued {
		t.Fatalf("second job: got %s; want queued", st)
	}
	if !queued.Cancel() {
		t.Fatal("Cancel of the queued job: false")
	}
	if !running.Cancel() {
		t.Fatal("Cancel of the running job: false")
	}
	for _, j := range []*jobs.Job{running, queued} {
		if _, err := result(t, j); !errors.Is(err, jobs.ErrCancelled) || j.Status().State != jobs.Cancelled {
			t.Fatalf("%s: got %v, %s; want cancelled", j.ID(), err, j.Status().State)
		}
	}
	waitFor(t, "the handler to see its cancel", func() bool { return p.running.Load() == 0 })
	if running.Cancel() {
		t.Fatal("second Cancel: true")
	}
	// The queue goes on: its slot was freed, the cancelled job was dropped.
	j, err := a.d.Submit(ctx, "web", "echo", "after", jobs.Queue("one", 1))
	must(t, err)
	if _, err := result(t, j); err != nil {
		t.Fatal(err)
	}
	if got := p.calls.Load(); got != 2 { // first, after
		t.Fatalf("handler runs: got %d; want 2 (the cancelled queued job never ran)", got)
	}
}

// TestCancelEndedElsewhere: a cancel for a job that already ended on
// another node returns false and leaves its outcome as it was.
func TestCancelEndedElsewhere(t *testing.T) {
	s := startServer(t)
	p := newProbe()
	a := startNode(t, s.ClientURL(), "a", p, false)
	startNode(t, s.ClientURL(), "b", p, true)
	ctx := ctxTimeout(t, 20*time.Second)
	j, err := a.d.Submit(ctx, "web", "echo", "x")
	must(t, err)
	if _, err := result(t, j); err != nil {
		t.Fatal(err)
	}
	if j.Cancel() {
		t.Fatal("Cancel after the end: true")
	}
	v, err := j.Result(ctx, false)
	if err != nil || string(v.(json.RawMessage)) != `"x!"` || j.Status().State != jobs.Done {
		t.Fatalf("after the cancel: got %v, %v, %s; want done", v, err, j.Status().State)
	}
}

// TestWatchdogsAcrossNodes: max exec and the read timeout, set on the
// submitting node, expire the job running on the other.
func TestWatchdogsAcrossNodes(t *testing.T) {
	s := startServer(t)
	p := newProbe()
	a := startNode(t, s.ClientURL(), "a", p, false)
	startNode(t, s.ClientURL(), "b", p, true)
	ctx := ctxTimeout(t, 20*time.Second)
	j, err := a.d.Submit(ctx, "web", "hold", "slow", jobs.MaxExec(100*time.Millisecond))
	must(t, err)
	if _, err := result(t, j); !errors.Is(err, jobs.ErrMaxExec) || j.Status().State != jobs.Expired {
		t.Fatalf("max exec: got %v, %s; want ErrMaxExec, expired", err, j.Status().State)
	}
	j, err = a.d.Submit(ctx, "web", "lines", linesReq{N: 3, EveryMS: 5000}, jobs.ReadIdle(100*time.Millisecond))
	must(t, err)
	if _, err := result(t, j); !errors.Is(err, jobs.ErrReadIdle) || j.Status().State != jobs.Expired {
		t.Fatalf("read timeout: got %v, %s; want ErrReadIdle, expired", err, j.Status().State)
	}
}

// TestBadMessages: a malformed job message and one of an unknown version
// on a queue are dead-lettered once, with their reason, and the queue
// goes on; a record of an unknown version is refused on lookup.
func TestBadMessages(t *testing.T) {
	s := startServer(t)
	p := newProbe()
	a := startNode(t, s.ClientURL(), "a", p, true)
	ctx := ctxTimeout(t, 20*time.Second)
	js, err := jetstream.New(a.nc)
	must(t, err)
	subj := "jobs.run." + tok("web") + "._"
	for _, data := range []string{`{"not a job`, `{"v":99,"job":{"id":"x","host":"web","procedure":"echo"}}`, ``} {
		if _, err := js.Publish(ctx, subj, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	j, err := a.d.Submit(ctx, "web", "echo", "still")
	must(t, err)
	if v, err := result(t, j); err != nil || string(v.(json.RawMessage)) != `"still!"` {
		t.Fatalf("the queue after bad messages: got %v, %v", v, err)
	}
	dead, err := js.Stream(ctx, "jobs_dead")
	must(t, err)
	waitFor(t, "3 dead letters", func() bool {
		info, err := dead.Info(ctx)
		return err == nil && info.State.Msgs == 3
	})
	var subjects []string // the messages are handled concurrently: in any order
	for seq := uint64(1); seq <= 3; seq++ {
		m, err := dead.GetMsg(ctx, seq)
		if err != nil || m.Header.Get("Jobs-Reason") == "" {
			t.Fatalf("dead letter %d: got %v, %v; want one with a reason", seq, m, err)
		}
		subjects = append(subjects, m.Subject)
	}
	slices.Sort(subjects)
	if got := fmt.Sprint(subjects); got != "[jobs.dead.malformed jobs.dead.malformed jobs.dead.version]" {
		t.Fatalf("dead letters: got %s; want 2 malformed, 1 version", got)
	}
	queue, err := js.Stream(ctx, "jobs_queue")
	must(t, err)
	waitFor(t, "an empty queue (no redelivery loop)", func() bool {
		info, err := queue.Info(ctx)
		return err == nil && info.State.Msgs == 0
	})

	kv, err := js.KeyValue(ctx, "jobs_jobs")
	must(t, err)
	if _, err := kv.Put(ctx, tok("future"), []byte(`{"v":2,"job":{"id":"future","host":"web","procedure":"echo","state":"queued"}}`)); err != nil {
		t.Fatal(err)
	}
	_, err = a.d.Job("future")
	var ve *jetjobs.VersionError
	if !errors.Is(err, jetjobs.ErrVersion) || !errors.As(err, &ve) || ve.Version != 2 {
		t.Fatalf("Job(future): got %v; want a *VersionError of version 2", err)
	}
}

// TestSubmitWhileDisconnected: a submit on a node whose connection is
// down fails at once with ErrUnavailable, well within its deadline, and
// leaves nothing stored — not even once the connection is back.
func TestSubmitWhileDisconnected(t *testing.T) {
	servers, url := startCluster(t)
	p := newProbe()
	opts := []jetjobs.Option{jetjobs.WithReplicas(3)}
	b := startNode(t, url(1), "b", p, true, opts...)
	a := startNodeWith(t, servers[0].ClientURL(), "a", p, false, []nats.Option{nats.IgnoreDiscoveredServers()}, opts...) // one server only
	ctx := ctxTimeout(t, 30*time.Second)
	submit(t, ctx, a.d, "web", "echo", "warm") // a knows host and queue
	servers[0].Shutdown()
	waitFor(t, "a to lose its connection", func() bool { return !a.nc.IsConnected() })
	sctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_, err := a.d.Submit(sctx, "web", "echo", "lost", jobs.ID("half"))
	if !errors.Is(err, jobs.ErrUnavailable) || sctx.Err() != nil {
		t.Fatalf("Submit while down: got %v (ctx %v); want ErrUnavailable before the deadline", err, sctx.Err())
	}
	time.Sleep(200 * time.Millisecond) // anything buffered would have gone out by now
	for {
		_, err = b.d.Job("half")
		if !errors.Is(err, jobs.ErrUnavailable) {
			break
		}
		time.Sleep(50 * time.Millisecond) // the cluster may still be electing
	}
	if !errors.Is(err, jobs.ErrNotFound) {
		t.Fatalf("Job(half) on b: got %v; want ErrNotFound", err)
	}
}

// TestFollowSurvivesServerLoss: the server a follower is connected to
// dies mid-follow; the follower reconnects to another and resumes from
// its last sequence: every item once, in order.
func TestFollowSurvivesServerLoss(t *testing.T) {
	servers, url := startCluster(t)
	p := newProbe()
	opts := []jetjobs.Option{jetjobs.WithReplicas(3)}
	startNode(t, url(2), "b", p, true, opts...)
	a := startNode(t, url(0), "a", p, false, opts...)
	ctx := ctxTimeout(t, 60*time.Second)
	const n = 40
	j := submit(t, ctx, a.d, "web", "lines", linesReq{N: n, EveryMS: 20})
	f, err := j.Follow(ctx, actor.Since(0))
	must(t, err)
	next := uint64(0)
	for it, err := range f.All() {
		if err != nil {
			t.Fatalf("follow at %d: %v", next, err)
		}
		if want := fmt.Sprintf(`"line %d"`, next); it.Seq != next || string(it.V.(json.RawMessage)) != want {
			t.Fatalf("item: got %d %s; want %d %s", it.Seq, it.V, next, want)
		}
		next++
		if next == 10 {
			servers[0].Shutdown() // a's server: a moves to server 1
		}
	}
	if next != n {
		v, err := j.Result(ctx, false)
		t.Fatalf("followed %d items; want %d (job %+v: %v, %v)", next, n, j.Status(), v, err)
	}
}

// TestRetention: a job is found by id until its record's age passes the
// retention, then it is not found.
func TestRetention(t *testing.T) {
	s := startServer(t)
	p := newProbe()
	opts := []jetjobs.Option{jetjobs.WithRetention(time.Second, 1<<20)}
	a := startNode(t, s.ClientURL(), "a", p, false, opts...)
	startNode(t, s.ClientURL(), "b", p, true, opts...)
	ctx := ctxTimeout(t, 20*time.Second)
	j, err := a.d.Submit(ctx, "web", "echo", "short-lived")
	must(t, err)
	if _, err := result(t, j); err != nil {
		t.Fatal(err)
	}
	if _, err := a.d.Job(j.ID()); err != nil {
		t.Fatalf("Job right after its end: %v", err)
	}
	waitFor(t, "the record to pass its retention", func() bool {
		_, err := a.d.Job(j.ID())
		return errors.Is(err, jobs.ErrNotFound)
	})
	// A handle still held keeps its last record, as in memory.
	if _, err := j.Result(ctx, false); err != nil {
		t.Fatalf("Result on a handle held past retention: got %v; want its outcome", err)
	}
}

// TestStopWithJobs: a node closing with a job running cancels it (the
// record says cancelled, not lost), and a job still waiting in its queue
// stays there for another node.
func TestStopWithJobs(t *testing.T) {
	s := startServer(t)
	p := newProbe()
	a := startNode(t, s.ClientURL(), "a", p, false)
	b := startNode(t, s.ClientURL(), "b", p, true)
	ctx := ctxTimeout(t, 20*time.Second)
	running, err := a.d.Submit(ctx, "web", "hold", "r", jobs.Queue("one", 1))
	must(t, err)
	entered(t, p)
	waiting, err := a.d.Submit(ctx, "web", "echo", "w", jobs.Queue("one", 1))
	must(t, err)
	sctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := b.d.Shutdown(sctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown with a job that does not end: got %v; want the deadline", err)
	}
	_ = b.d.Close()
	// Across nodes an outcome is a *jobs.RemoteError: type cancelled, also
	// closed, as in process.
	if _, err := result(t, running); !errors.Is(err, jobs.ErrCancelled) || !errors.Is(err, jobs.ErrClosed) || !strings.Contains(err.Error(), "dispatcher closed") {
		t.Fatalf("the running job: got %v; want cancelled, closed", err)
	}
	if st := waiting.Status().State; st != jobs.Queued {
		t.Fatalf("the waiting job: got %s; want queued", st)
	}
	startNode(t, s.ClientURL(), "c", p, true)
	if v, err := result(t, waiting); err != nil || string(v.(json.RawMessage)) != `"w!"` {
		t.Fatalf("the waiting job on another node: got %v, %v", v, err)
	}
}

// TestCloseServerGone: with its server gone, a dispatcher's Shutdown
// returns at its ctx's end, and Close within the 5 s of the one request
// nats.go gives no context (a queue watcher's consumer delete). Before,
// the backend's Stop stopped the watchers on the caller's goroutine
// (Shutdown(ctx) returned after 5 s, ctx or not), and Close waited a
// lease more for consumers whose drain could not complete without their
// server: 15 s in all (10 s with the drain's flush timeout).
func TestCloseServerGone(t *testing.T) {
	s := startServer(t)
	n := startNode(t, s.ClientURL(), "a", newProbe(), true)
	s.Shutdown()
	// Gone for a moment, as a server that went away is: the connection
	// has noticed (a drain begun before it does waits for nats.go's flush
	// timeout, 10 s).
	for deadline := time.Now().Add(10 * time.Second); n.nc.IsConnected() && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := n.d.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown: got %v; want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Shutdown with a 100 ms ctx took %v", d)
	}
	if err := n.d.Close(); err != nil {
		t.Errorf("Close: got %v; want nil", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Close took %v after the server went away; want about 5 s", d)
	}
}
