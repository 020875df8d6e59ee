package remote

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-go/troupe/actor"
)

// Names across nodes.
//
// A claimed name is a key of the JetStream key-value bucket
// "<prefix>_names" whose value is the owner node's id and a random id of
// its process (claimValue): what Owner reports is the node's id, and a
// node takes for its own only the keys with its process's mark, not those
// of another node started under the same name (WithName), nor its own
// from before a restart. Claim creates it
// (Create: refused while the key exists) and exports the actor under the
// name; the owner's keeper refreshes every claim a third of a lease apart
// (Update at the last revision), and the bucket's TTL — the lease — makes
// a key vanish once its owner stops refreshing it: a node that dies frees
// its names within a lease. A claim is released (Delete at the last
// revision) when its actor stops, when it is unexported, and when the
// node shuts down. The node watches the bucket: a claim of ours deleted,
// purged or taken over by another node (say after a partition longer than
// the lease) is lost — its actor is killed, so that no name ever has two
// live owners for longer than the keeper's period. The watch is made
// again when the connection reconnects (its consumer may be gone with a
// restarted server), and the keeper then refreshes every claim at once,
// for what changed meanwhile. A claim the keeper
// cannot refresh (the bucket out of reach, the node paused) is lost as
// well once its lease may have run out, before another node can take it;
// and until the keeper gets to it (a node paused longer than a lease
// resumes with calls to serve before its keeper runs), each call, cast,
// stream open or follow that reaches the name is fenced: once the lease
// has run out without a refresh, it is refused as for a name nobody
// serves (CodeNotFound: the caller gets ErrNotFound; ReasonNameLost), not
// run (see leaseOutAt). So is a call, cast or stream open that arrived in
// time but whose turn at the actor comes past the lease (gatedCall.Admit,
// castGate.Admit, gatedOpen.Admit: its handler does not run), and a
// stream served under the name ends at its next item past the lease. A
// handler that started within the lease runs to its end, and its call is
// answered with its outcome (finish does not ask the fence): the caller
// gets the one outcome of what ran, not ErrNotFound and a second run at
// the name's next owner. A claim released (its node's stop, Unexport) is
// fenced as one lost, before its key is deleted: a call queued at the
// actor whose turn comes after — when another node may own the name and
// serve it — is refused so too.
// The bucket is kept in memory: a Claim or Owner that finds it gone (its
// server restarted) makes it again.

// NameTakenError is returned by Claim for a name another node owns.
type NameTakenError struct {
	Name  string
	Owner string // the owner node's id
}

// Error names the name and the node that owns it.
func (e *NameTakenError) Error() string {
	if e == nil {
		return "remote: <nil NameTakenError>"
	}
	return fmt.Sprintf("remote: name %q taken by node %s", e.Name, e.Owner)
}

// Unwrap makes a NameTakenError match ErrNameTaken (and actor.ErrNameTaken).
func (e *NameTakenError) Unwrap() error { return ErrNameTaken }

// names is a node's part in the registry; made on first use.
type names struct {
	kv jetstream.KeyValue
	// watcher is the watch of the bucket, made again by the watch's
	// goroutine (renewWatch), read by the stop once that goroutine has
	// exited.
	watcher jetstream.KeyWatcher
	// unwatch ends the watch's ctx, which nats.go unsubscribes the
	// watcher on: the stop calls it once the watcher's Stop has returned.
	unwatch context.CancelFunc
	// recheck asks the keeper for a refresh of every claim now: a
	// watch made again missed what changed while it was away.
	recheck chan struct{}
	quit    chan struct{}
	// stopped ends with quit: it bounds the watch's deletes of stray keys
	// (see nameChanged), which the stop would otherwise wait for.
	stopped context.Context
	stop    context.CancelFunc
	done    chan struct{} // closed when keeper and watch have exited
	mu      sync.Mutex    // guards what follows
	claims  map[string]*claim
	// creating counts the Claims under way, from their placeholder to
	// their return; once stopping, no Claim starts, and idle (if made) is
	// closed when the last one returns.
	creating int
	stopping bool
	idle     chan struct{}
}

