package remote_test

import (
	"context"
	"errors"
	"iter"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/remote"
	troupe "github.com/troupe-go/troupe/runtime"
)

// pausedKV is a names bucket whose node stands still for it while away is
// set, as a process paused (a long GC pause, SIGSTOP) or cut off: the
// keeper's refresh blocks in Update until resume is closed (then fails),
// and the watch sees nothing (awayKV). last is when the last write that
// went through was sent: the claim's lease runs from no later.
type pausedKV struct {
	awayKV
	mu      sync.Mutex // guards last with the check of away
	last    time.Time
	blocked chan struct{} // gets a value when a refresh blocks
	resume  chan struct{}
}

func (p *pausedKV) wrap(kv jetstream.KeyValue) jetstream.KeyValue {
	p.KeyValue = kv
	return p
}

func (p *pausedKV) sent() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.away.Load() {
		return false
	}
	p.last = time.Now()
	return true
}

func (p *pausedKV) Create(ctx context.Context, key string, value []byte, opts ...jetstream.KVCreateOpt) (uint64, error) {
	p.sent()
	return p.KeyValue.Create(ctx, key, value, opts...)
}

func (p *pausedKV) Update(ctx context.Context, key string, value []byte, rev uint64) (uint64, error) {
	if !p.sent() {
		select {
		case p.blocked <- struct{}{}:
		default:
		}
		<-p.resume
		return 0, nats.ErrTimeout
	}
	return p.KeyValue.Update(ctx, key, value, rev)
}

// pause sets away and returns when the last write went out.
func (p *pausedKV) pause() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.away.Store(true)
	return p.last
}

// fenceRig is the lease-fence tests' setup: n1 claims under lease, with
// its names bucket wrapped by p, which pauses the keeper as a paused
// process would be; n2 calls it; rs gets n1's refusals; resume lets the
// keeper go on (done at cleanup too, before n1 closes).
type fenceRig struct {
	p      *pausedKV
	rs     *refusals
	n1, n2 *remote.Node
	ctx    context.Context
	resume func()
}

func newFenceRig(t *testing.T, lease time.Duration) *fenceRig {
	t.Helper()
	s := startServer(t)
	f := &fenceRig{rs: newRefusals(), p: &pausedKV{awayKV: awayKV{stop: make(chan struct{})},
		blocked: make(chan struct{}, 1), resume: make(chan struct{})}}
	f.n1 = startNode(t, s.ClientURL(), remote.WithName("n1"), remote.WithLease(lease),
		remote.WithNamesKV(f.p.wrap), remote.WithRefusalHook(f.rs.hook))
	var once sync.Once
	f.resume = func() { once.Do(func() { close(f.p.resume) }) }
	t.Cleanup(func() { f.resume(); close(f.p.stop) }) // before n1's Close
	f.n2 = startNode(t, s.ClientURL(), remote.WithName("n2"))
	f.ctx = ctxTimeout(t, 30*time.Second)
	return f
}

// TestClaimFencedWhilePaused: a node paused past its claim's lease (its
// keeper stands still, so the claim is not given up yet) refuses the
// calls and casts that reach the name once the lease has run out — when
// another node may own it — as for a name nobody serves (ErrNotFound),
// rather than run them on an actor that may no longer own the name.
func TestClaimFencedWhilePaused(t *testing.T) {
	const lease = 900 * time.Millisecond
	rig := newFenceRig(t, lease)
	p, rs, n1, n2, ctx, resume := rig.p, rig.rs, rig.n1, rig.n2, rig.ctx, rig.resume
	ref := spawn(t, n1)
	if err := remote.Claim(ctx, n1, "paused", ref, remote.Serve(Deposit)); err != nil {
		t.Fatal(err)
	}
	dep := remote.Bind(n2, "paused", Deposit)
	if got, err := dep.Call(ctx, 1); err != nil || got != 1 {
		t.Fatalf("Call before the pause: %d, %v", got, err)
	}
	last := p.pause()
	<-p.blocked // the keeper stands still
	time.Sleep(time.Until(last.Add(lease)))
	// The lease has run out: the key may be gone, the name another's.
	if got, err := dep.Call(ctx, 2); !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("Call after the lease ran out: %d, %v; want ErrNotFound", got, err)
	}
	if err := dep.Cast(4); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the call's and the cast's
		if r := rs.wait(t); r.Reason != remote.ReasonNameLost || r.Name != "paused" || !errors.Is(r.Err, remote.ErrNotFound) {
			t.Errorf("refusal %+v; want name_lost for \"paused\", ErrNotFound", r)
		}
	}
	resume() // the keeper gives the claim up
	select {
	case <-ref.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the claim outlived its lease by 10 s once the keeper resumed")
	}
}

