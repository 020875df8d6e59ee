package remote

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/engine"
)

// ServeStream makes stream method s an Entry for Export: a remote reader
// opens it with BindStream(...).Open and reads its items as a local reader
// would. It does not block; the Entry is immutable.
func ServeStream[S, Q, E any](s *actor.Stream[S, Q, E]) Entry[S] { return servedStream[S, Q, E]{s} }

type servedStream[S, Q, E any] struct{ s *actor.Stream[S, Q, E] }

func (ss servedStream[S, Q, E]) endpoint(ref *actor.Ref[S]) *endpoint {
	s := ss.s
	if s == nil {
		return &endpoint{err: ErrNilRef}
	}
	return &endpoint{
		method:  s.Name(),
		reqType: reflect.TypeFor[Q]().String(),
		repType: "stream of " + reflect.TypeFor[E]().String(),
		stream: func(c Codec, data []byte) (func(context.Context, []actor.FollowOption) (streamReader, error), error) {
			var q Q
			if err := unmarshal(c, data, &q); err != nil {
				return nil, err
			}
			return func(ctx context.Context, opts []actor.FollowOption) (streamReader, error) {
				f, err := s.Open(ctx, ref, q, opts...)
				if err != nil {
					return nil, err
				}
				return follower[E]{f}, nil
			}, nil
		},
		follow: func(ctx context.Context, id uint64, opts []actor.FollowOption) (streamReader, error) {
			f, err := s.Follow(ctx, ref, id, opts...)
			if err != nil {
				return nil, err
			}
			return follower[E]{f}, nil
		},
	}
}

// streamReader is a local reader with its item type erased.
type streamReader interface {
	id() uint64
	close()
	// state is where the reader stands in its stream: the sequence
	// number of its next item, that of the stream's next item, and
	// whether the stream has ended (see actor.FollowState).
	state() (next, tail uint64, ended bool)
	// pump encodes each item and hands it to emit until the stream ends
	// or emit returns false; it returns the end (nil: a clean end).
	pump(c Codec, emit func(seq uint64, data []byte) bool) error
}

type follower[E any] struct{ f *actor.Follow[E] }

func (r follower[E]) id() uint64 { return r.f.ID() }
func (r follower[E]) close()     { _ = r.f.Close() }

func (r follower[E]) state() (next, tail uint64, ended bool) {
	return actor.FollowState(engine.Seal{}, r.f)
}

func (r follower[E]) pump(c Codec, emit func(seq uint64, data []byte) bool) error {
	for it, err := range r.f.All() {
		if err != nil {
			return err
		}
		data, err := marshal(c, it.V)
		if err != nil {
			return &CodedError{Code: "encode", Err: err}
		}
		if !emit(it.Seq, data) {
			return nil
		}
	}
	return nil
}

