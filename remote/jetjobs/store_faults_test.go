package jetjobs

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/jobs"
	"github.com/troupe-go/troupe/remote/embedded"
	troupe "github.com/troupe-go/troupe/runtime"
)

// The tests of this file drive a backend whose jobs bucket fails writes
// on cue (flakyKV): the store away for a moment, as a JetStream cluster
// electing a leader, or a connection that drops, is.

// errFlaky is a write refused by a flakyKV.
var errFlaky = errors.New("flaky: the store is away")

// flakyKV is a jobs bucket whose next Updates of one key fail: before
// they are written (lost), or after (written, the answer lost).
type flakyKV struct {
	jetstream.KeyValue
	mu      sync.Mutex // guards the fields below
	key     string
	n       int  // Updates of key still to fail
	written bool // write them, then fail
	failed  chan struct{}
	after   func() // called once, after the next Update of key is stored
	lost    func() // called once, after the next failing Update of key is stored (written)
	purges  int    // Purges still to fail (any key)
	exists  func() // called once, by the next Create that finds its key, before it returns
}

// Create calls exists, once, if its key exists.
func (k *flakyKV) Create(ctx context.Context, key string, value []byte, opts ...jetstream.KVCreateOpt) (uint64, error) {
	rev, err := k.KeyValue.Create(ctx, key, value, opts...)
	if errors.Is(err, jetstream.ErrKeyExists) {
		k.mu.Lock()
		f := k.exists
		k.exists = nil
		k.mu.Unlock()
		if f != nil {
			f()
		}
	}
	return rev, err
}

// failPurges makes the next n Purges fail, nothing purged.
func (k *flakyKV) failPurges(n int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.purges = n
}

func (k *flakyKV) Purge(ctx context.Context, key string, opts ...jetstream.KVDeleteOpt) error {
	k.mu.Lock()
	fail := k.purges > 0
	if fail {
		k.purges--
	}
	k.mu.Unlock()
	if fail {
		return errFlaky
	}
	return k.KeyValue.Purge(ctx, key, opts...)
}

func newFlakyKV(kv jetstream.KeyValue) *flakyKV {
	return &flakyKV{KeyValue: kv, failed: make(chan struct{}, 64)}
}

// afterNext calls f once the next Update of job id's record is stored,
// before it returns.
func (k *flakyKV) afterNext(id string, f func()) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.key, k.after = tok(id), f
}

// failNext makes the next n Updates of job id's record fail; written: they
// are stored all the same.
func (k *flakyKV) failNext(id string, n int, written bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.key, k.n, k.written = tok(id), n, written
}

// loseNext makes the next Update of job id's record be stored, then call
// f, then fail: its answer lost.
func (k *flakyKV) loseNext(id string, f func()) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.key, k.n, k.written, k.lost = tok(id), 1, true, f
}

func (k *flakyKV) Update(ctx context.Context, key string, value []byte, rev uint64) (uint64, error) {
	k.mu.Lock()
	fail := key == k.key && k.n > 0
	if fail {
		k.n--
	}
	written := k.written
	var after, lost func()
	if key == k.key && !fail {
		after, k.after = k.after, nil
	}
	if fail {
		lost, k.lost = k.lost, nil
	}
	k.mu.Unlock()
	if !fail {
		nrev, err := k.KeyValue.Update(ctx, key, value, rev)
		if after != nil && err == nil {
			after()
		}
		return nrev, err
	}
	defer func() { k.failed <- struct{}{} }()
	if written {
		if _, err := k.KeyValue.Update(ctx, key, value, rev); err != nil {
			return 0, err
		}
		if lost != nil {
			lost()
		}
	}
	return 0, errFlaky
}

// flakyStream is a queue stream whose next lookups of a consumer fail.
type flakyStream struct {
	jetstream.Stream
	mu     sync.Mutex // guards n
	n      int        // Consumer calls still to fail
	block  func()     // called once, by the next failing Consumer call, before it returns
	stall  func()     // called once, by the next Consumer call, before it looks the consumer up
	failed chan struct{}
}

// failNext makes the next n lookups of a consumer fail.
func (s *flakyStream) failNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n = n
}

func (s *flakyStream) Consumer(ctx context.Context, name string) (jetstream.Consumer, error) {
	s.mu.Lock()
	fail := s.n > 0
	var block func()
	if fail {
		s.n--
		block, s.block = s.block, nil
	}
	stall := s.stall
	s.stall = nil
	s.mu.Unlock()
	if stall != nil {
		stall()
	}
	if fail {
		if block != nil {
			block()
		}
		s.failed <- struct{}{}
		return nil, errFlaky
	}
	return s.Stream.Consumer(ctx, name)
}

// flakyJS is a JetStream whose asynchronous publish of one message id
// fails (its ack future gives an error; nothing is sent), and whose next
// synchronous publishes fail: before they are sent (lost), or after
// they are stored (the answer lost).
type flakyJS struct {
	jetstream.JetStream
	mu       sync.Mutex // guards the fields below
	msgID    string
	pubs     int    // PublishMsgs still to fail
	pubsSent bool   // store them, then fail
	pubsLost func() // called once, at the next failing PublishMsg (after its message is stored, if it is)
}

// failPublishes makes the next n PublishMsgs fail; stored: after the
// message is stored.
func (j *flakyJS) failPublishes(n int, stored bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.pubs, j.pubsSent = n, stored
}

func (j *flakyJS) PublishMsg(ctx context.Context, m *nats.Msg, opts ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	j.mu.Lock()
	fail, stored := j.pubs > 0, j.pubsSent
	var lost func()
	if fail {
		j.pubs--
		lost, j.pubsLost = j.pubsLost, nil
	}
	j.mu.Unlock()
	if !fail {
		return j.JetStream.PublishMsg(ctx, m, opts...)
	}
	if stored {
		if _, err := j.JetStream.PublishMsg(ctx, m, opts...); err != nil {
			return nil, err
		}
	}
	if lost != nil {
		lost()
	}
	return nil, errFlaky
}

func (j *flakyJS) failAsync(msgID string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.msgID = msgID
}

func (j *flakyJS) PublishMsgAsync(m *nats.Msg, opts ...jetstream.PublishOpt) (jetstream.PubAckFuture, error) {
	j.mu.Lock()
	fail := j.msgID != "" && m.Header.Get(jetstream.MsgIDHeader) == j.msgID
	if fail {
		j.msgID = ""
	}
	j.mu.Unlock()
	if fail {
		f := failedAck{msg: m, err: make(chan error, 1)}
		f.err <- errFlaky
		return f, nil
	}
	return j.JetStream.PublishMsgAsync(m, opts...)
}

// failedAck is the ack future of a publish that failed.
type failedAck struct {
	msg *nats.Msg
	err chan error
}

func (f failedAck) Ok() <-chan *jetstream.PubAck { return nil }
func (f failedAck) Err() <-chan error            { return f.err }
func (f failedAck) Msg() *nats.Msg               { return f.msg }

// gateAgent is the host of the tests of this file: its gate handler
// reports that it runs, then returns its argument once the test opens
// its gate, or its context's error.
type gateAgent struct {
	entered chan string
	open    chan struct{}
	items   chan string // what ticks sends, until it is closed
}