// doneCreatingLocked counts a Claim returned (see creating). The caller
// holds r.mu.
func (r *names) doneCreatingLocked() {
	if r.creating--; r.creating == 0 && r.idle != nil {
		close(r.idle)
		r.idle = nil
	}
}

// claim is a name this node owns.
type claim struct {
	name string
	rev  uint64 // the key's revision we last wrote; guarded by names.mu
	// held is when the write at rev was sent: the key's lease (the
	// bucket's TTL) runs from no earlier; the keeper gives the claim up
	// once it can no longer refresh it before held + lease. Guarded by
	// names.mu.
	held time.Time
	// until is the lease's end, held + lease on the monotonic clock (see
	// mono): every call served under the name reads it (leaseOutAt), without
	// names.mu. 0 until the key is made, and once the claim is lost.
	until atomic.Int64
	// seen is the last revision at which the watch saw this node's mark
	// written to the key while the claim was being created (rev 0):
	// perhaps by a request of the Claim whose answer was lost, which the
	// Claim then deletes if it fails (see nameChanged). Guarded by
	// names.mu.
	seen uint64
	ex   *export
	kill func() // kills the actor when the claim is lost
	// settled, made by the first LookupOrSpawn that waits for this
	// claim's Claim (see awaitClaim) while it creates the key (rev 0), is
	// closed when that Claim returns. Guarded by names.mu.
	settled chan struct{}
}

// monoBase is the origin of mono.
var monoBase = time.Now()

// mono is t on the monotonic clock, in nanoseconds since the package was
// loaded (> 0 for any time after): a claim's lease end (claim.until).
func mono(t time.Time) int64 { return int64(t.Sub(monoBase)) }

// leaseOutAt reports whether the lease ending at *fence (a claim's until)
// has run out at now (a time read from the clock, with its monotonic
// reading): the keeper did not refresh it in time (the node paused, or
// the bucket out of reach) or lost it, and another node may own the name.
// False for a nil fence (an exported name). One atomic load: every
// message served under a claimed name asks it (serve, serveFollow).
func leaseOutAt(fence *atomic.Int64, now time.Time) bool {
	return fence != nil && mono(now) >= fence.Load()
}

// leaseOut is leaseOutAt now: a served call's turn (Admit) and a served
// stream's items (emit) ask it.
func leaseOut(fence *atomic.Int64) bool { return leaseOutAt(fence, time.Now()) }

// admit is a served call's or stream open's gate (gatedCall.Admit,
// gatedOpen.Admit): errFenced if the lease ending at *fence has run out.
func admit(fence *atomic.Int64) error {
	if leaseOut(fence) {
		return errFenced
	}
	return nil
}

// leaseRanOut is the message of what is refused under name past its
// claim's lease.
func (n *Node) leaseRanOut(name string) string {
	return fmt.Sprintf("name %q: its claim's lease ran out, or the claim was released, on node %s", name, n.id)
}

// leaseLost is the error of what is refused under name (label: the
// endpoint's "name.method") past its claim's lease: CodeNotFound, as for
// a name nobody serves (the caller looks again).
func (n *Node) leaseLost(name, label string) wireError {
	return wireError{Code: CodeNotFound, Message: n.leaseRanOut(name), Method: label, Node: n.id}
}

// refuseLeaseLost reports what is refused under name past its claim's
// lease (ReasonNameLost) and returns its error (leaseLost), for the
// caller to answer with, if it has one to answer.
func (n *Node) refuseLeaseLost(name, method, label string) wireError {
	w := n.leaseLost(name, label)
	n.reportLeaseLost(name, method, w)
	return w
}

// reportLeaseLost reports what was refused under name past its claim's
// lease with w, its error (leaseLost): ReasonNameLost.
func (n *Node) reportLeaseLost(name, method string, w wireError) {
	n.refuse(Refusal{Reason: ReasonNameLost, Name: name, Method: method,
		Err: &Error{Code: w.Code, Message: w.Message, Method: w.Method, Node: w.Node}})
}

