package remote_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/remote"
)

// TestClaim: a name claimed on one node is refused on another while its
// owner lives, reaches the owner's actor from any node, and is free again
// once the actor stops.
func TestClaim(t *testing.T) {
	s := startServer(t)
	n1 := startNode(t, s.ClientURL(), remote.WithName("n1"))
	n2 := startNode(t, s.ClientURL(), remote.WithName("n2"))
	ctx := ctxTimeout(t, 20*time.Second)
	a1 := spawn(t, n1)
	if err := remote.Claim(ctx, n1, "session-u1", a1, remote.Serve(Deposit)); err != nil {
		t.Fatalf("Claim on n1: %v", err)
	}
	err := remote.Claim(ctx, n2, "session-u1", spawn(t, n2), remote.Serve(Deposit))
	var taken *remote.NameTakenError
	if !errors.As(err, &taken) || taken.Owner != "n1" || !errors.Is(err, remote.ErrNameTaken) || !errors.Is(err, actor.ErrNameTaken) {
		t.Fatalf("Claim on n2: got %v; want *NameTakenError owned by n1, matching ErrNameTaken", err)
	}
	if owner, err := remote.Owner(ctx, n2, "session-u1"); err != nil || owner != "n1" {
		t.Fatalf("Owner = %q, %v; want n1, nil", owner, err)
	}
	if got, err := remote.Bind(n2, "session-u1", Deposit).Call(ctx, 3); err != nil || got != 3 {
		t.Fatalf("Call from n2 = %d, %v; want 3, nil", got, err)
	}
	a1.Kill()
	<-a1.Done()
	for {
		if _, err := remote.Owner(ctx, n2, "session-u1"); errors.Is(err, remote.ErrNotFound) {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the name was not released after its actor stopped")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := remote.Claim(ctx, n2, "session-u1", spawn(t, n2), remote.Serve(Deposit)); err != nil {
		t.Fatalf("Claim on n2 after release: %v", err)
	}
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"nil node", remote.Claim(ctx, nil, "x", a1, remote.Serve(Deposit)), remote.ErrNilNode},
		{"bad name", remote.Claim(ctx, n1, "a.b", spawn(t, n1), remote.Serve(Deposit)), remote.ErrInvalidName},
		{"nil ref", remote.Claim[*Acct](ctx, n1, "x", nil, remote.Serve(Deposit)), remote.ErrNilRef},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !errors.Is(tt.err, tt.want) {
				t.Fatalf("got %v; want %v", tt.err, tt.want)
			}
		})
	}
}