// ticks streams what the test puts in its agent's items.
var ticks = actor.NewStream("ticks", func(a *gateAgent, _ *actor.Ctx, _ struct{}, out *actor.Out[string]) error {
	go func() {
		ctx := out.Context()
		for {
			select {
			case v, ok := <-a.items:
				if !ok {
					_ = out.Close(nil)
					return
				}
				if err := out.SendWait(ctx, v); err != nil {
					_ = out.Close(err) // cancelled as it sent: end, as below
					return
				}
			case <-ctx.Done():
				_ = out.Close(ctx.Err())
				return
			}
		}
	}()
	return nil
})

var gate = actor.NewDeferred("gate", func(a *gateAgent, _ *actor.Ctx, s string, r *actor.Reply[string]) {
	a.entered <- s
	go func() {
		select {
		case <-a.open:
			_ = r.Send(s+"!", nil)
		case <-r.Context().Done():
			_ = r.Send("", r.Context().Err())
		}
	}()
})

// storeNode is a dispatcher on its own runtime and connection, with its
// backend's jobs bucket behind a flakyKV.
type storeNode struct {
	rt   *troupe.Runtime
	b    *Backend
	d    *jobs.Dispatcher
	kv   *flakyKV
	q    *flakyStream
	js   *flakyJS
	gate *gateAgent // nil: no host here
}