// claimValue is the value of the keys a node claims: its id, '/' (which
// no id has), and inc, its process's random id.
func claimValue(id, inc string) string { return id + "/" + inc }

// claimOwner is the node id in a key's value (see claimValue); a value
// without '/' (written by hand, or by an older node) is all id.
func claimOwner(value []byte) string {
	id, _, _ := strings.Cut(string(value), "/")
	return id
}

// registry returns the node's names, connecting to the bucket on first
// use (bounded by ctx's deadline, or the call timeout if it has none).
// Errors: ErrNoJetStream, ErrClosed, ErrTimeout, the server's.
func (n *Node) registry(ctx context.Context) (*names, error) {
	n.namesMu.Lock()
	defer n.namesMu.Unlock()
	if n.names != nil {
		return n.names, nil
	}
	if err := n.open(); err != nil {
		return nil, err
	}
	js, err := jetstream.New(n.nc)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNoJetStream, err)
	}
	cfg := n.bucketConfig()
	// Bounded as a call is (ctx's deadline, or the call timeout); the
	// stop waits for namesMu: it ends the wait (ErrClosed).
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ctx, unbound := callBound(ctx, n.cfg.callTimeout)
	defer unbound()
	defer context.AfterFunc(n.halted, cancel)()
	var kv jetstream.KeyValue
	for {
		// One attempt per second: a request lost while the JetStream
		// cluster elects a leader is never answered, so it is sent again.
		actx, cancel := context.WithTimeout(ctx, time.Second)
		kv, err = js.CreateOrUpdateKeyValue(actx, cfg)
		cancel()
		if err == nil || ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) {
			break
		}
	}
	if err != nil && n.halted.Err() != nil {
		return nil, fmt.Errorf("%w: names bucket: %w", ErrClosed, err)
	}
	if err != nil && ctx.Err() == nil &&
		(errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount)) {
		return nil, fmt.Errorf("%w: %w", ErrNoJetStream, err)
	}
	if err != nil {
		return nil, namesErr(ctx, "names bucket", err)
	}
	if n.cfg.namesKV != nil {
		kv = n.cfg.namesKV(kv)
	}
	// The watch lives as long as the names: the stop ends it (unwatch).
	w, unwatch, err := watchNamesKV(ctx, kv)
	if err != nil && n.halted.Err() != nil {
		return nil, fmt.Errorf("%w: watch names: %w", ErrClosed, err)
	}
	if err != nil {
		return nil, namesErr(ctx, "watch names", err)
	}
	r := &names{kv: kv, watcher: w, unwatch: unwatch, recheck: make(chan struct{}, 1),
		quit: make(chan struct{}), done: make(chan struct{}), claims: map[string]*claim{}}
	r.stopped, r.stop = context.WithCancel(context.Background())
	var both sync.WaitGroup
	both.Go(func() { n.keep(r) })
	both.Go(func() { n.watchNames(r) })
	go func() { both.Wait(); close(r.done) }()
	n.names = r
	return r, nil
}

// watchNamesKV makes a watch of kv's changes (updates only), bounded by
// ctx while it is being made, not after: it lives until unwatch, which
// ends its ctx (nats.go then unsubscribes the watcher). One made as ctx
// ended is stopped, and ctx's error returned; on an error the watch's
// ctx is ended already.
func watchNamesKV(ctx context.Context, kv jetstream.KeyValue) (jetstream.KeyWatcher, context.CancelFunc, error) {
	wctx, unwatch := context.WithCancel(context.Background())
	bounded := context.AfterFunc(ctx, unwatch)
	w, err := kv.WatchAll(wctx, jetstream.UpdatesOnly())
	if !bounded() && err == nil { // made as ctx ended: unsubscribed already
		_ = w.Stop()
		err = ctx.Err()
	}
	if err != nil {
		unwatch()
		return nil, nil, err
	}
	return w, unwatch, nil
}

