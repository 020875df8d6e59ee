package remote

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"strconv"
	"sync/atomic"

	"github.com/nats-io/nats.go/micro"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/engine"
)

// Entry is one method of an exported actor of state type S, made by
// [Serve]. Only the methods passed to Export are reachable: nothing is
// dispatched by a name read from the wire.
type Entry[S any] interface {
	endpoint(ref *actor.Ref[S]) *endpoint
}

// Serve makes m an Entry for Export: requests are decoded into Q and
// handed to m.Call (or m.Cast for a remote Cast), replies encoded from R.
// m's name must be a NATS service name (letters, digits, '-', '_').
// It does not block; the Entry is immutable.
func Serve[S, Q, R any](m *actor.Method[S, Q, R]) Entry[S] { return served[S, Q, R]{m} }

type served[S, Q, R any] struct{ m *actor.Method[S, Q, R] }

func (s served[S, Q, R]) endpoint(ref *actor.Ref[S]) *endpoint {
	m := s.m
	if m == nil {
		return &endpoint{err: ErrNilRef}
	}
	return &endpoint{
		method:  m.Name(),
		reqType: reflect.TypeFor[Q]().String(),
		repType: reflect.TypeFor[R]().String(),
		decode: func(c Codec, data []byte) (any, error) {
			q := new(Q)
			if err := unmarshal(c, data, q); err != nil {
				return nil, err
			}
			return q, nil
		},
		ask: func(ctx context.Context, req any) queued {
			return askFuture[R]{m.AskUnwatched(engine.Seal{}, ctx, ref, *req.(*Q))}
		},
		cast: func(c Codec, data []byte, gate engine.Gate) (decodeErr, err error) {
			var q Q
			if err := unmarshal(c, data, &q); err != nil {
				return err, nil
			}
			return nil, m.CastGated(engine.Seal{}, gate, ref, q) // a nil gate is Cast
		},
	}
}

// endpoint is an exported method with its types erased.
type endpoint struct {
	method, reqType, repType string
	label                    string // "name.method"
	err                      error
	// decode decodes a request (into a *Q, as any); ask queues the call
	// at the actor, in arrival order (m.AskUnwatched: its future does not
	// watch ctx; finish does, through await). Two funcs rather than a
	// closure over the request: no allocation between them.
	decode func(c Codec, data []byte) (any, error)
	ask    func(ctx context.Context, req any) queued
	// stream, for a stream method instead of call, decodes an opening
	// request; its result opens the local reader.
	stream func(c Codec, data []byte) (func(context.Context, []actor.FollowOption) (streamReader, error), error)
	// follow, for a stream method, attaches a reader to its running
	// stream id.
	follow func(ctx context.Context, id uint64, opts []actor.FollowOption) (streamReader, error)
	// cast decodes a cast and queues it at the actor: through gate, if
	// not nil (m.CastGated: asked on the cast's turn), else m.Cast.
	cast func(c Codec, data []byte, gate engine.Gate) (decodeErr, err error)
	// gate, for a claimed name, is its casts' gate (see castGate); nil
	// for an exported name.
	gate engine.Gate
}

// queued is a served call queued at its actor.
type queued interface {
	// done is closed when the outcome is known.
	done() <-chan struct{}
	// outcome is the reply (nil with an error) once done is closed.
	outcome() (any, error)
}

// askFuture is a queued call: one pointer, so it is an interface value
// without an allocation.
type askFuture[R any] struct{ f *actor.Future[R] }

func (a askFuture[R]) done() <-chan struct{} { return a.f.Done() }

func (a askFuture[R]) outcome() (any, error) {
	v, err := a.f.Await(context.Background())
	if err != nil {
		return nil, err
	}
	return v, nil
}

// export is a name a node serves: one micro service.
type export struct {
	name    string
	svc     micro.Service
	chainID string // the exported actor's id in wait-for chains
	actorID uint64 // its actor.Ref.ID, which holds chainID (releaseChainLocked)
	release func() // run once when the export is withdrawn, or nil
	// fence, for a claimed name, is its claim's lease end (claim.until):
	// nothing is served under the name past it (see leaseOutAt). Nil for
	// Export.
	fence *atomic.Int64
	eps   map[string]*endpoint
	gone  chan struct{} // closed when the export is withdrawn: its watcher exits
}

// Export makes the given methods of ref reachable from other nodes under
// name, as a NATS micro service of that name (version WithVersion's) with
// one endpoint per method on subject <prefix>.<name>.<method>, in the
// queue group "troupe": every node exporting a name shares its calls.
// Nothing else of ref is reachable. When ref stops, the name is
// unexported. Blocks for one round trip to the server, bounded by the
// node's call timeout (WithCallTimeout); the node's stop cuts it short
// (ErrClosed) and does not wait for it. Errors: ErrNilNode, ErrNilRef,
// ErrInvalidName, ErrExported (also while another Export of name is in
// progress), ErrStopped, ErrClosed, ErrTimeout (the server did not
// answer in time), ErrUnavailable, or the connection's error.
func Export[S any](n *Node, name string, ref *actor.Ref[S], methods ...Entry[S]) error {
	_, err := exportRef(n, name, ref, methods, nil, nil)
	return err
}