// TestClaimLease: a node that dies without releasing its names (its
// connection cut) frees them within a lease.
func TestClaimLease(t *testing.T) {
	s := startServer(t)
	n1 := startNode(t, s.ClientURL(), remote.WithName("n1"), remote.WithLease(time.Second))
	n2 := startNode(t, s.ClientURL(), remote.WithName("n2"), remote.WithLease(time.Second))
	ctx := ctxTimeout(t, 20*time.Second)
	if err := remote.Claim(ctx, n1, "lease", spawn(t, n1), remote.Serve(Deposit)); err != nil {
		t.Fatal(err)
	}
	// Several leases pass: n1's keeper keeps the name.
	time.Sleep(2500 * time.Millisecond)
	if err := remote.Claim(ctx, n2, "lease", spawn(t, n2), remote.Serve(Deposit)); !errors.Is(err, remote.ErrNameTaken) {
		t.Fatalf("Claim while n1 lives: got %v; want ErrNameTaken", err)
	}
	n1.Conn().Close() // n1 dies: no refresh, no release
	start := time.Now()
	for {
		err := remote.Claim(ctx, n2, "lease", spawn(t, n2), remote.Serve(Deposit))
		if err == nil {
			break
		}
		if !errors.Is(err, remote.ErrNameTaken) || ctx.Err() != nil {
			t.Fatalf("Claim after n1 died (%v later): %v", time.Since(start), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if owner, err := remote.Owner(ctx, n2, "lease"); err != nil || owner != "n2" {
		t.Fatalf("Owner = %q, %v; want n2", owner, err)
	}
}

// TestLookupOrSpawnCluster: concurrent LookupOrSpawn for one key on three
// nodes spawns exactly one actor, and every caller reaches it.
func TestLookupOrSpawnCluster(t *testing.T) {
	s := startServer(t)
	var nodes []*remote.Node
	for range 3 {
		nodes = append(nodes, startNode(t, s.ClientURL()))
	}
	ctx := ctxTimeout(t, 20*time.Second)
	type result struct {
		owner   string
		created bool
		err     error
	}
	results := make([]result, 9)
	var wg sync.WaitGroup
	for i := range results {
		n := nodes[i%3]
		wg.Go(func() {
			owner, created, err := remote.LookupOrSpawn(ctx, n, "user-42", newAcct, remote.Serve(Deposit))
			results[i] = result{owner, created, err}
		})
	}
	wg.Wait()
	created, owner := 0, results[0].owner
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("caller %d: %v", i, r.err)
		}
		if r.owner != owner {
			t.Fatalf("caller %d got owner %s; caller 0 got %s; want one owner", i, r.owner, owner)
		}
		if r.created {
			created++
		}
	}
	if created != 1 {
		t.Fatalf("%d callers spawned; want exactly 1", created)
	}
	for i, n := range nodes {
		if _, err := remote.Bind(n, "user-42", Deposit).Call(ctx, 1); err != nil {
			t.Fatalf("call from node %d: %v", i, err)
		}
	}
	got, err := remote.Bind(nodes[0], "user-42", Deposit).Call(ctx, 0)
	if err != nil || got != 3 {
		t.Fatalf("balance = %d, %v; want 3 (one actor got every call)", got, err)
	}
}

// TestNoJetStream: names need JetStream, and say so.
func TestNoJetStream(t *testing.T) {
	s := startServer(t, embeddedWithoutJS())
	n := startNode(t, s.ClientURL())
	_, err := remote.Owner(context.Background(), n, "x")
	if !errors.Is(err, remote.ErrNoJetStream) {
		t.Fatalf("Owner without JetStream: got %v; want ErrNoJetStream", err)
	}
}

// TestClaimLost: a claim overwritten behind its owner's back (an operator,
// a partition longer than the lease) is lost at once: reported, and its
// actor killed, so the name never has two live owners.
func TestClaimLost(t *testing.T) {
	s := startServer(t)
	rs := newRefusals()
	n1 := startNode(t, s.ClientURL(), remote.WithName("n1"), remote.WithRefusalHook(rs.hook))
	ctx := ctxTimeout(t, 20*time.Second)
	ref := spawn(t, n1)
	if err := remote.Claim(ctx, n1, "lost", ref, remote.Serve(Deposit)); err != nil {
		t.Fatal(err)
	}
	kv := namesBucket(ctx, t, n1)
	if _, err := kv.Put(ctx, "lost", []byte("intruder")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ref.Done():
	case <-ctx.Done():
		t.Fatalf("the actor of a lost claim still runs")
	}
	if r := rs.wait(t); r.Reason != remote.ReasonNameLost || r.Name != "lost" || !errors.Is(r.Err, remote.ErrNameTaken) {
		t.Fatalf("refusal %+v; want name_lost for \"lost\"", r)
	}
}

// TestClaimLostWatched: a claim overwritten behind its owner's back is
// lost as the node's watch of the names bucket sees the write, not at the
// keeper's next refresh (a third of the lease later: here 20 s).
func TestClaimLostWatched(t *testing.T) {
	s := startServer(t)
	rs := newRefusals()
	n1 := startNode(t, s.ClientURL(), remote.WithName("n1"), remote.WithLease(time.Minute), remote.WithRefusalHook(rs.hook))
	ctx := ctxTimeout(t, 20*time.Second)
	ref := spawn(t, n1)
	if err := remote.Claim(ctx, n1, "lost", ref, remote.Serve(Deposit)); err != nil {
		t.Fatal(err)
	}
	kv := namesBucket(ctx, t, n1)
	if _, err := kv.Put(ctx, "lost", []byte("intruder")); err != nil {
		t.Fatal(err)
	}
	if r := rs.wait(t); r.Reason != remote.ReasonNameLost || r.Name != "lost" {
		t.Fatalf("refusal %+v; want name_lost for \"lost\"", r)
	}
	<-ref.Done()
}

// TestClaimSameNodeRace: of concurrent Claims of one name on one node,
// exactly one wins; the name then has one owner and one actor.
func TestClaimSameNodeRace(t *testing.T) {
	s := startServer(t)
	n := startNode(t, s.ClientURL(), remote.WithName("n1"))
	ctx := ctxTimeout(t, 20*time.Second)
	const racers = 8
	errs := make([]error, racers)
	var wg sync.WaitGroup
	for i := range racers {
		ref := spawn(t, n)
		wg.Go(func() { errs[i] = remote.Claim(ctx, n, "race", ref, remote.Serve(Deposit)) })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, remote.ErrNameTaken):
			t.Fatalf("Claim: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d Claims won; want 1", won)
	}
	if got, err := remote.Bind(n, "race", Deposit).Call(ctx, 2); err != nil || got != 2 {
		t.Fatalf("Call = %d, %v; want 2, nil", got, err)
	}
}