// bucketConfig is the names bucket's.
func (n *Node) bucketConfig() jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket:   n.cfg.prefix + "_names",
		TTL:      n.cfg.lease,
		History:  1,
		Storage:  jetstream.MemoryStorage,
		Replicas: n.cfg.nameReplicas,
	}
}

// bucketGone reports whether a names request failed for want of the
// bucket: no stream took it (a server restarted without it — the bucket
// is kept in memory — or an operator deleted it).
func bucketGone(err error) bool {
	return errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, jetstream.ErrStreamNotFound) || errors.Is(err, jetstream.ErrBucketNotFound)
}

// remake makes the names bucket again after bucketGone, bounded by ctx
// (the node's key-value handle addresses it by name: it carries on; the
// watch is made again). It reports whether the bucket is there now; the
// claims whose keys went with it are lost by the keeper (their refreshes
// fail).
func (n *Node) remake(ctx context.Context) bool {
	js, err := jetstream.New(n.nc)
	if err != nil {
		return false
	}
	if _, err = js.CreateOrUpdateKeyValue(ctx, n.bucketConfig()); err != nil {
		return false
	}
	n.askRewatch()
	return true
}

// askRewatch asks the names watch to make itself again (see renewWatch):
// a watch made before a restart of the server, or of the bucket, may see
// nothing more (its consumer is gone, or reads from the old stream's
// sequence on, past the new stream's writes).
func (n *Node) askRewatch() {
	select {
	case n.rewatch <- struct{}{}:
	default: // asked already
	}
}

// Claim claims name across the cluster for ref and exports the methods
// under it (as Export does): while ref lives and this node is up, Claim on
// any other node fails with a *NameTakenError (ErrNameTaken), and calls to
// the name from any node reach ref. The name is released when ref stops,
// when it is unexported, and when the node shuts down; if the node dies,
// it is free again within a lease (WithLease). Needs JetStream. Blocks
// for a few round trips (the first use of names on a node also waits for
// the names bucket), bounded by ctx's deadline, or the node's call
// timeout if ctx has none. Errors: those of Export, *NameTakenError, ErrNoJetStream,
// ErrClosed, ErrTimeout (JetStream did not answer in time).
func Claim[S any](ctx context.Context, n *Node, name string, ref *actor.Ref[S], methods ...Entry[S]) error {
	if !n.made() {
		return ErrNilNode
	}
	if ctx == nil {
		return actor.ErrNilContext
	}
	if ref == nil {
		return ErrNilRef
	}
	if !tokenRe.MatchString(name) {
		return fmt.Errorf("%w: %q", ErrInvalidName, name)
	}
	// Bounded as a call is: a key-value request without a deadline would
	// wait for nats.go's default instead, and end with its bare
	// context.DeadlineExceeded rather than ErrTimeout.
	ctx, cancel := callBound(ctx, n.cfg.callTimeout)
	defer cancel()
	r, err := n.registry(ctx)
	if err != nil {
		return err
	}
	// A placeholder first: of two Claims of one name on this node, the
	// second is refused here rather than racing the first for the key.
	c := &claim{name: name, kill: ref.Kill}
	r.mu.Lock()
	if r.stopping {
		r.mu.Unlock()
		return ErrClosed
	}
	if _, busy := r.claims[name]; busy {
		r.mu.Unlock()
		return &NameTakenError{Name: name, Owner: n.id}
	}
	r.claims[name] = c
	// The node's stop waits for this Claim to return, its connection
	// open: any key it made is then deleted by it, or by the stop.
	r.creating++
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		r.doneCreatingLocked()
		if c.settled != nil {
			close(c.settled)
		}
		r.mu.Unlock()
	}()
	sent := time.Now() // the lease runs from no earlier than this
	rev, err := n.create(ctx, r, name)
	if bucketGone(err) && n.remake(ctx) {
		sent = time.Now()
		rev, err = n.create(ctx, r, name)
	}
	if _, taken := errors.AsType[*NameTakenError](err); err != nil && !taken {
		n.dropLost(r, name)
		err = namesErr(ctx, fmt.Sprintf("claim %q", name), err)
	}
	r.mu.Lock()
	live := r.claims[name] == c
	if live && err != nil {
		delete(r.claims, name)
	} else if live {
		c.rev, c.held = rev, sent
		c.until.Store(mono(sent.Add(n.cfg.lease)))
	}
	seen := c.seen
	r.mu.Unlock()
	if err != nil {
		if seen != 0 {
			// A write of ours the watch saw while the placeholder was
			// held, and dropLost missed (it landed after dropLost's
			// look): deleted if the key is still at it. Once the
			// placeholder is gone, the watch deletes such writes itself.
			dctx, cancel := n.releaseCtx() // as dropLost
			n.dropStray(dctx, r, name, seen)
			cancel()
		}
		return err
	}
	if !live {
		// Released while its Create was on the way — by the node's stop,
		// which found it at revision 0, with nothing to delete yet: the
		// key it made is deleted here.
		dctx, cancel := n.releaseCtx()
		_ = r.kv.Delete(dctx, name, jetstream.LastRevision(rev)) // if still ours
		cancel()
		return ErrClosed
	}
	ex, err := exportRef(n, name, ref, methods, &c.until, func() { n.releaseOne(r, c) })
	if err != nil {
		n.releaseOne(r, c)
		return err
	}
	r.mu.Lock()
	c.ex = ex
	r.mu.Unlock()
	return nil
}