// openStream opens a stream for a request that passed serve's checks; the
// stream then runs on two goroutines of the node's: its pump (the local
// reader) and its keeper (resends, heartbeats, the reader's silence). The
// open, and it alone, is bounded by deadline: the caller's, clamped by the
// node's maximum (clamped: the maximum is the shorter).
func (n *Node) openStream(ex *export, ep *endpoint, codec Codec, data []byte, reply, chain string, h map[string][]string, r micro.Request,
	deadline time.Time, clamped bool) {
	open, err := ep.stream(codec, data)
	if err != nil {
		n.reject(r, ex, ep, ReasonMalformed, CodeBadRequest, err.Error())
		return
	}
	pos, err := positionOf(first(h, hdrSince), first(h, hdrRecent))
	if err != nil {
		n.reject(r, ex, ep, ReasonMalformed, CodeBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithCancel(n.base)
	ctx = context.WithValue(ctx, chainKey{}, appendChain(chain, ex.chainID))
	if !n.track(r, ex, ep, reply, cancelFunc(cancel), &n.streamWG) {
		return
	}
	go n.runStream(ctx, cancel, reply, ex, ep, codec, n.openBy(open, deadline, clamped, ex.fence), pos)
}

// openBy bounds open by deadline, without bounding the stream it opens:
// the local Open gets a context that reports the deadline (so that it
// waits as long as the caller does, not the runtime's call timeout, and
// the handler's turn sees the caller's deadline, as a call's does) and is
// cancelled when it passes if Open has not returned by then, but not
// after: the reader then lives as long as the stream's context. An open
// cut short by the deadline fails with errOpenExpired, or CodeTimeout if
// the node's maximum cut it (clamped: its caller still waits). For a
// claimed name, the open's turn at the actor is gated by its claim's
// lease (fence: see gatedOpen.Admit).
func (n *Node) openBy(open func(context.Context, []actor.FollowOption) (streamReader, error), deadline time.Time, clamped bool, fence *atomic.Int64) func(context.Context, []actor.FollowOption) (streamReader, error) {
	return func(ctx context.Context, pos []actor.FollowOption) (streamReader, error) {
		octx, cancel := context.WithCancel(ctx)
		tm := time.AfterFunc(time.Until(deadline), cancel)
		oc := openCtx{octx, deadline, fence}
		var c context.Context = oc
		if fence != nil {
			c = gatedOpen{oc} // a claimed name's open: gated by its lease
		}
		r, err := open(c, pos)
		if tm.Stop() {
			return r, err // opened in time: octx lives on with the reader
		}
		if err == nil {
			r.close()
		}
		if clamped {
			return nil, fmt.Errorf("%w: stream open exceeded the node's maximum deadline of %v", actor.ErrTimeout, n.cfg.maxDeadline)
		}
		return nil, errOpenExpired
	}
}

// errOpenExpired: the caller's deadline passed before its stream opened;
// the caller has given up, so it is not answered.
var errOpenExpired = errors.New("remote: stream open expired")

// openCtx is a stream's context during its open: it reports the open's
// deadline, which openBy enforces only until the open returns. For a
// claimed name, the open is made under gatedOpen, its gate.
type openCtx struct {
	context.Context
	deadline time.Time
	fence    *atomic.Int64 // the claim's lease end (claim.until), or nil
}

// gatedOpen is a stream's context during its open for a claimed name: the
// open's gate (engine.Gate), as gatedCall is a served call's. An open
// under an exported name is not gated.
type gatedOpen struct{ openCtx }

var _ engine.Gate = gatedOpen{}

func (c openCtx) Deadline() (time.Time, bool) { return c.deadline, true }

// Admit refuses the open (errFenced: its handler does not run) if its
// name's claim's lease has run out (as gatedCall.Admit).
func (c gatedOpen) Admit(engine.Seal) error { return admit(c.fence) }

func first(h map[string][]string, k string) string {
	if v := h[k]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// runStream opens the local stream of ep, an endpoint of ex, then keeps
// the remote one.
func (n *Node) runStream(ctx context.Context, cancel context.CancelFunc, reply string, ex *export, ep *endpoint, codec Codec,
	open func(context.Context, []actor.FollowOption) (streamReader, error), pos []actor.FollowOption) {
	defer n.streamWG.Done()
	defer cancel()
	defer func() {
		n.mu.Lock()
		delete(n.serving, reply)
		n.mu.Unlock()
	}()
	r, err := open(ctx, pos)
	if err != nil {
		w := wireErrorOf(err)
		switch {
		case n.base.Err() != nil:
			// Cancelled by the node's close: as for a call (finish).
			w = wireError{Code: CodeClosed, Message: "node " + n.id + " closed"}
		case errors.Is(err, actor.ErrNoStream):
			w.Code = CodeNotFound // ended, or never was: as for a name nobody serves
		case errors.Is(err, errFenced):
			// Its turn came past the claim's lease: not run, refused as
			// serve refuses an open that arrives then.
			w = n.refuseLeaseLost(ex.name, ep.method, ep.label)
		}
		if errors.Is(err, errOpenExpired) && n.base.Err() == nil {
			n.refuse(Refusal{Reason: ReasonLate, Name: ex.name, Method: ep.method, Err: err})
			return
		}
		if ctx.Err() == nil || n.base.Err() != nil {
			n.respondErr(reply, ep, w)
		}
		return
	}
	st := &streamServer{n: n, to: reply, r: r, label: ep.label, name: ex.name, method: ep.method, fence: ex.fence, hb: n.cfg.heartbeat,
		window: n.cfg.pending() / 4, done: make(chan struct{})}
	st.cond = sync.NewCond(&st.mu)
	st.lastHeard = time.Now()
	st.seqNext, _, _ = r.state() // its position: the pump has not read yet
	n.streamsMu.Lock()
	n.streamSeq++
	st.key = "s" + strconv.FormatUint(n.streamSeq, 10)
	n.streams[st.key] = st
	n.streamsMu.Unlock()
	defer func() {
		n.streamsMu.Lock()
		delete(n.streams, st.key)
		n.streamsMu.Unlock()
	}()
	// Frame 0: the stream's id and where to acknowledge.
	payload := binary.AppendUvarint(nil, r.id())
	st.send(frameOpen, append(payload, n.inbox+st.key...))
	if n.state.Load() != running {
		// The node began to stop while the stream opened: endStreams may
		// have listed the streams before this one registered. It is kept
		// as the others are, for its end to be acknowledged.
		st.end(ErrClosed)
	}
	pumped := make(chan struct{})
	go func() {
		defer close(pumped)
		st.end(r.pump(codec, st.emit))
	}()
	st.keep(ctx)
	st.close()
	<-pumped
}

// onStreamControl routes a reader's message to its stream.
func (n *Node) onStreamControl(key string, data []byte) {
	if f := n.cfg.dropControl; f != nil && f(data) {
		return
	}
	n.streamsMu.Lock()
	st := n.streams[key]
	n.streamsMu.Unlock()
	if st != nil {
		st.control(data)
	}
}

// endStreams ends every served stream with ErrClosed (the node stops).
// Each stays while its keeper runs: until its reader acknowledges the end
// (one that missed it is told by the next heartbeat and asks for it
// again, as for any lost frame), goes silent, or the stop cancels n.base
// (see stop).
func (n *Node) endStreams() {
	n.streamsMu.Lock()
	all := make([]*streamServer, 0, len(n.streams))
	for _, st := range n.streams {
		all = append(all, st)
	}
	n.streamsMu.Unlock()
	for _, st := range all {
		st.end(ErrClosed)
	}
}

// onFollow attaches a reader to a running stream of this node, on a
// request sent to its follow subject (see StreamBinding.Follow). The same
// checks as an open run first: size, deadline, authorization; then the
// stream runs as an opened one does.
func (n *Node) onFollow(m *nats.Msg) {
	reply, h := m.Reply, m.Header
	if reply == "" {
		return
	}
	name, method, _ := strings.Cut(h.Get(hdrExport), ".")
	n.mu.Lock()
	ex := n.exports[name]
	n.mu.Unlock()
	var ep *endpoint
	if ex != nil {
		ep = ex.eps[method]
	}
	if ep == nil || ep.follow == nil {
		n.respondErr(reply, &endpoint{label: h.Get(hdrExport)}, wireError{Code: CodeNotFound, Message: "no stream " + h.Get(hdrExport) + " here"})
		return
	}
	refuse := func(reason, code, msg string) {
		n.refuse(Refusal{Reason: reason, Name: name, Method: method, Err: &Error{Code: code, Message: msg, Method: ep.label, Node: n.id}})
		n.respondErr(reply, ep, wireError{Code: code, Message: msg})
	}
	if leaseOutAt(ex.fence, time.Now()) { // as serve
		n.respondErr(reply, ep, n.refuseLeaseLost(name, method, ep.label))
		return
	}
	if len(m.Data) > n.cfg.maxMessage {
		refuse(ReasonTooLarge, CodeTooLarge, "follow request over the size limit")
		return
	}
	if t, ok := decodeTimeout(h.Get(hdrTimeout)); ok && t <= 0 {
		n.refuse(Refusal{Reason: ReasonExpired, Name: name, Method: method})
		return
	}
	if err := n.authorized(name, method, h); err != nil {
		refuse(ReasonUnauthorized, CodeUnauthorized, err.Error())
		return
	}
	codec := n.codec(h.Get(hdrCodec))
	id, err := strconv.ParseUint(h.Get(hdrStreamID), 10, 64)
	if codec == nil || err != nil {
		refuse(ReasonMalformed, CodeBadRequest, "bad codec or stream id")
		return
	}
	pos, err := positionOf(h.Get(hdrSince), h.Get(hdrRecent))
	if err != nil {
		refuse(ReasonMalformed, CodeBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithCancel(n.base)
	n.mu.Lock()
	if n.state.Load() != running {
		n.mu.Unlock()
		cancel()
		refuse(ReasonClosing, CodeClosed, "node "+n.id+" is closing")
		return
	}
	if n.early.takeLocked(reply) { // its reader gave up already: see cancel_early.go
		n.mu.Unlock()
		cancel()
		n.refuse(Refusal{Reason: ReasonCancelled, Name: name, Method: method})
		return
	}
	n.serving[reply] = cancelFunc(cancel)
	n.streamWG.Add(1)
	n.mu.Unlock()
	open := func(ctx context.Context, pos []actor.FollowOption) (streamReader, error) {
		return ep.follow(ctx, id, pos)
	}
	go n.runStream(ctx, cancel, reply, ex, ep, codec, open, pos)
}