// TestCloseClaimsServerGone: Close is immediate even with claims to
// release and its server gone: it does not wait a call timeout per claim
// for deletes nobody can answer (the lease frees the names).
func TestCloseClaimsServerGone(t *testing.T) {
	s := startServer(t)
	n := startNode(t, s.ClientURL(), remote.WithCallTimeout(time.Minute))
	ctx := ctxTimeout(t, 20*time.Second)
	for _, name := range []string{"c1", "c2"} {
		if err := remote.Claim(ctx, n, name, spawn(t, n), remote.Serve(Deposit)); err != nil {
			t.Fatal(err)
		}
	}
	s.Shutdown()
	start := time.Now()
	closed := make(chan error, 1)
	go func() { closed <- n.Close() }()
	select {
	case <-closed:
	case <-time.After(40 * time.Second): // a call timeout is 60 s
		t.Fatal("Close still waits 40 s after its server went away")
	}
	// The releases have a second in all (forcedBudget); the name
	// watcher's consumer delete, a request with nats.go's fixed 5 s
	// timeout, made it 6 s.
	if d := time.Since(start); d > 4*time.Second {
		t.Errorf("Close took %v after its server went away; want about a second", d)
	}
}

// TestShutdownRacingClaims: a graceful Shutdown leaves no name claimed,
// also those whose Claim was under way when it began (about 14 of 40 kept
// their owner for a lease: the stop released them at revision 0, before
// their Create returned).
func TestShutdownRacingClaims(t *testing.T) {
	s := startServer(t)
	n1 := startNode(t, s.ClientURL(), remote.WithName("n1"), remote.WithLease(time.Minute))
	n2 := startNode(t, s.ClientURL(), remote.WithName("n2"), remote.WithLease(time.Minute))
	ctx := ctxTimeout(t, 30*time.Second)
	if _, err := remote.Owner(ctx, n1, "warm"); !errors.Is(err, remote.ErrNotFound) {
		t.Fatal(err)
	}
	const claims = 40
	var wg sync.WaitGroup
	for i := range claims {
		ref := spawn(t, n1)
		wg.Go(func() { _ = remote.Claim(ctx, n1, fmt.Sprintf("r%d", i), ref, remote.Serve(Deposit)) })
	}
	time.Sleep(time.Millisecond)
	if err := n1.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	for i := range claims {
		if owner, err := remote.Owner(ctx, n2, fmt.Sprintf("r%d", i)); !errors.Is(err, remote.ErrNotFound) {
			t.Errorf("r%d: owner %q, %v after its node's Shutdown; want ErrNotFound", i, owner, err)
		}
	}
}