// createTries bounds create's attempts at a name that changes between
// its Create and its reclaim every time.
const createTries = 8

// errNameChanged is reclaim's: the key was deleted, or written again,
// since Create found it: create tries again.
var errNameChanged = errors.New("remote: name changed during its claim")

// create writes this node's mark (claimValue) to name's key: Create, or
// reclaim if the key exists. A key freed or changed between the two is
// tried again (up to createTries times), so that a free name is never
// refused. Errors: *NameTakenError, ErrNameTaken (the name changed hands
// createTries times in a row), the key-value requests'.
func (n *Node) create(ctx context.Context, r *names, name string) (uint64, error) {
	for range createTries {
		rev, err := r.kv.Create(ctx, name, []byte(n.claimMark))
		if errors.Is(err, jetstream.ErrKeyExists) {
			rev, err = n.reclaim(ctx, r, name)
		}
		if !errors.Is(err, errNameChanged) {
			return rev, err
		}
	}
	return 0, fmt.Errorf("%w: name %q changes owner too fast", ErrNameTaken, name)
}

// reclaim takes over a key this node wrote but no longer holds — a Claim
// whose answer was lost and whose key dropLost could not delete — the
// caller holds the name's placeholder, so no live claim of ours is
// overwritten; it refuses any other owner's with a *NameTakenError, and
// returns errNameChanged for a key deleted or written since Create found
// it. Another node's key is refused also when it bears this node's id:
// the key of a node started under the same name (or of this node's
// process before a restart, which cannot be told from a live one) is not
// ours; the name is free once that node releases it, or within a lease of
// its last refresh.
func (n *Node) reclaim(ctx context.Context, r *names, name string) (uint64, error) {
	e, err := r.kv.Get(ctx, name)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return 0, errNameChanged // freed since Create: free now
	}
	if err != nil {
		return 0, err
	}
	if string(e.Value()) != n.claimMark {
		return 0, &NameTakenError{Name: name, Owner: claimOwner(e.Value())}
	}
	rev, err := r.kv.Update(ctx, name, []byte(n.claimMark), e.Revision())
	if errors.Is(err, jetstream.ErrKeyRevisionMismatch) || errors.Is(err, jetstream.ErrKeyExists) {
		return 0, errNameChanged // written since Get: whose, the next Create tells
	}
	return rev, err
}