// TestClaimFencedQueuedCall: a call that reached a claimed name while its
// lease held, but waited at the actor (its turn taken by a slow call)
// until the lease had run out unrefreshed, does not run — another node
// may own the name by then —, and its caller gets ErrNotFound (looks
// again), not the handler's reply nor a timeout.
func TestClaimFencedQueuedCall(t *testing.T) {
	const lease = 1500 * time.Millisecond
	rig := newFenceRig(t, lease)
	p, rs, n1, n2, ctx, resume := rig.p, rig.rs, rig.n1, rig.n2, rig.ctx, rig.resume
	a := newAcct()
	ref, err := actor.Spawn(n1.Runtime(), a)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Claim(ctx, n1, "queued", ref, remote.Serve(Deposit)); err != nil {
		t.Fatal(err)
	}
	dep := remote.Bind(n2, "queued", Deposit)
	if got, err := dep.Call(ctx, 1); err != nil || got != 1 {
		t.Fatalf("Call before the pause: %d, %v", got, err)
	}
	// A local call holds the actor's turn.
	hold, release := context.WithCancel(ctx)
	defer release()
	held := make(chan error, 1)
	go func() { _, err := Block.Call(hold, ref, "hold"); held <- err }()
	<-a.entered
	last := p.pause()
	type result struct {
		v   int
		err error
	}
	res := make(chan result, 1)
	go func() { v, err := dep.Call(ctx, 2); res <- result{v, err} }()
	for ref.Queued() < 1 { // accepted within the lease, waiting its turn
		select {
		case r := <-res:
			t.Fatalf("the call was answered before it was queued: %d, %v", r.v, r.err)
		default:
			time.Sleep(time.Millisecond)
		}
	}
	if !time.Now().Before(last.Add(lease)) {
		t.Skip("the call was queued after the lease had run out: the machine is too slow for this test's lease")
	}
	<-p.blocked // the keeper stands still
	time.Sleep(time.Until(last.Add(lease)))
	release() // the call's turn comes, past the lease
	<-held
	r := <-res
	if !errors.Is(r.err, remote.ErrNotFound) {
		t.Errorf("queued call, its turn past the lease: %d, %v; want ErrNotFound", r.v, r.err)
	}
	if got := a.hits.Load(); got != 2 { // the first Deposit and Block
		t.Errorf("%d handler runs; want 2 (the queued Deposit not run)", got)
	}
	if r := rs.wait(t); r.Reason != remote.ReasonNameLost || r.Name != "queued" || !errors.Is(r.Err, remote.ErrNotFound) {
		t.Errorf("refusal %+v; want name_lost for \"queued\", ErrNotFound", r)
	}
	resume() // the keeper gives the claim up
	select {
	case <-ref.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the claim outlived its lease by 10 s once the keeper resumed")
	}
}

// TestClaimFencedRunningHandler: a call whose handler began while its
// claim's lease held and is still running when the lease runs out
// unrefreshed finishes, and its caller gets its reply — the one outcome of
// what ran —, not ErrNotFound (which would have it call the name's next
// owner for what ran here), while a call arriving then is refused.
func TestClaimFencedRunningHandler(t *testing.T) {
	const lease = 900 * time.Millisecond
	rig := newFenceRig(t, lease)
	p, rs, n1, n2, ctx, resume := rig.p, rig.rs, rig.n1, rig.n2, rig.ctx, rig.resume
	entered, finish := make(chan struct{}, 1), make(chan struct{})
	slow := actor.NewMethod("slow", func(a *Acct, c *actor.Ctx, n int) (int, error) {
		a.hits.Add(1)
		entered <- struct{}{}
		<-finish
		a.bal += n
		return a.bal, nil
	})
	a := newAcct()
	ref, err := actor.Spawn(n1.Runtime(), a)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Claim(ctx, n1, "running", ref, remote.Serve(slow), remote.Serve(Deposit)); err != nil {
		t.Fatal(err)
	}
	type result struct {
		v   int
		err error
	}
	res := make(chan result, 1)
	go func() { v, err := remote.Bind(n2, "running", slow).Call(ctx, 5); res <- result{v, err} }()
	<-entered // the handler runs, within the lease
	last := p.pause()
	<-p.blocked // the keeper stands still
	time.Sleep(time.Until(last.Add(lease)))
	if got, err := remote.Bind(n2, "running", Deposit).Call(ctx, 1); !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("Call after the lease ran out: %d, %v; want ErrNotFound", got, err)
	}
	if r := rs.wait(t); r.Reason != remote.ReasonNameLost || r.Method != "deposit" {
		t.Errorf("refusal %+v; want name_lost for \"running\".deposit", r)
	}
	close(finish) // the running handler returns, past the lease
	if r := <-res; r.err != nil || r.v != 5 {
		t.Errorf("call whose handler ran past the lease: %d, %v; want its reply, 5", r.v, r.err)
	}
	select {
	case r := <-rs.ch:
		t.Errorf("refusal %+v; want none for the call that ran", r)
	default:
	}
	resume() // the keeper gives the claim up
	select {
	case <-ref.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the claim outlived its lease by 10 s once the keeper resumed")
	}
}