// TestCloseReleasesNames: Close frees its claimed names on a live server
// at once: another node claims one without waiting for its lease.
func TestCloseReleasesNames(t *testing.T) {
	s := startServer(t)
	n1 := startNode(t, s.ClientURL(), remote.WithName("n1"), remote.WithLease(time.Hour))
	n2 := startNode(t, s.ClientURL(), remote.WithName("n2"), remote.WithLease(time.Hour))
	ctx := ctxTimeout(t, 20*time.Second)
	if err := remote.Claim(ctx, n1, "free-on-close", spawn(t, n1), remote.Serve(Deposit)); err != nil {
		t.Fatal(err)
	}
	if err := n1.Close(); err != nil {
		t.Fatal(err)
	}
	if err := remote.Claim(ctx, n2, "free-on-close", spawn(t, n2), remote.Serve(Deposit)); err != nil {
		t.Fatalf("Claim after the owner's Close: %v; want the name free", err)
	}
}

// silentJetStream makes s's JetStream API (a server without JetStream)
// a listener that never answers: every request to it times out. It
// returns a channel told of each request.
func silentJetStream(t *testing.T, url string) <-chan struct{} {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	asked := make(chan struct{}, 1)
	if _, err := nc.Subscribe("$JS.API.>", func(*nats.Msg) {
		select {
		case asked <- struct{}{}:
		default:
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		t.Fatal(err)
	}
	return asked
}

// TestCloseDuringNamesSetup: Close ends while the node's first use of
// names waits for a JetStream that does not answer, and the waiting
// Owner gets ErrClosed.
func TestCloseDuringNamesSetup(t *testing.T) {
	s := startServer(t, embeddedWithoutJS())
	n := startNode(t, s.ClientURL())
	asked := silentJetStream(t, s.ClientURL())
	ctx, cancel := context.WithCancel(context.Background()) // no deadline
	t.Cleanup(cancel)                                       // before n's Close (cleanups run last first)
	owner := make(chan error, 1)
	go func() {
		_, err := remote.Owner(ctx, n, "x")
		owner <- err
	}()
	select {
	case <-asked:
	case <-time.After(10 * time.Second):
		t.Fatal("Owner sent no JetStream request")
	}
	closed := make(chan error, 1)
	go func() { closed <- n.Close() }()
	select {
	case <-closed:
	case <-time.After(20 * time.Second):
		t.Fatal("Close still waits 20 s after it began, an Owner waiting for JetStream")
	}
	select {
	case err := <-owner:
		if !errors.Is(err, remote.ErrClosed) {
			t.Fatalf("Owner: %v; want ErrClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Owner still waits 10 s after its node closed")
	}
}

// TestClaimRefreshAnswerLost: a refresh the server applied but whose
// answer never came back (the connection dropped meanwhile: the keeper's
// request failed, its revision stale) does not lose the claim: the key
// is still the node's. Simulated by writing the owner's own value at a
// new revision behind its keeper.
func TestClaimRefreshAnswerLost(t *testing.T) {
	s := startServer(t)
	rs := newRefusals()
	n1 := startNode(t, s.ClientURL(), remote.WithName("n1"), remote.WithLease(900*time.Millisecond),
		remote.WithRefusalHook(rs.hook))
	ctx := ctxTimeout(t, 20*time.Second)
	ref := spawn(t, n1)
	if err := remote.Claim(ctx, n1, "kept", ref, remote.Serve(Deposit)); err != nil {
		t.Fatal(err)
	}
	kv := namesBucket(ctx, t, n1)
	w, err := kv.Watch(ctx, "kept", jetstream.UpdatesOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = w.Stop() }()
	own, err := kv.Get(ctx, "kept") // the owner's value: its id and process
	if err != nil {
		t.Fatal(err)
	}
	rev, err := kv.Put(ctx, "kept", own.Value()) // the refresh whose answer was lost
	if err != nil {
		t.Fatal(err)
	}
	// The keeper's next refreshes (a third of a lease apart): one past
	// rev is the claim kept; a lost name is reported.
	for {
		select {
		case e := <-w.Updates():
			if e != nil && e.Revision() > rev && e.Operation() == jetstream.KeyValuePut && string(e.Value()) == string(own.Value()) {
				if ref.Stopped() {
					t.Fatal("the claim's actor stopped")
				}
				return
			}
		case r := <-rs.ch:
			t.Fatalf("refusal %+v after a refresh whose answer was lost; want the claim kept", r)
		case <-ctx.Done():
			t.Fatal("no refresh after 20 s")
		}
	}
}

// TestOwnerJetStreamSilent: Owner with a ctx without deadline is bounded
// by the node's call timeout while JetStream does not answer, as a Call
// or a Resolve is: ErrTimeout, not a wait for ever.
func TestOwnerJetStreamSilent(t *testing.T) {
	s := startServer(t, embeddedWithoutJS())
	n := startNode(t, s.ClientURL(), remote.WithCallTimeout(time.Second))
	silentJetStream(t, s.ClientURL())
	owner := make(chan error, 1)
	go func() {
		_, err := remote.Owner(context.Background(), n, "x")
		owner <- err
	}()
	select {
	case err := <-owner:
		if !errors.Is(err, remote.ErrTimeout) {
			t.Fatalf("Owner: %v; want ErrTimeout", err)
		}
	case <-time.After(20 * time.Second): // the call timeout is 1 s
		t.Fatal("Owner still waits 20 s after it began")
	}
}

// namesBucket is the names bucket n uses, seen through its connection, to
// write behind its keeper's back.
func namesBucket(ctx context.Context, t *testing.T, n *remote.Node) jetstream.KeyValue {
	t.Helper()
	js, err := jetstream.New(n.Conn())
	if err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(ctx, "troupe_names")
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

// TestNamesAfterClose: once its node is closed, Owner, Claim and
// LookupOrSpawn fail with ErrClosed, as every other call does, also on a
// node that used names before (its registry is made).
func TestNamesAfterClose(t *testing.T) {
	s := startServer(t)
	n := startNode(t, s.ClientURL())
	ctx := ctxTimeout(t, 20*time.Second)
	if _, err := remote.Owner(ctx, n, "x"); !errors.Is(err, remote.ErrNotFound) {
		t.Fatalf("Owner before Close: %v; want ErrNotFound", err)
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	_, ownerErr := remote.Owner(ctx, n, "x")
	claimErr := remote.Claim(ctx, n, "x", spawn(t, n), remote.Serve(Deposit))
	_, _, lookupErr := remote.LookupOrSpawn(ctx, n, "x", newAcct, remote.Serve(Deposit))
	for name, err := range map[string]error{"Owner": ownerErr, "Claim": claimErr, "LookupOrSpawn": lookupErr} {
		if !errors.Is(err, remote.ErrClosed) {
			t.Errorf("%s after Close: %v; want ErrClosed", name, err)
		}
	}
}

// TestNamesCtxExpired: Owner, Claim and LookupOrSpawn whose ctx's
// deadline has passed fail with ErrTimeout, as their docs say, on a node
// whose names bucket is ready (so the deadline ends the key-value request
// itself); and the Claim leaves nothing claimed.
func TestNamesCtxExpired(t *testing.T) {
	s := startServer(t)
	n := startNode(t, s.ClientURL())
	if _, err := remote.Owner(ctxTimeout(t, 20*time.Second), n, "x"); !errors.Is(err, remote.ErrNotFound) {
		t.Fatalf("Owner: %v; want ErrNotFound", err)
	}
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	_, ownerErr := remote.Owner(expired, n, "x")
	claimErr := remote.Claim(expired, n, "x", spawn(t, n), remote.Serve(Deposit))
	_, _, lookupErr := remote.LookupOrSpawn(expired, n, "x", newAcct, remote.Serve(Deposit))
	for name, err := range map[string]error{"Owner": ownerErr, "Claim": claimErr, "LookupOrSpawn": lookupErr} {
		if !errors.Is(err, remote.ErrTimeout) {
			t.Errorf("%s with an expired ctx: %v; want ErrTimeout", name, err)
		}
	}
	if _, err := remote.Owner(ctxTimeout(t, 20*time.Second), n, "x"); !errors.Is(err, remote.ErrNotFound) {
		t.Fatalf("Owner after the expired Claim: %v; want ErrNotFound", err)
	}
}