// startStoreNode starts a node on url; with host, "web" (gate) runs on it.
func startStoreNode(t *testing.T, url, name string, host bool, opts ...Option) *storeNode {
	t.Helper()
	rt, err := troupe.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rt.Close() })
	nc, err := nats.Connect(url, nats.Name(name))
	if err != nil {
		t.Fatalf("nats.Connect: %v", err)
	}
	t.Cleanup(nc.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := New(ctx, nc, append([]Option{WithNode(name), WithMemoryStorage()}, opts...)...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	n := &storeNode{rt: rt, b: b, kv: newFlakyKV(b.jobsKV), q: &flakyStream{Stream: b.queue, failed: make(chan struct{}, 64)}}
	n.js = &flakyJS{JetStream: b.js}
	b.jobsKV, b.queue, b.js = n.kv, n.q, n.js
	if n.d, err = jobs.New(rt, jobs.WithBackend(b)); err != nil {
		t.Fatalf("jobs.New: %v", err)
	}
	t.Cleanup(func() { _ = n.d.Close() })
	if host {
		n.gate = &gateAgent{entered: make(chan string, 8), open: make(chan struct{}), items: make(chan string)}
		ref, err := actor.Spawn(rt, n.gate)
		if err != nil {
			t.Fatal(err)
		}
		if err := jobs.Register(n.d, jobs.Ref("web", ref), gate); err != nil {
			t.Fatal(err)
		}
		if err := jobs.RegisterStream(n.d, jobs.Ref("web", ref), ticks); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

// storeNodes starts a server, a node that submits and one that hosts
// "web", both with opts, and returns them and the server's URL.
func storeNodes(t *testing.T, opts ...Option) (a, b *storeNode, url string) {
	t.Helper()
	s, err := embedded.Start(context.Background(), embedded.WithStoreDir(t.TempDir()))
	if err != nil {
		t.Fatalf("embedded.Start: %v", err)
	}
	t.Cleanup(s.Shutdown)
	url = s.ClientURL()
	return startStoreNode(t, url, "a", false, opts...), startStoreNode(t, url, "b", true, opts...), url
}

// spawnOpenGate spawns on n's runtime a gateAgent whose gate is open: a
// gate job runs at once.
func spawnOpenGate(t *testing.T, n *storeNode) *actor.Ref[*gateAgent] {
	t.Helper()
	ga := &gateAgent{entered: make(chan string, 8), open: make(chan struct{}), items: make(chan string)}
	close(ga.open)
	ref, err := actor.Spawn(n.rt, ga)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// wait returns what ch gives, or fails the test after 20 s.
func wait[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(20 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}

// submit submits procedure (gate, ticks) of "web" from node n, and fails
// the test if it cannot.
func submit(t *testing.T, ctx context.Context, n *storeNode, procedure string, args any, opts ...jobs.SubmitOption) *jobs.Job {
	t.Helper()
	j, err := n.d.Submit(ctx, "web", procedure, args, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// follow follows job j from its first item, and returns the items as
// they come (their JSON), until the first error.
func follow(t *testing.T, ctx context.Context, j *jobs.Job) <-chan string {
	t.Helper()
	f, err := j.Follow(ctx, actor.Since(0))
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 8)
	go func() {
		for it, err := range f.All() {
			if err != nil {
				return
			}
			got <- string(it.V.(json.RawMessage))
		}
	}()
	return got
}

// wantX waits up to 20 s for job j's result, and fails the test unless it
// is gate's answer to "x": "x!".
func wantX(t *testing.T, ctx context.Context, j *jobs.Job) {
	t.Helper()
	rctx, rcancel := context.WithTimeout(ctx, 20*time.Second)
	defer rcancel()
	v, err := j.Result(rctx, true)
	if err != nil {
		t.Fatalf("Result: got %v, %v (state %s); want x!", v, err, j.Status().State)
	}
	if got := string(v.(json.RawMessage)); got != `"x!"` {
		t.Fatalf("Result: got %s; want \"x!\"", got)
	}
}

// TestEndStoredAfterBlip: the runner's write of a job's end fails (the
// store away). Before, the runner acknowledged the job's message all the
// same: its record said running forever, and Result waited forever. The
// runner now writes the end again until it is stored, for up to a lease
// ("blip": the job is done); past that it leaves the message
// unacknowledged, and the job is failed as lost a lease later by a node
// that serves its host ("away").
func TestEndStoredAfterBlip(t *testing.T) {
	for _, c := range []struct {
		name  string
		lease time.Duration
		fails int
		want  error
	}{
		{"blip", time.Minute, 1, nil}, // no lease refresh meanwhile
		{"away", shortLease, 1 << 20, jobs.ErrWorkerLost},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, b, url := storeNodes(t, WithLease(c.lease))
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			j := submit(t, ctx, a, "gate", "x", jobs.ID("end"))
			wait(t, "the handler to run", b.gate.entered)
			b.kv.failNext("end", c.fails, false)
			close(b.gate.open)
			wait(t, "the end's write to fail", b.kv.failed)
			if c.want != nil {
				startStoreNode(t, url, "c", true, WithLease(c.lease)) // its store works
			}
			rctx, rcancel := context.WithTimeout(ctx, 20*time.Second)
			defer rcancel()
			v, err := j.Result(rctx, true)
			switch {
			case c.want != nil && !errors.Is(err, c.want):
				t.Fatalf("Result: got %v, %v (state %s); want %v", v, err, j.Status().State, c.want)
			case c.want != nil:
			case err != nil:
				t.Fatalf("Result: got %v, %v (state %s); want x!", v, err, j.Status().State)
			case string(v.(json.RawMessage)) != `"x!"`:
				t.Fatalf("Result: got %s; want \"x!\"", v)
			}
		})
	}
}

// shortLease is the short lease of the tests that wait for one to lapse.
const shortLease = 300 * time.Millisecond

// TestMarkRunningAnswerLost: a runner's mark of a job as running is
// stored, but its answer is lost (the connection dropped, a request timed
// out). Before, the job's record said running on that node, which was
// not running it: a lease later the job failed as lost, never run,
// although its node was there all along. The node now knows the mark is
// its own (its node and start time) when the message comes back, and
// runs the job.
func TestMarkRunningAnswerLost(t *testing.T) {
	a, b, _ := storeNodes(t, WithLease(shortLease))
	b.kv.failNext("mark", 1, true) // the first write of its record: the runner's mark
	close(b.gate.open)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	j := submit(t, ctx, a, "gate", "x", jobs.ID("mark"))
	wantX(t, ctx, j)
	select {
	case <-b.kv.failed:
	default:
		t.Fatal("the mark's answer was never lost")
	}
}

// TestCancelAsItStarts: a job cancelled from another node right after its
// runner marked it running, before the runner had registered it: the
// cancel request found nothing to cancel, and the handler ran on, holding
// its queue's slot, until the runner's next lease refresh (a third of a
// lease: here 100 s). The runner now registers the job before it marks
// it, so the request cancels it.
func TestCancelAsItStarts(t *testing.T) {
	a, b, _ := storeNodes(t, WithLease(5*time.Minute))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cancelled := make(chan bool, 1)
	b.kv.afterNext("first", func() { // the runner's mark, stored
		ok, err := a.b.Cancel(ctx, "first", 0)
		if err != nil {
			t.Errorf("Cancel: %v", err)
		}
		cancelled <- ok
	})
	first := submit(t, ctx, a, "gate", "first", jobs.ID("first"), jobs.Queue("one", 1))
	if !wait(t, "the cancel", cancelled) {
		t.Fatal("Cancel as the job starts: false")
	}
	second := submit(t, ctx, a, "gate", "second", jobs.Queue("one", 1))
	for {
		if got := wait(t, "the next job of the queue to run (the cancelled one's slot freed)", b.gate.entered); got == "second" {
			break
		}
	}
	if _, err := first.Result(ctx, true); !errors.Is(err, jobs.ErrCancelled) {
		t.Fatalf("the cancelled job: got %v; want ErrCancelled", err)
	}
	close(b.gate.open)
	if _, err := second.Result(ctx, true); err != nil {
		t.Fatalf("the next job: %v", err)
	}
}

// TestQueueConsumedAfterBlip: a node serving a host could not look up the
// consumer of a queue that appeared (the store away for a moment). Before,
// it tried again only at the queue's next change, which may never come:
// the queue's jobs never ran, though the node hosts their agent. It now
// tries again, a second apart, until it consumes the queue.
func TestQueueConsumedAfterBlip(t *testing.T) {
	a, b, _ := storeNodes(t)
	close(b.gate.open)
	b.q.failNext(1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	j := submit(t, ctx, a, "gate", "x", jobs.Queue("q", 1))
	wait(t, "the lookup of the queue's consumer to fail", b.q.failed)
	rctx, rcancel := context.WithTimeout(ctx, 20*time.Second)
	defer rcancel()
	if v, err := j.Result(rctx, true); err != nil {
		t.Fatalf("Result: got %v, %v (state %s); want x!", v, err, j.Status().State)
	}
}

// TestFollowPastFailedItem: the publish of a running job's item fails (its
// stream's leader being elected); the items after it are stored. Before,
// the failed item was sent again only at the publisher's next flush (256
// items on, or the job's end), and a follower on another node, which puts
// items back in order, saw nothing past the gap meanwhile: a slow job's
// live output stalled until its end. The publisher now sends failed items
// again before the next item.
func TestFollowPastFailedItem(t *testing.T) {
	items, got := followFailing(t, "ticking")
	items <- "a"
	wantItem(t, got, `"a"`, " (the job still running)")
	items <- "b" // its publish fails
	items <- "c"
	wantItem(t, got, `"b"`, " (the job still running)")
	wantItem(t, got, `"c"`, " (the job still running)")
}

// followFailing runs ticks with the id on node b of storeNodes, whose
// publish of its second item (1) fails, and follows it from node a. It
// returns the ticks' items to send and the items followed.
func followFailing(t *testing.T, id string) (chan<- string, <-chan string) {
	t.Helper()
	a, b, _ := storeNodes(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	b.js.failAsync(id + "/1")
	j := submit(t, ctx, a, "ticks", struct{}{}, jobs.ID(id))
	t.Cleanup(func() { close(b.gate.items) })
	return b.gate.items, follow(t, ctx, j)
}

// wantItem waits for the next item followed, and fails the test unless it
// is want (its JSON); why says more of the wait.
func wantItem(t *testing.T, got <-chan string, want, why string) {
	t.Helper()
	if v := wait(t, "the followed item "+want+why, got); v != want {
		t.Fatalf("followed %s; want %s", v, want)
	}
}

// fakeMsg is a delivery of a job message that a test hands to a backend's
// handle itself; it records how the backend settles it.
type fakeMsg struct {
	jetstream.Msg // nil: the methods handle does not use
	subject       string
	data          []byte
	settled       chan string   // "ack", "nak", "term"
	delay         time.Duration // NakWithDelay's, if it was called
}

func (m *fakeMsg) Subject() string                           { return m.subject }
func (m *fakeMsg) Data() []byte                              { return m.data }
func (m *fakeMsg) Headers() nats.Header                      { return nil }
func (m *fakeMsg) InProgress() error                         { return nil }
func (m *fakeMsg) Ack() error                                { m.settled <- "ack"; return nil }
func (m *fakeMsg) Nak() error                                { m.settled <- "nak"; return nil }
func (m *fakeMsg) NakWithDelay(d time.Duration) error        { m.delay = d; m.settled <- "nak"; return nil }
func (m *fakeMsg) Term() error                               { m.settled <- "term"; return nil }
func (m *fakeMsg) TermWithReason(string) error               { m.settled <- "term"; return nil }
func (m *fakeMsg) DoubleAck(context.Context) error           { m.settled <- "ack"; return nil }
func (m *fakeMsg) Metadata() (*jetstream.MsgMetadata, error) { return nil, errFlaky }

// TestRedeliveredLeaseReadFails: the message of a job running on a live
// node comes to another node (a consumer's leader changed and redelivered
// it early), whose read of the record's last write fails (the store away,
// a leader being elected). Before, that node took the failed read for a
// lapsed lease and failed the job as lost, though its runner was alive;
// it now puts the message back for later, as when the store is away
// elsewhere, and the job runs on to its end.
func TestRedeliveredLeaseReadFails(t *testing.T) {
	a, b, url := storeNodes(t)
	c := startStoreNode(t, url, "c", false)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	j := submit(t, ctx, a, "gate", "x", jobs.ID("live"))
	wait(t, "the handler to run on b", b.gate.entered)
	raw, err := c.b.queue.GetLastMsgForSubject(ctx, c.b.runSubject("web", ""))
	if err != nil {
		t.Fatalf("the job's message: %v", err)
	}
	var failOnce sync.Once
	c.b.lastWrite = func(ctx context.Context, key string) ([]byte, uint64, time.Time, error) {
		failed := false
		failOnce.Do(func() { failed = true })
		if failed {
			return nil, 0, time.Time{}, unavailable(errFlaky)
		}
		return c.b.leaderGet(ctx, key)
	}
	m := &fakeMsg{subject: raw.Subject, data: raw.Data, settled: make(chan string, 4)}
	c.b.handle(m)
	if got := wait(t, "the delivery to be settled", m.settled); got != "nak" {
		r, err := c.b.Lookup(ctx, "live")
		t.Fatalf("the redelivered message: got %s (the job %s: %v, %v); want nak (put back for later)", got, r.State, r.Error, err)
	}
	if r, err := c.b.Lookup(ctx, "live"); err != nil || r.State != jobs.Running || r.Node != "b" {
		t.Fatalf("the record: got %s on %q, %v; want running on b", r.State, r.Node, err)
	}
	close(b.gate.open)
	wantX(t, ctx, j)
}

// TestRedeliveredLookAgainAtLease: the message of a running job comes to
// another node while the record's last write is nearly a lease old. The
// node puts it back until a lease has passed since that write, when the
// job is lost if its record was not written again: not for half a lease
// more, as it did (a lost job failed about one and a half leases after
// its node's last write, not one).
func TestRedeliveredLookAgainAtLease(t *testing.T) {
	const lease = 20 * time.Second // no refresh comes during the test
	a, b, url := storeNodes(t, WithLease(lease))
	c := startStoreNode(t, url, "c", false, WithLease(lease))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	j := submit(t, ctx, a, "gate", "x", jobs.ID("old"))
	wait(t, "the handler to run on b", b.gate.entered)
	raw, err := c.b.queue.GetLastMsgForSubject(ctx, c.b.runSubject("web", ""))
	if err != nil {
		t.Fatalf("the job's message: %v", err)
	}
	const age = lease - lease/8 // the last write, as c's look sees it
	c.b.lastWrite = func(ctx context.Context, key string) ([]byte, uint64, time.Time, error) {
		data, rev, written, err := c.b.leaderGet(ctx, key)
		return data, rev, written.Add(-age), err
	}
	m := &fakeMsg{subject: raw.Subject, data: raw.Data, settled: make(chan string, 4)}
	c.b.handle(m)
	if got := wait(t, "the delivery to be settled", m.settled); got != "nak" {
		t.Fatalf("the redelivered message: got %s; want nak (looked at again later)", got)
	}
	if m.delay <= 0 || m.delay > lease-age {
		t.Errorf("put back for %v; want at most %v: until a lease after the last write", m.delay, lease-age)
	}
	close(b.gate.open)
	wantX(t, ctx, j)
}

// TestRunningOutlivesRetention: a job runs longer than the retention age
// (a lease of 30 s: the record's refreshes a third of a lease apart come
// later than the age). Before, the queue stream's age limit removed the
// running job's message (freeing its queue slot; had its node died, the
// job would never have settled), and the jobs bucket's dropped its
// record between two refreshes: the job was not found while it ran. The
// queue stream now has no age limit (its messages leave by their ack or
// term), and a runner rewrites its record a third of min(lease, age)
// apart. The age is 1.5 s, not less: with 500 ms, a refresh due every
// 167 ms that a loaded machine delayed past 500 ms let the record expire
// (seen once in two runs beside other tests).
func TestRunningOutlivesRetention(t *testing.T) {
	const age = 1500 * time.Millisecond
	a, b, _ := storeNodes(t, WithRetention(age, DefaultBytes))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	j := submit(t, ctx, a, "gate", "x", jobs.ID("long"))
	wait(t, "the handler to run on b", b.gate.entered)
	<-time.After(3 * age) // the job runs past its retention age
	if _, err := a.b.queue.GetLastMsgForSubject(ctx, a.b.runSubject("web", "")); err != nil {
		t.Errorf("the running job's message, %v after it started: %v; want it in its queue", 3*age, err)
	}
	if r, err := a.b.Lookup(ctx, "long"); err != nil || r.State != jobs.Running {
		t.Errorf("the running job's record, %v after it started: got %s, %v; want running", 3*age, r.State, err)
	}
	close(b.gate.open)
	wantX(t, ctx, j)
}

// TestFollowPastFailedLastItem: the publish of a running job's item fails
// and the job then sends nothing for a while. Before, the item was sent
// again only at the job's next item or its end: a follower on another
// node saw nothing of it meanwhile. The publisher now also sends it
// again on a timer of its own (retryEvery).
func TestFollowPastFailedLastItem(t *testing.T) {
	items, got := followFailing(t, "quiet")
	items <- "a"
	wantItem(t, got, `"a"`, "")
	items <- "b" // its publish fails; the job sends nothing more
	wantItem(t, got, `"b"`, " (the job still running, quiet)")
}

// TestIDReusedWhileOldRuns: a job's runner cannot write its record (the
// store away for it) for longer than the retention age: the record goes,
// and a new job is submitted with the same id while the old one still
// runs. Before, the old runner took the new job's record for its own (a
// job's identity was only its id): its end was written over the new
// job's record, and the new job's message was taken for a redelivery of
// the old one's, so the new job never ran. Each submission now has a
// generation (its record's creation revision), carried by every record
// write, job message, output item, end notice and cancel request, and
// checked by their readers.
func TestIDReusedWhileOldRuns(t *testing.T) {
	const age = 500 * time.Millisecond
	a, b, _ := storeNodes(t, WithRetention(age, DefaultBytes))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	submit(t, ctx, a, "gate", "x", jobs.ID("again"))
	wait(t, "the first job's handler to run on b", b.gate.entered)
	b.kv.failNext("again", 1<<30, false) // its record is not rewritten: it ages out
	for {
		_, err := a.b.Lookup(ctx, "again")
		if errors.Is(err, jobs.ErrNotFound) {
			break
		}
		if ctx.Err() != nil {
			t.Fatal(ctx.Err())
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.kv.failNext("again", 0, false) // the store is back
	j := submit(t, ctx, a, "gate", "y", jobs.ID("again"))
	close(b.gate.open) // both return
	rctx, rcancel := context.WithTimeout(ctx, 20*time.Second)
	defer rcancel()
	v, err := j.Result(rctx, true)
	got, _ := v.(json.RawMessage)
	if err != nil || string(got) != `"y!"` {
		t.Fatalf("the new job's Result: got %s, %v (state %s); want \"y!\"", got, err, j.Status().State)
	}
}

// TestMarkAnswerLostOtherNode: a runner's mark of a job as running is
// stored, but its answer is lost, on a host served by several nodes.
// Before, the runner put the message back (for a third of a lease), and
// it could come back to another node serving the host, which found the
// record running on the runner and not rewritten for a lease, and failed
// the job as lost, never run, though the runner was alive all along
// (TestMarkRunningAnswerLost passes only when it comes back to the
// runner). The runner now finds out itself whether its mark was stored
// (reading the record again while the store is away, for up to a lease,
// keeping the message's lease), and runs the job. The delivery is
// handed to handle by the test: b cannot consume the job's queue, so the
// real message stays in the stream for c's handle.
func TestMarkAnswerLostOtherNode(t *testing.T) {
	a, b, url := storeNodes(t, WithLease(shortLease))
	c := startStoreNode(t, url, "c", false, WithLease(shortLease))
	b.q.failNext(1 << 20) // b never consumes the queue "slow"
	defer b.q.failNext(0)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	j := submit(t, ctx, a, "gate", "x", jobs.ID("mark2"), jobs.Queue("slow", 1))
	raw, err := a.b.queue.GetLastMsgForSubject(ctx, a.b.runSubject("web", "slow"))
	if err != nil {
		t.Fatalf("the job's message: %v", err)
	}
	b.kv.failNext("mark2", 1, true) // b's mark: stored, its answer lost
	m := &fakeMsg{subject: raw.Subject, data: raw.Data, settled: make(chan string, 4)}
	go b.b.handle(m)
	select {
	case <-b.gate.entered:
	case got := <-m.settled:
		// Put back: the next delivery may be another node's.
		for deadline := time.Now().Add(20 * time.Second); got == "nak" && time.Now().Before(deadline); {
			time.Sleep(50 * time.Millisecond)
			mc := &fakeMsg{subject: raw.Subject, data: raw.Data, settled: make(chan string, 4)}
			c.b.handle(mc)
			got = <-mc.settled
		}
		r, err := c.b.Lookup(ctx, "mark2")
		t.Fatalf("b settled the job's message (%s) without running it; redelivered to c: the job %s, %v, %v; want it run on b", got, r.State, r.Error, err)
	case <-time.After(20 * time.Second):
		t.Fatal("the job neither ran nor was put back")
	}
	close(b.gate.open)
	wantX(t, ctx, j)
	if got := wait(t, "the delivery to be settled", m.settled); got != "ack" {
		t.Fatalf("the delivery: got %s; want ack", got)
	}
}

// TestHandBackAfterBlip: a node marks a job running as its dispatcher
// stops (the dispatcher refuses to run it: ErrClosed), and its write
// putting the record back to queued fails (the store away for a moment).
// Before, the record stayed running on that node, never run: the message
// came to another node serving the host, which failed the job as lost
// a lease later. The node now writes the record back again while the
// store is away (for up to a lease), and the other node runs the job.
func TestHandBackAfterBlip(t *testing.T) {
	a, b, url := storeNodes(t, WithLease(shortLease))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b.kv.afterNext("back", func() { // b's mark is stored: b's dispatcher stops
		sctx, scancel := context.WithCancel(context.Background())
		scancel()
		_ = b.d.Shutdown(sctx)
		b.kv.failNext("back", 1, false) // the hand-back's first write
	})
	j := submit(t, ctx, a, "gate", "x", jobs.ID("back"))
	wait(t, "the hand-back's write to fail", b.kv.failed)
	c := startStoreNode(t, url, "c", true, WithLease(shortLease))
	close(c.gate.open)
	wantX(t, ctx, j)
}

// TestHandBackTwinMark: a node whose dispatcher stops as it starts a job
// hands the job back (queued again, for another node); the write is
// stored but its answer lost, and before the node reads the record again
// another node started under the same name (WithNode: a twin, or the
// node restarted while its old process lingers) marks the job running.
// Before, the node took that mark for its own (same node name) and
// queued the job again under the twin, which runs it: the twin's lease
// refresh then found it not running and cancelled it, though nobody had
// cancelled it (and its message, handed back, could run it again
// elsewhere). A node now takes a running mark for its own only if it has
// its start time too.
func TestHandBackTwinMark(t *testing.T) {
	s, err := embedded.Start(context.Background(), embedded.WithStoreDir(t.TempDir()))
	if err != nil {
		t.Fatalf("embedded.Start: %v", err)
	}
	t.Cleanup(s.Shutdown)
	a := startStoreNode(t, s.ClientURL(), "twin", true, WithLease(time.Minute))
	twin := startStoreNode(t, s.ClientURL(), "twin", false, WithLease(time.Minute))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	twinStart := time.Now().Add(time.Hour).Round(0)
	stopped := make(chan error, 1)
	a.kv.afterNext("j", func() { // a's mark, stored: a's dispatcher stops before it runs the job
		go func() { stopped <- a.d.Shutdown(ctx) }()
		<-a.b.stopping
		a.kv.loseNext("j", func() { // a's hand-back, stored, its answer lost
			_, _, _, _, ok, err := twin.b.change(ctx, "j", 0, jobs.Record{}, 0, func(c *jobs.Record) bool {
				if c.State != jobs.Queued {
					return false
				}
				c.State, c.Started, c.Node = jobs.Running, twinStart, twin.b.Node()
				return true
			})
			if err != nil || !ok {
				t.Errorf("the twin's mark: %v, %v", ok, err)
			}
		})
	})
	submit(t, ctx, a, "gate", "x", jobs.ID("j"))
	if err := wait(t, "a's dispatcher to stop", stopped); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	r, _, _, err := twin.b.get(ctx, "j")
	if err != nil {
		t.Fatal(err)
	}
	if r.State != jobs.Running || !r.Started.Equal(twinStart) {
		t.Fatalf("the job after a's hand-back: %s, started %v; want running on the twin, started %v", r.State, r.Started, twinStart)
	}
}

// endMarker waits up to 10 s for the end marker of job id in node n's
// output stream, and returns the end it names ("" if none came).
func endMarker(ctx context.Context, n *storeNode, id string) string {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		m, err := n.b.out.GetLastMsgForSubject(ctx, n.b.outSubject(id))
		if err == nil && m.Header.Get(hdrEnd) != "" {
			return m.Header.Get(hdrEnd)
		}
	}
	return ""
}

// TestCancelledAsHandedBack: a job is cancelled from another node right
// after its runner marked it running, as the runner's dispatcher stops
// (it refuses to run the job: the runner hands it back). Before, the
// hand-back found the record cancelled and left it so, but nobody wrote
// the job's end marker: Cancel leaves a running job's to its runner, and
// the runner, handing the job back, wrote none; a follower ended only by
// the record, two idle seconds later. The runner now writes the marker
// of a job that ended under its mark, as the handler never ran (no item
// can follow it), and acknowledges its message (the job has ended).
func TestCancelledAsHandedBack(t *testing.T) {
	a, b, _ := storeNodes(t, WithLease(time.Minute))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stopped := make(chan error, 1)
	b.kv.afterNext("hb", func() { // b's mark, stored: b's dispatcher stops, a cancels the job
		go func() { stopped <- b.d.Shutdown(ctx) }()
		<-b.b.stopping
		if ok, err := a.b.Cancel(ctx, "hb", 0); !ok || err != nil {
			t.Errorf("Cancel: %v, %v; want true", ok, err)
		}
	})
	j := submit(t, ctx, a, "gate", "x", jobs.ID("hb"))
	if err := wait(t, "b's dispatcher to stop", stopped); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if _, err := j.Result(ctx, true); !errors.Is(err, jobs.ErrCancelled) {
		t.Fatalf("Result: %v; want ErrCancelled", err)
	}
	if got := endMarker(ctx, a, "hb"); got != string(jobs.Cancelled) {
		t.Fatalf("the job's end marker: %q; want %q", got, jobs.Cancelled)
	}
}

// TestLostRuleFindsHandedBack: a job's message comes to node c while its
// record says running on b, not rewritten for a lease; before c fails it
// as lost, b (alive, its dispatcher stopping) hands it back: queued. c's
// compare-and-set then finds the record queued and declines. Before, c
// acknowledged its delivery all the same: the job's message gone while
// its record says queued, the job never ran (b's hand-back puts the same
// message back; whichever settle came last won). A node now acknowledges
// a delivery only for a job that has ended; one it finds queued, or
// running on another run, it puts back.
func TestLostRuleFindsHandedBack(t *testing.T) {
	a, b, url := storeNodes(t, WithLease(time.Minute))
	c := startStoreNode(t, url, "c", false, WithLease(time.Minute))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	inLost := make(chan struct{})
	handedBack := make(chan struct{})
	c.b.lastWrite = func(context.Context, string) ([]byte, uint64, time.Time, error) {
		close(inLost)
		<-handedBack
		return nil, 0, time.Time{}, nil // not rewritten for ever: lost
	}
	m := &fakeMsg{settled: make(chan string, 4)}
	stopped := make(chan error, 1)
	b.kv.afterNext("lr", func() { // b's mark, stored
		msg, err := a.b.queue.GetLastMsgForSubject(ctx, a.b.runSubject("web", ""))
		if err != nil {
			t.Errorf("the job's message: %v", err)
			close(handedBack)
			return
		}
		m.subject, m.data = msg.Subject, msg.Data
		go c.b.handle(m)
		<-inLost // c has read the record: running on b
		b.kv.afterNext("lr", func() { close(handedBack) })
		go func() { stopped <- b.d.Shutdown(ctx) }()
		<-b.b.stopping // b hands the job back
	})
	submit(t, ctx, a, "gate", "x", jobs.ID("lr"))
	got := wait(t, "c to settle its delivery", m.settled)
	if err := wait(t, "b's dispatcher to stop", stopped); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	r, err := a.b.Lookup(ctx, "lr")
	if err != nil {
		t.Fatal(err)
	}
	if r.State != jobs.Queued {
		t.Fatalf("the job: %s; want queued (handed back)", r.State)
	}
	if got == "ack" {
		t.Fatalf("c's delivery of the queued job: %s; want it put back (nak)", got)
	}
}

// TestStaleFinishKeepsOtherRun: a job's record comes to say running on
// another run (another node's mark, here written by the test: no path of
// this package's gives a live run's job to a second run today — the
// record goes back to queued only by its own run's hand-back — but the
// record's rule is that only the run that marked it ends it) while the
// first run's handler still runs. Before, the first run's end was
// written over the other run's mark (finish took any record not ended
// for its own), its end marker written and its message acknowledged
// under the other run. Its end is now stored only over its own mark
// (compare-and-set, and ranHere); the message and the output are left
// to the run that has the record.
func TestStaleFinishKeepsOtherRun(t *testing.T) {
	a, b, _ := storeNodes(t, WithLease(time.Minute))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	submit(t, ctx, a, "gate", "x", jobs.ID("sf"))
	wait(t, "the handler to run on b", b.gate.entered)
	otherStart := time.Now().Add(time.Hour).Round(0)
	_, _, _, _, ok, err := a.b.change(ctx, "sf", 0, jobs.Record{}, 0, func(c *jobs.Record) bool {
		c.State, c.Started, c.Node = jobs.Running, otherStart, "d"
		return true
	})
	if err != nil || !ok {
		t.Fatalf("the other run's mark: %v, %v", ok, err)
	}
	close(b.gate.open)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		b.b.mu.Lock()
		n := len(b.b.running)
		b.b.mu.Unlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("b's run never ended")
		}
	}
	r, err := a.b.Lookup(ctx, "sf")
	if err != nil {
		t.Fatal(err)
	}
	if r.State != jobs.Running || r.Node != "d" || !r.Started.Equal(otherStart) {
		t.Fatalf("the record after b's run: %s on %q, started %v; want running on d, started %v", r.State, r.Node, r.Started, otherStart)
	}
	if _, err := a.b.queue.GetLastMsgForSubject(ctx, a.b.runSubject("web", "")); err != nil {
		t.Fatalf("the job's message after b's run: %v; want it left to d's run", err)
	}
}

// TestCancelledAsMarkAnswerLost: a runner's mark of a job as running is
// stored but its answer lost, and the job is cancelled from another node
// before the runner reads its record again. Before, the runner found the
// record cancelled and acknowledged the message, but nobody wrote the
// job's end marker (Cancel leaves a running job's to the node of its
// mark: this one): a follower ended only by the record, two idle seconds
// later. The runner now writes the marker of a job that ended under its
// own mark, never run.
func TestCancelledAsMarkAnswerLost(t *testing.T) {
	a, b, _ := storeNodes(t, WithLease(time.Minute))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b.kv.loseNext("ml", func() { // b's mark, stored; its answer is lost
		if ok, err := a.b.Cancel(ctx, "ml", 0); !ok || err != nil {
			t.Errorf("Cancel: %v, %v; want true", ok, err)
		}
	})
	j := submit(t, ctx, a, "gate", "x", jobs.ID("ml"))
	if _, err := j.Result(ctx, true); !errors.Is(err, jobs.ErrCancelled) {
		t.Fatalf("Result: %v; want ErrCancelled", err)
	}
	if got := endMarker(ctx, a, "ml"); got != string(jobs.Cancelled) {
		t.Fatalf("the job's end marker: %q; want %q", got, jobs.Cancelled)
	}
}

// TestSubmitAgainAfterLostPublish: a Submit's publish of its job message
// fails and so does the purge of the record it had written (the store
// away): the record stays queued. Before, a Submit of the same id again
// found the record and reported the job submitted, but it never ran (no
// message; until its record aged out). A Submit that finds its job queued
// now makes sure its message is in the queue: it publishes it again with
// the same message id, which JetStream stores once ("stored": the first
// publish's answer was lost, its message is in the queue: one message).
// The job waits in a queue of concurrency 1 behind a job that holds it.
//
// "late": the same, past the queue stream's duplicate window (lowered to
// 200 ms), where JetStream would store a message id again: the Submit
// finds the job's message in the queue first ("stored": one message),
// else publishes it.
func TestSubmitAgainAfterLostPublish(t *testing.T) {
	for _, late := range []bool{false, true} {
		for _, stored := range []bool{false, true} {
			name := map[bool]string{false: "lost", true: "stored"}[stored] + map[bool]string{false: "", true: "/late"}[late]
			t.Run(name, func(t *testing.T) { submitAgain(t, stored, late) })
		}
	}
}

func submitAgain(t *testing.T, stored, late bool) {
	const window = 200 * time.Millisecond
	if late {
		was := maxDupWindow
		maxDupWindow = window
		t.Cleanup(func() { maxDupWindow = was })
	}
	a, b, _ := storeNodes(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	one := jobs.Queue("one", 1)
	submit(t, ctx, a, "gate", "b", one)
	if got := wait(t, "the blocker to run on b", b.gate.entered); got != "b" {
		t.Fatalf("%q ran; want the blocker", got)
	}
	a.js.failPublishes(1, stored)
	a.kv.failPurges(1)
	if _, err := a.d.Submit(ctx, "web", "gate", "x", jobs.ID("orphan"), one); !errors.Is(err, jobs.ErrUnavailable) {
		t.Fatalf("Submit: got %v; want jobs.ErrUnavailable", err)
	}
	if r, err := a.b.Lookup(ctx, "orphan"); err != nil || r.State != jobs.Queued {
		t.Fatalf("Lookup: got %v, %v; want the record left queued", r.State, err)
	}
	if late {
		time.Sleep(5 * window) // the server forgets the message id
	}
	j := submit(t, ctx, a, "gate", "x", jobs.ID("orphan"), one)
	info, err := a.b.queue.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 2 {
		t.Fatalf("the queue holds %d messages; want 2: the blocker's and the job's", info.State.Msgs)
	}
	close(b.gate.open)
	if got := wait(t, "the job to run on b", b.gate.entered); got != "x" {
		t.Fatalf("%q ran; want the job", got)
	}
	wantX(t, ctx, j)
	select {
	case got := <-b.gate.entered:
		t.Fatalf("%q ran again", got)
	case <-time.After(100 * time.Millisecond):
	}
}

// TestSubmitErrorButRuns: a Submit's publish of its job message is
// stored, but its answer is lost. Before, Submit took the record back
// with a purge at its revision and returned jobs.ErrUnavailable whatever
// the purge did: "taken", the job was marked running before the purge
// (which then failed) and ran, though its Submit had failed; "away", the
// purge failed (the store away) while the job waited in its queue, the
// job ran later, and the caller could not tell this error from one that
// left nothing ("refused": one that did). Now a Submit whose
// purge fails reads the record: found taken (or ended) at the job's
// generation, the job is submitted (created, no error); else, unless the
// publish was refused (its message not stored), the error is
// ErrOutcomeUnknown, which names the job.
func TestSubmitErrorButRuns(t *testing.T) {
	t.Run("taken", func(t *testing.T) {
		a, b, _ := storeNodes(t)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		a.js.mu.Lock()
		a.js.pubs, a.js.pubsSent = 1, true
		a.js.pubsLost = func() { wait(t, "the job to run on b", b.gate.entered) }
		a.js.mu.Unlock()
		j, err := a.d.Submit(ctx, "web", "gate", "x", jobs.ID("taken"))
		if err != nil {
			t.Fatalf("Submit: got %v; want the job (it runs)", err)
		}
		close(b.gate.open)
		wantX(t, ctx, j)
	})
	t.Run("away", func(t *testing.T) {
		a, b, _ := storeNodes(t)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		one := jobs.Queue("one", 1)
		err := submitAway(t, ctx, a, b, true, one, jobs.ID("away"))
		if !errors.Is(err, ErrOutcomeUnknown) || !errors.Is(err, jobs.ErrUnavailable) {
			t.Fatalf("Submit: got %v; want ErrOutcomeUnknown (it may run)", err)
		}
		close(b.gate.open)
		if got := wait(t, "the job to run on b", b.gate.entered); got != "x" {
			t.Fatalf("%q ran; want the job", got)
		}
		j := submit(t, ctx, a, "gate", "x", jobs.ID("away"), one) // to find out
		wantX(t, ctx, j)
	})
	t.Run("refused", func(t *testing.T) {
		a, _, _ := storeNodes(t, WithMaxQueued(1))
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		one := jobs.Queue("one", 1)
		submit(t, ctx, a, "gate", "b", one) // runs, holding the queue's one place
		a.kv.failPurges(1)
		_, err := a.d.Submit(ctx, "web", "gate", "x", jobs.ID("refused"), one)
		if !errors.Is(err, jobs.ErrQueueFull) || errors.Is(err, ErrOutcomeUnknown) {
			t.Fatalf("Submit: got %v; want jobs.ErrQueueFull (nothing runs)", err)
		}
	})
}

// TestConcurrentSubmitSameID: two Submits of one id at once, on two
// nodes; the first's publish fails (its caller's ctx ended, its
// connection dropped) as the second finds the record.
//
// "adopted": the second Submit published the job's message and returned
// the job; then the first took the record back (its purge at the
// record's revision, which nothing had changed). Before, the second
// caller held a job whose record was gone and whose message was
// dead-lettered: it never ran, its Result was jobs.ErrNotFound. A Submit
// that publishes the message of a job it found queued now rewrites the
// record (its revision moves on), so that the first Submit's purge
// fails and finds the job taken up by another Submit: both get the job,
// which runs once.
//
// "recreated": the second Submit found the record existing, then gone
// (taken back by the first) as it read it. Before, it returned
// jobs.ErrNotFound, which Submit never means; it now creates the job.
func TestConcurrentSubmitSameID(t *testing.T) {
	t.Run("adopted", func(t *testing.T) {
		a, b, _ := storeNodes(t)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		one := jobs.Queue("one", 1)
		submit(t, ctx, a, "gate", "b", one) // runs: the job waits behind it, queued
		wait(t, "the blocker to run on b", b.gate.entered)
		var second *jobs.Job
		a.js.mu.Lock()
		a.js.pubs, a.js.pubsSent = 1, false
		a.js.pubsLost = func() { second = submit(t, ctx, b, "gate", "x", jobs.ID("dup"), one) }
		a.js.mu.Unlock()
		first, err := a.d.Submit(ctx, "web", "gate", "x", jobs.ID("dup"), one)
		close(b.gate.open)
		wantX(t, ctx, second)
		if err != nil {
			t.Fatalf("the first Submit: got %v; want the job (the second Submit queued it)", err)
		}
		wantX(t, ctx, first)
		<-b.gate.entered // the job's run
		select {
		case got := <-b.gate.entered:
			t.Fatalf("%q ran again", got)
		case <-time.After(100 * time.Millisecond):
		}
	})
	t.Run("recreated", func(t *testing.T) {
		a, b, _ := storeNodes(t)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		reached, release := make(chan struct{}), make(chan struct{})
		b.kv.mu.Lock()
		b.kv.exists = func() { close(reached); <-release }
		b.kv.mu.Unlock()
		type outcome struct {
			j   *jobs.Job
			err error
		}
		second := make(chan outcome, 1)
		a.js.mu.Lock()
		a.js.pubs, a.js.pubsSent = 1, false
		a.js.pubsLost = func() {
			go func() {
				j, err := b.d.Submit(ctx, "web", "gate", "x", jobs.ID("dup"))
				second <- outcome{j, err}
			}()
			wait(t, "the second Submit to find the record", reached)
		}
		a.js.mu.Unlock()
		_, err := a.d.Submit(ctx, "web", "gate", "x", jobs.ID("dup"))
		if !errors.Is(err, jobs.ErrUnavailable) || errors.Is(err, ErrOutcomeUnknown) {
			t.Fatalf("the first Submit: got %v; want jobs.ErrUnavailable (taken back)", err)
		}
		close(release)
		got := wait(t, "the second Submit", second)
		if got.err != nil {
			t.Fatalf("the second Submit: got %v; want the job", got.err)
		}
		close(b.gate.open)
		wantX(t, ctx, got.j)
	})
}

// submitAway submits a "gate" job with opts in queue (a Queue of
// concurrency 1) on a, to run on b behind a blocker that holds the
// queue, with its publish failing unrefused (stored: its message stored
// and the answer lost; else not sent) and its record's purge failing:
// its outcome is unknown. It returns Submit's error; the job is queued
// (without its message unless stored), and, its message stored, runs
// once b's gate opens.
func submitAway(t *testing.T, ctx context.Context, a, b *storeNode, stored bool, queue jobs.SubmitOption, opts ...jobs.SubmitOption) error {
	t.Helper()
	submit(t, ctx, a, "gate", "b", queue) // runs: the job waits behind it, queued
	wait(t, "the blocker to run on b", b.gate.entered)
	a.js.failPublishes(1, stored)
	a.kv.failPurges(1)
	_, err := a.d.Submit(ctx, "web", "gate", "x", append(opts, queue)...)
	return err
}

// TestOutcomeUnknownNamesJob: a Submit without an id (the dispatcher
// draws one) whose outcome is unknown (its publish's answer lost, its
// record's purge failed). Before, the id was only in the error's text:
// the caller could not submit it again or look it up but by parsing it.
// The error is now an *OutcomeUnknownError (matching ErrOutcomeUnknown
// and jobs.ErrUnavailable) whose ID names the job.
func TestOutcomeUnknownNamesJob(t *testing.T) {
	a, b, _ := storeNodes(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	one := jobs.Queue("one", 1)
	err := submitAway(t, ctx, a, b, true, one)
	var unknown *OutcomeUnknownError
	if !errors.As(err, &unknown) || !errors.Is(err, ErrOutcomeUnknown) || !errors.Is(err, jobs.ErrUnavailable) {
		t.Fatalf("Submit: got %v; want an *OutcomeUnknownError", err)
	}
	if r, err := a.b.Lookup(ctx, unknown.ID); err != nil || r.State != jobs.Queued {
		t.Fatalf("Lookup(%q): got %v, %v; want the job queued", unknown.ID, r.State, err)
	}
	j := submit(t, ctx, a, "gate", "x", jobs.ID(unknown.ID), one) // to find out
	close(b.gate.open)
	wantX(t, ctx, j)
}

// TestResubmitRewriteFails: a Submit of an id whose job is queued as
// created (its creating Submit's outcome unknown) publishes the job's
// message, then fails to write the record again (its store away).
// Before, it returned jobs.ErrUnavailable in both cases below, though
// the job's message is stored: the job may run ("lost": the rewrite not
// stored, the record still as created, so the Submit that created it
// could yet take it back), or is known queued ("answer lost": the
// rewrite stored, its answer lost). The Submit now reads the record
// again: still as created, it returns an *OutcomeUnknownError naming the
// job, as a Submit that cannot tell whether its job was queued does;
// written again (or taken), the job.
func TestResubmitRewriteFails(t *testing.T) {
	for _, tc := range []struct {
		name    string
		written bool
	}{{"lost", false}, {"answer lost", true}} {
		t.Run(tc.name, func(t *testing.T) {
			a, b, _ := storeNodes(t)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			one := jobs.Queue("one", 1)
			if err := submitAway(t, ctx, a, b, true, one, jobs.ID("dup")); !errors.Is(err, ErrOutcomeUnknown) {
				t.Fatalf("the first Submit: got %v; want ErrOutcomeUnknown", err)
			}
			b.kv.failNext("dup", 1, tc.written)
			j, err := b.d.Submit(ctx, "web", "gate", "x", jobs.ID("dup"), one)
			if tc.written {
				if err != nil {
					t.Fatalf("the second Submit: got %v; want the job (its record written again)", err)
				}
			} else {
				var unknown *OutcomeUnknownError
				if !errors.As(err, &unknown) || unknown.ID != "dup" || !errors.Is(err, jobs.ErrUnavailable) {
					t.Fatalf("the second Submit: got %v; want an *OutcomeUnknownError of job \"dup\"", err)
				}
				j = submit(t, ctx, b, "gate", "x", jobs.ID("dup"), one) // to find out
			}
			close(b.gate.open)
			wantX(t, ctx, j)
		})
	}
}

// TestResubmitPublishAnswerLost: a Submit of an id whose job it finds
// queued as created, without its message (its first Submit's publish
// failed and so did the purge of its record), publishes the message
// again, and that publish fails without a refusal: its message stored,
// the answer lost. Before, that Submit returned plain jobs.ErrUnavailable
// (which says that it left nothing stored), yet the message it stored ran
// the job. It now returns an *OutcomeUnknownError naming the job (which
// matches jobs.ErrUnavailable too): the job may run. A publish the
// server refused still returns its error (TestSubmitErrorButRuns).
func TestResubmitPublishAnswerLost(t *testing.T) {
	a, b, _ := storeNodes(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	one := jobs.Queue("one", 1)
	if err := submitAway(t, ctx, a, b, false, one, jobs.ID("dup")); !errors.Is(err, ErrOutcomeUnknown) {
		t.Fatalf("the first Submit: got %v; want ErrOutcomeUnknown", err)
	}
	b.js.failPublishes(1, true)
	_, err := b.d.Submit(ctx, "web", "gate", "x", jobs.ID("dup"), one)
	close(b.gate.open)
	if got := wait(t, "the job to run on b", b.gate.entered); got != "x" {
		t.Fatalf("%q ran; want the job", got)
	}
	var unknown *OutcomeUnknownError
	if !errors.As(err, &unknown) || unknown.ID != "dup" || !errors.Is(err, jobs.ErrUnavailable) {
		t.Fatalf("the second Submit: got %v, and the job ran; want an *OutcomeUnknownError of job \"dup\"", err)
	}
	wantX(t, ctx, submit(t, ctx, a, "gate", "x", jobs.ID("dup"), one)) // to find out
}

// TestServeRace: two Serves of one host at once; the first to come
// starts serving it (consuming its queues) and fails (the store away),
// while the second, a jobs.Register of another procedure, has found the
// host being started. Before, the second returned at once (nil): its
// procedure stayed registered here, but the host, taken back by the
// first, was consumed by no one, and its jobs never ran. The second now
// waits for the first's outcome and, that one failed, starts serving the
// host itself.
func TestServeRace(t *testing.T) {
	a, _, url := storeNodes(t)
	c := startStoreNode(t, url, "c", false)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ref := spawnOpenGate(t, c)
	reached, release := make(chan struct{}), make(chan struct{})
	c.q.mu.Lock()
	c.q.n, c.q.block = 1, func() { close(reached); <-release }
	c.q.mu.Unlock()
	first := make(chan error, 1)
	go func() { first <- c.b.Serve(ctx, "api", "other") }()
	wait(t, "the first Serve to look up the host's consumer", reached)
	second := make(chan error, 1)
	go func() { second <- jobs.Register(c.d, jobs.Ref("api", ref), gate) }()
	for deadline := time.Now().Add(20 * time.Second); !c.b.runsHere("api", "gate"); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for the second Serve to register its procedure")
		}
	}
	close(release)
	if err := wait(t, "the first Serve", first); !errors.Is(err, jobs.ErrUnavailable) {
		t.Fatalf("the first Serve: got %v; want jobs.ErrUnavailable", err)
	}
	if err := wait(t, "Register", second); err != nil {
		t.Fatalf("Register: got %v; want the host served", err)
	}
	j, err := a.d.Submit(ctx, "api", "gate", "x")
	if err != nil {
		t.Fatal(err)
	}
	wantX(t, ctx, j)
}