// endLive ends a Feed's Live stream cleanly.
var endLive = actor.NewMethod("endlive", func(f *Feed, c *actor.Ctx, _ int) (int, error) {
	return 0, f.live.Close(nil)
})

// TestClaimFencedStream: a stream served under a claimed name, opened
// while its lease held, sends no item past the lease (another node may
// own the name by then), nor the end its actor gives it then: it ends
// there with ErrNotFound, so that its reader opens it again, against the
// name's owner.
func TestClaimFencedStream(t *testing.T) {
	t.Run("item", func(t *testing.T) {
		testClaimFencedStream(t, func(ctx context.Context, ref *actor.Ref[*Feed]) error {
			_, err := Push.Call(ctx, ref, 1)
			return err
		})
	})
	t.Run("end", func(t *testing.T) {
		testClaimFencedStream(t, func(ctx context.Context, ref *actor.Ref[*Feed]) error {
			_, err := endLive.Call(ctx, ref, 0)
			return err
		})
	})
}

// testClaimFencedStream: past the lease, then does what its reader must
// not see.
func testClaimFencedStream(t *testing.T, then func(context.Context, *actor.Ref[*Feed]) error) {
	const lease = 900 * time.Millisecond
	rig := newFenceRig(t, lease)
	p, rs, n1, n2, ctx, resume := rig.p, rig.rs, rig.n1, rig.n2, rig.ctx, rig.resume
	ref, err := actor.Spawn(n1.Runtime(), &Feed{})
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Claim(ctx, n1, "feed", ref, remote.ServeStream(Live)); err != nil {
		t.Fatal(err)
	}
	f, err := remote.BindStream(n2, "feed", Live).Open(ctx, struct{}{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	next, stop := iter.Pull2(f.All())
	defer stop()
	if _, err := Push.Call(ctx, ref, 1); err != nil {
		t.Fatal(err)
	}
	if it, err, ok := next(); err != nil || !ok || it.V != "line 0" {
		t.Fatalf("item before the pause: %+v, %v, %v", it, err, ok)
	}
	last := p.pause()
	<-p.blocked // the keeper stands still
	time.Sleep(time.Until(last.Add(lease)))
	if err := then(ctx, ref); err != nil { // the actor, unaware, streams on
		t.Fatal(err)
	}
	if it, err, ok := next(); !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("stream past the lease: %+v, %v, %v; want its end, ErrNotFound", it, err, ok)
	}
	if r := rs.wait(t); r.Reason != remote.ReasonNameLost || r.Name != "feed" || !errors.Is(r.Err, remote.ErrNotFound) {
		t.Errorf("refusal %+v; want name_lost for \"feed\", ErrNotFound", r)
	}
	stop()
	resume() // the keeper gives the claim up
	select {
	case <-ref.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the claim outlived its lease by 10 s once the keeper resumed")
	}
}

// liveOpen reports whether a Feed's Live stream was opened.
var liveOpen = actor.NewMethod("liveopen", func(f *Feed, c *actor.Ctx, _ int) (bool, error) {
	return f.live != nil, nil
})

// TestClaimFencedQueuedOpen: a stream open that reached a claimed name
// while its lease held, but whose turn at the actor came past the lease,
// does not run its handler, and its opener gets ErrNotFound, as a call's
// caller does (TestClaimFencedQueuedCall).
func TestClaimFencedQueuedOpen(t *testing.T) {
	const lease = 1500 * time.Millisecond
	rig := newFenceRig(t, lease)
	p, rs, n1, n2, ctx, resume := rig.p, rig.rs, rig.n1, rig.n2, rig.ctx, rig.resume
	fd := &Feed{held: make(chan struct{}, 1)}
	ref, err := actor.Spawn(n1.Runtime(), fd)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Claim(ctx, n1, "feed", ref, remote.ServeStream(Live)); err != nil {
		t.Fatal(err)
	}
	waitServed(t, n2, "feed")
	hold, release := context.WithCancel(ctx)
	defer release()
	held := make(chan error, 1)
	go func() { _, err := Hold.Call(hold, ref, 0); held <- err }()
	<-fd.held
	last := p.pause()
	opened := make(chan error, 1)
	go func() {
		f, err := remote.BindStream(n2, "feed", Live).Open(ctx, struct{}{})
		if err == nil {
			_ = f.Close()
		}
		opened <- err
	}()
	for ref.Queued() < 1 { // accepted within the lease, waiting its turn
		select {
		case err := <-opened:
			t.Fatalf("the open was answered before it was queued: %v", err)
		default:
			time.Sleep(time.Millisecond)
		}
	}
	if !time.Now().Before(last.Add(lease)) {
		t.Skip("the open was queued after the lease had run out: the machine is too slow for this test's lease")
	}
	<-p.blocked // the keeper stands still
	time.Sleep(time.Until(last.Add(lease)))
	release() // the open's turn comes, past the lease
	<-held
	if err := <-opened; !errors.Is(err, remote.ErrNotFound) {
		t.Errorf("queued open, its turn past the lease: %v; want ErrNotFound", err)
	}
	if ran, err := liveOpen.Call(ctx, ref, 0); err != nil || ran {
		t.Errorf("the stream's handler ran: %v, %v; want not", ran, err)
	}
	if r := rs.wait(t); r.Reason != remote.ReasonNameLost || r.Name != "feed" || !errors.Is(r.Err, remote.ErrNotFound) {
		t.Errorf("refusal %+v; want name_lost for \"feed\", ErrNotFound", r)
	}
	resume() // the keeper gives the claim up
	select {
	case <-ref.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the claim outlived its lease by 10 s once the keeper resumed")
	}
}

// TestClaimFencedQueuedCast: casts (one or a batch) that reached a
// claimed name while its lease held, but whose turn at the actor came
// past the lease, do not run — another node may own the name by then —
// and each is reported (name_lost, ErrNotFound): a cast has no caller to
// answer.
func TestClaimFencedQueuedCast(t *testing.T) {
	const lease = 1500 * time.Millisecond
	rig := newFenceRig(t, lease)
	p, rs, n1, n2, ctx, resume := rig.p, rig.rs, rig.n1, rig.n2, rig.ctx, rig.resume
	a := newAcct()
	ref, err := actor.Spawn(n1.Runtime(), a)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Claim(ctx, n1, "queued", ref, remote.Serve(Deposit)); err != nil {
		t.Fatal(err)
	}
	dep := remote.Bind(n2, "queued", Deposit)
	if got, err := dep.Call(ctx, 1); err != nil || got != 1 {
		t.Fatalf("Call before the pause: %d, %v", got, err)
	}
	// A local call holds the actor's turn.
	hold, release := context.WithCancel(ctx)
	defer release()
	held := make(chan error, 1)
	go func() { _, err := Block.Call(hold, ref, "hold"); held <- err }()
	<-a.entered
	last := p.pause()
	const casts = 3 // one message or a batch, as the flusher finds them
	for i := range casts {
		if err := dep.Cast(10 << i); err != nil {
			t.Fatal(err)
		}
	}
	for { // accepted within the lease, waiting their turn
		queued := ref.Queued() >= casts
		if !time.Now().Before(last.Add(lease)) {
			// Queued late, or not at all: refused on arrival past the lease.
			t.Skip("the casts were not queued before the lease had run out: the machine is too slow for this test's lease")
		}
		if queued {
			break
		}
		time.Sleep(time.Millisecond)
	}
	<-p.blocked // the keeper stands still
	time.Sleep(time.Until(last.Add(lease)))
	release() // the casts' turns come, past the lease
	<-held
	if bal, err := Balance.Call(ctx, ref, struct{}{}); err != nil || bal != 1 { // after the casts
		t.Errorf("balance after the queued casts: %d, %v; want 1 (none of them run)", bal, err)
	}
	for range casts {
		if r := rs.wait(t); r.Reason != remote.ReasonNameLost || r.Name != "queued" || r.Method != "deposit" || !errors.Is(r.Err, remote.ErrNotFound) {
			t.Errorf("refusal %+v; want name_lost for \"queued\".deposit, ErrNotFound", r)
		}
	}
	// The runtime reports each from the actor's side, once (WithRefusalHook).
	if got := n1.Runtime().DeadLetters().ByReason[troupe.ReasonExpired]; got != casts {
		t.Errorf("%d expired dead letters; want %d (each fenced cast once)", got, casts)
	}
	resume() // the keeper gives the claim up
	select {
	case <-ref.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the claim outlived its lease by 10 s once the keeper resumed")
	}
}