// dropLost deletes name's key if it holds this node's mark, after a Claim
// failed otherwise than by a refusal: its ctx ended, or its connection
// dropped, after the server had applied its Create (or reclaim's Update)
// but before the answer came back; the key would otherwise name this
// node, which does not serve it, the owner until the lease ran out (and
// refuse the name to other nodes meanwhile). The caller holds the name's
// placeholder (or the node's stop took it: no Claim then starts), so the
// key is no live claim of ours. Bounded by releaseCtx, not the Claim's
// ended ctx. A request still on its way when the key is read is caught
// by the watch: a write of ours seen while the placeholder is held is
// deleted by the Claim as it fails (claim.seen), one seen after by the
// watch (nameChanged); only one that lands after the node's stop began
// is left to the lease.
func (n *Node) dropLost(r *names, name string) {
	ctx, cancel := n.releaseCtx()
	defer cancel()
	e, err := r.kv.Get(ctx, name)
	if err == nil && string(e.Value()) == n.claimMark {
		_ = r.kv.Delete(ctx, name, jetstream.LastRevision(e.Revision())) // if still that write
	}
}

// dropStray deletes name's key if it is still at rev, a write of this
// node's mark that no claim holds: a Claim's request whose answer was lost.
// Any Claim of ours that follows writes another revision (or retries, if
// this delete lands between its look and its write: see reclaim), so no
// live claim's key is deleted. Bounded by ctx.
func (n *Node) dropStray(ctx context.Context, r *names, name string, rev uint64) {
	_ = r.kv.Delete(ctx, name, jetstream.LastRevision(rev))
}

// Owner returns the id of the node that owns name, or ErrNotFound. Blocks
// for a round trip (and, on the node's first use of names, for the names
// bucket, as Claim does), bounded by ctx's deadline, or the node's call
// timeout if ctx has none. Errors: ErrNotFound, ErrInvalidName,
// ErrNoJetStream, ErrClosed, ErrTimeout.
func Owner(ctx context.Context, n *Node, name string) (string, error) {
	if !n.made() {
		return "", ErrNilNode
	}
	if ctx == nil {
		return "", actor.ErrNilContext
	}
	if !tokenRe.MatchString(name) {
		return "", fmt.Errorf("%w: %q", ErrInvalidName, name)
	}
	ctx, cancel := callBound(ctx, n.cfg.callTimeout) // as Claim's
	defer cancel()
	r, err := n.registry(ctx)
	if err != nil {
		return "", err
	}
	owner, err := ownerOf(ctx, r.kv, name)
	if bucketGone(err) && n.remake(ctx) {
		owner, err = ownerOf(ctx, r.kv, name)
	}
	return owner, err
}

func ownerOf(ctx context.Context, kv jetstream.KeyValue, name string) (string, error) {
	e, err := kv.Get(ctx, name)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return "", fmt.Errorf("%w: name %q", ErrNotFound, name)
	}
	if err != nil {
		return "", namesErr(ctx, fmt.Sprintf("owner of %q", name), err)
	}
	return claimOwner(e.Value()), nil
}

// namesErr is a failed key-value request of the names calls with its
// sentinel: ctx's end (ErrTimeout for its deadline), ErrClosed for the
// node's closed connection. (registry tells the node's stop, which
// cancels its ctx, first.)
func namesErr(ctx context.Context, what string, err error) error {
	switch {
	case ctx.Err() != nil:
		return ctxErr(ctx, what)
	case errors.Is(err, nats.ErrConnectionClosed):
		return fmt.Errorf("%w: %s: %w", ErrClosed, what, err)
	}
	return fmt.Errorf("remote: %s: %w", what, err)
}