// exportRef exports ref; fence, if not nil, is its claim's lease end (see
// leaseOutAt); release, if not nil, runs once the export is withdrawn by
// unexport (its actor stopped, Unexport). The node's stop does not run
// it: stopNames releases every claim itself, first.
func exportRef[S any](n *Node, name string, ref *actor.Ref[S], methods []Entry[S], fence *atomic.Int64, release func()) (*export, error) {
	if !n.made() {
		return nil, ErrNilNode
	}
	if ref == nil {
		return nil, ErrNilRef
	}
	if !tokenRe.MatchString(name) {
		return nil, fmt.Errorf("%w: export %q", ErrInvalidName, name)
	}
	if len(methods) == 0 {
		return nil, fmt.Errorf("%w: export %q has no methods", ErrInvalidName, name)
	}
	eps := make([]*endpoint, 0, len(methods))
	seen := map[string]bool{}
	for _, e := range methods {
		if e == nil {
			return nil, ErrNilRef
		}
		ep := e.endpoint(ref)
		if ep.err != nil {
			return nil, ep.err
		}
		if !tokenRe.MatchString(ep.method) || seen[ep.method] {
			return nil, fmt.Errorf("%w: method %q of %q", ErrInvalidName, ep.method, name)
		}
		seen[ep.method] = true
		ep.label = name + "." + ep.method
		eps = append(eps, ep)
	}
	if ref.Stopped() {
		return nil, ErrStopped
	}
	// The name is reserved under mu; the service is made and confirmed by
	// the server without it: a flush waits for the server, which a
	// connection that is down does not answer for as long as the bound,
	// and mu is the stop's, the cancels' and every served call's.
	n.mu.Lock()
	if err := n.open(); err != nil {
		n.mu.Unlock()
		return nil, err
	}
	if _, ok := n.exports[name]; ok || n.exporting[name] {
		n.mu.Unlock()
		return nil, fmt.Errorf("%w: %q", ErrExported, name)
	}
	n.exporting[name] = true
	n.exportWG.Add(1)
	chainID := n.chainIDLocked(ref.ID())
	n.mu.Unlock()
	defer n.exportWG.Done() // after a withdrawn service's Stop: the node's stop waits for it
	ex := &export{name: name, chainID: chainID, actorID: ref.ID(), release: release, fence: fence, eps: map[string]*endpoint{},
		gone: make(chan struct{})}
	for _, ep := range eps {
		ex.eps[ep.method] = ep
		if fence != nil {
			ep.gate = &castGate{n: n, ex: ex, ep: ep}
		}
	}
	err := n.startService(ex, eps)
	if err == nil && n.cfg.exportGap != nil {
		err = n.cfg.exportGap(n, name)
	}
	n.mu.Lock()
	delete(n.exporting, name)
	if err == nil && n.open() != nil { // the stop began meanwhile: it did not see ex
		err = fmt.Errorf("%w: export %q", ErrClosed, name)
	}
	if err != nil {
		n.releaseChainLocked(ex.actorID)
		n.mu.Unlock()
		if ex.svc != nil {
			_ = ex.svc.Stop()
		}
		return nil, err
	}
	n.exports[name] = ex
	n.served.Add(1)
	n.mu.Unlock()
	go n.watch(ex, ref.Done())
	return ex, nil
}

// startService makes ex's micro service (ex.svc, set if made) with an
// endpoint per method, and waits for the server to have its
// subscriptions: the node's call timeout at most, cut short by the
// node's stop.
func (n *Node) startService(ex *export, eps []*endpoint) error {
	svc, err := micro.AddService(n.nc, micro.Config{
		Name:        ex.name,
		Version:     n.cfg.version,
		Description: "troupe actor",
		Metadata:    map[string]string{"node": n.id, "troupe": "1"},
		QueueGroup:  "troupe",
	})
	if err != nil {
		return fmt.Errorf("remote: export %q: %w", ex.name, n.publishErr(err))
	}
	ex.svc = svc
	for _, ep := range eps {
		err := svc.AddEndpoint(ep.method, micro.HandlerFunc(func(r micro.Request) { n.serve(ex, ep, r) }),
			micro.WithEndpointSubject(n.cfg.prefix+"."+ex.name+"."+ep.method),
			micro.WithEndpointMetadata(map[string]string{"request": ep.reqType, "reply": ep.repType}))
		if err != nil {
			return fmt.Errorf("remote: export %q: %w", ep.label, n.publishErr(err))
		}
	}
	ctx, cancel := context.WithTimeout(n.halted, n.cfg.callTimeout)
	defer cancel()
	switch err := n.flush(ctx); {
	case err == nil:
		return nil
	case n.halted.Err() != nil:
		return fmt.Errorf("%w: export %q", ErrClosed, ex.name)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: export %q: the server did not confirm it", ErrTimeout, ex.name)
	default:
		return fmt.Errorf("remote: export %q: %w", ex.name, n.publishErr(err))
	}
}