// LookupOrSpawn is runtime.LookupOrSpawn across the cluster: it returns the
// node that owns name or, if none does, spawns factory() on this node's runtime
// and claims name for it with the methods (see Claim), so that of concurrent
// callers on any nodes exactly one claims it: created says whether this call
// did. A caller that loses the claim kills the actor it spawned before any call
// reaches it, so that factory (and a Starter hook) may have run for nothing:
// keep them free of outside effects, or Claim an actor you spawned yourself.
// Reach the actor with Bind(n, name, method) wherever it lives. Blocks for a
// few round trips. Errors: those of Claim (but ErrNameTaken) and of
// actor.SpawnFunc.
func LookupOrSpawn[S any](ctx context.Context, n *Node, name string, factory func() S, methods ...Entry[S]) (owner string, created bool, err error) {
	for range 8 {
		owner, err = Owner(ctx, n, name)
		if !errors.Is(err, ErrNotFound) {
			return owner, false, err
		}
		ref, err := actor.SpawnFunc(n.rt, factory)
		if err != nil {
			return "", false, err
		}
		err = Claim(ctx, n, name, ref, methods...)
		if err == nil {
			return n.id, true, nil
		}
		ref.Kill()
		if !errors.Is(err, ErrNameTaken) {
			return "", false, err
		}
		// Another node claimed it first, or another Claim of it is under
		// way on this node (its key not made yet: Owner does not see
		// it): waited for, then looked up again (it may also have gone
		// already, or that Claim failed).
		if err := n.awaitClaim(ctx, name); err != nil {
			return "", false, err
		}
	}
	return "", false, fmt.Errorf("%w: name %q changes owner too fast", ErrNameTaken, name)
}

// awaitClaim waits, bounded by ctx, for the Claim of name under way on
// this node, if any, to return. Errors: ctx's (ErrTimeout for its
// deadline).
func (n *Node) awaitClaim(ctx context.Context, name string) error {
	r, err := n.registry(ctx)
	if err != nil {
		return err
	}
	r.mu.Lock()
	c := r.claims[name]
	if c == nil || c.rev != 0 { // none, or its key made: Owner sees it
		r.mu.Unlock()
		return nil
	}
	if c.settled == nil {
		c.settled = make(chan struct{})
	}
	settled := c.settled
	r.mu.Unlock()
	// The node's stop waits for Claims under way to return.
	select {
	case <-settled:
		return nil
	case <-ctx.Done():
		return ctxErr(ctx, fmt.Sprintf("claim of %q under way", name))
	}
}

// release deletes c's key if it is still ours, once, waiting for the
// server's answer until ctx ends.
func (n *Node) release(ctx context.Context, r *names, c *claim) {
	r.mu.Lock()
	if r.claims[c.name] != c {
		r.mu.Unlock()
		return
	}
	delete(r.claims, c.name)
	// Fenced before the key goes (under mu: no refresh extends it after):
	// once it is deleted another node may own the name, and what is
	// queued at the actor and whose turn comes after (a served call
	// behind one running as the node stops, say) must not run here; it is
	// refused as past the lease (ErrNotFound: the caller looks again),
	// as lose does.
	c.until.Store(0)
	rev := c.rev
	r.mu.Unlock()
	if rev == 0 { // never created: nothing of ours to delete
		return
	}
	_ = r.kv.Delete(ctx, c.name, jetstream.LastRevision(rev)) // if still ours
}

// releaseOne is release with a ctx of its own (see releaseCtx).
func (n *Node) releaseOne(r *names, c *claim) {
	ctx, cancel := n.releaseCtx()
	defer cancel()
	n.release(ctx, r, c)
}

// forcedBudget is how long, at most, each step of a forced stop (Close)
// that needs the server waits for it: its claimed names' releases, the
// requests its endpoints' subscriptions still held (settle), the casts
// to confirm.
const forcedBudget = time.Second

// releaseCtx bounds releases (and settle's flush): the call timeout while
// the node runs or stops gracefully; once its stop is forced (Close),
// forcedBudget. A live server then still frees the names at once (a round
// trip each), and one that is gone holds Close up only that long (the
// lease frees them).
func (n *Node) releaseCtx() (context.Context, context.CancelFunc) {
	if n.forced.Err() != nil {
		return context.WithTimeout(context.Background(), forcedBudget)
	}
	return context.WithTimeout(n.forced, n.cfg.callTimeout)
}