// chainIDLocked returns the chain id of the actor with this actor.Ref.ID
// for one more export of it (released by releaseChainLocked), making it
// on first use: the map is copied with the new id and swapped in
// (O(actors exported now), once per actor while exported), so that
// readers take no lock. n.mu is held.
func (n *Node) chainIDLocked(actorID uint64) string {
	n.chainRefs[actorID]++
	var old map[uint64]string
	if m := n.chainIDs.Load(); m != nil {
		old = *m
	}
	if id, ok := old[actorID]; ok {
		return id
	}
	n.chainSeq++
	id := n.claimMark + "/" + strconv.Itoa(n.chainSeq) // the process's, as its claims
	m := make(map[uint64]string, len(old)+1)
	maps.Copy(m, old)
	m[actorID] = id
	n.chainIDs.Store(&m)
	return id
}

// releaseChainLocked releases what chainIDLocked took for one export: the
// actor's last export gone, its chain id is forgotten (the map copied
// without it), so that a node exporting short-lived actors one after
// another keeps only those exported now. n.mu is held.
func (n *Node) releaseChainLocked(actorID uint64) {
	if n.chainRefs[actorID]--; n.chainRefs[actorID] > 0 {
		return
	}
	delete(n.chainRefs, actorID)
	old := *n.chainIDs.Load()
	m := make(map[uint64]string, len(old))
	maps.Copy(m, old)
	delete(m, actorID)
	n.chainIDs.Store(&m)
}

// callerChain is the wait-for chain a request made with ctx carries: the
// one ctx came with over the wire, plus the actor whose handler made ctx
// if this node exports it (so that A, called locally, → B (remote) → A
// is caught too).
func (n *Node) callerChain(ctx context.Context) string {
	chain := chainOf(ctx)
	id, ok := actor.CallerID(ctx)
	if !ok {
		return chain
	}
	var cid string
	if m := n.chainIDs.Load(); m != nil {
		cid = (*m)[id]
	}
	if cid == "" || chainHas(chain, cid) {
		return chain
	}
	return appendChain(chain, cid)
}

// watch unexports ex when its actor stops, so that other nodes of its
// queue group get its calls; it exits when ex is withdrawn otherwise
// (Unexport, a lost claim) or the node stops.
func (n *Node) watch(ex *export, done <-chan struct{}) {
	defer n.served.Done()
	select {
	case <-done:
		n.unexport(ex)
	case <-ex.gone:
	case <-n.quit:
	}
}

// Unexport stops serving name: the node leaves its queue group at once
// (calls already delivered are answered). It reports whether name was
// exported. Blocks for a round trip to the server, bounded by the node's
// call timeout (and by its stop once forced).
func (n *Node) Unexport(name string) bool {
	if n == nil {
		return false
	}
	n.mu.Lock()
	ex := n.exports[name]
	n.mu.Unlock()
	return ex != nil && n.unexport(ex)
}

// unexport leaves ex's queue group, then forgets it: once a name is gone
// from Exports, the server has dropped its subscriptions.
func (n *Node) unexport(ex *export) bool {
	n.mu.Lock()
	live := n.exports[ex.name] == ex
	n.mu.Unlock()
	if !live {
		return false
	}
	_ = ex.svc.Stop() // idempotent: a concurrent unexport or stop is harmless
	// Bounded by the call timeout, and cut short by a forced stop: the
	// watcher that withdraws an export whose actor stopped is one the stop
	// waits for (nc.Flush waited 10 s with the server gone).
	ctx, cancel := n.releaseCtx()
	_ = n.flush(ctx)
	cancel()
	n.mu.Lock()
	gone := n.exports[ex.name] == ex
	if gone {
		delete(n.exports, ex.name)
		close(ex.gone)
		n.releaseChainLocked(ex.actorID)
	}
	n.mu.Unlock()
	if gone && ex.release != nil {
		ex.release()
	}
	return gone
}

// Exports lists the names the node serves, in no order. O(exports).
func (n *Node) Exports() []string {
	if n == nil {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	out := make([]string, 0, len(n.exports))
	for name := range n.exports {
		out = append(out, name)
	}
	return out
}
