package remote

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/engine"
)

// StreamBinding opens a stream method of an actor exported under a name,
// typed like the method: requests Q, items E. Make one with BindStream;
// it is immutable and safe for concurrent use. A nil or zero one (not made
// by BindStream) fails every Open and Follow with ErrNilRef.
type StreamBinding[Q, E any] struct {
	b *Binding[Q, E] // subject, label, codec, headers, error
}

// BindStream returns a binding to stream method s of the actor exported as
// name (by ServeStream). Like Bind, it never fails: a bad argument makes a
// binding whose every Open returns the error. O(1).
func BindStream[S, Q, E any](n *Node, name string, s *actor.Stream[S, Q, E], opts ...BindOption) *StreamBinding[Q, E] {
	b := &Binding[Q, E]{n: n, cfg: bindConfig{codec: JSON}}
	switch {
	case !n.made():
		b.err = ErrNilNode
	case s == nil:
		b.err = ErrNilRef
	case !tokenRe.MatchString(name) || !tokenRe.MatchString(s.Name()):
		b.err = fmt.Errorf("%w: %q.%q", ErrInvalidName, name, s.Name())
	}
	if b.err != nil {
		return &StreamBinding[Q, E]{b}
	}
	for _, o := range opts {
		if o == nil {
			b.err = fmt.Errorf("%w: nil option", ErrInvalidOption)
			return &StreamBinding[Q, E]{b}
		}
		o.applyBind(&b.cfg)
	}
	if b.cfg.codec == nil || !codecNameRe.MatchString(b.cfg.codec.Name()) {
		b.err = fmt.Errorf("%w: codec", ErrInvalidOption)
	}
	b.subj = n.cfg.prefix + "." + name + "." + s.Name()
	b.label = name + "." + s.Name()
	if b.err == nil && b.cfg.codec != JSON {
		b.codecHdr = []string{b.cfg.codec.Name()} // the serving node decodes and encodes with it
	}
	return &StreamBinding[Q, E]{b}
}

// Open sends req to the stream method and returns a reader of the stream it
// produces, placed by opts as a local reader is (actor.Since, actor.Recent;
// default: from the oldest item kept; actor.ReadTimeout ends it with
// ErrTimeout after a wait that long for an item). It waits until the
// serving node has opened the stream, so that a refusal — the same outcomes
// as Call: ErrNotFound, ErrStopped, ErrTimeout, ErrCallCycle,
// ErrUnauthorized, the handler's error or panic before any item, … — is
// returned here; that wait is bounded by ctx's deadline, or the node's call
// timeout if ctx has none. ctx then bounds the reader: when it ends, so
// does the reader (pass a ctx without a deadline to follow a stream for
// long). Blocks; safe for concurrent use.
func (sb *StreamBinding[Q, E]) Open(ctx context.Context, req Q, opts ...actor.FollowOption) (*Follow[E], error) {
	b, cfg, err := sb.check(ctx, opts)
	if err != nil {
		return nil, err
	}
	data, err := b.cfg.codec.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("%w: encode %s: %w", ErrCodec, b.label, err)
	}
	h := b.header(ctx)
	h[hdrStream] = []string{"open"}
	return sb.start(ctx, b.subj, data, h, cfg)
}

// Follow attaches another reader to a running remote stream, named by a
// reader's Ref — from any node (harp's rpc.job(id).follow(since)): to
// resume a stream from where a reader stopped, pass actor.Since(last seq +
// 1). It sends nothing to the actor. Outcomes as for Open, and ErrNotFound
// when the stream's node is gone or the stream has ended (an [*Error] with
// CodeNotFound), ErrBadRequest for a malformed ref. Blocks like Open; safe
// for concurrent use.
func (sb *StreamBinding[Q, E]) Follow(ctx context.Context, ref string, opts ...actor.FollowOption) (*Follow[E], error) {
	b, cfg, err := sb.check(ctx, opts)
	if err != nil {
		return nil, err
	}
	subj, id, ok := parseStreamRef(ref)
	if !ok {
		return nil, fmt.Errorf("%w: stream ref %q", ErrBadRequest, ref)
	}
	h := b.header(ctx)
	h[hdrStream] = []string{"follow"}
	h[hdrStreamID] = []string{strconv.FormatUint(id, 10)}
	h[hdrExport] = []string{b.label}
	return sb.start(ctx, subj, nil, h, cfg)
}

// check validates a call of Open or Follow.
func (sb *StreamBinding[Q, E]) check(ctx context.Context, opts []actor.FollowOption) (*Binding[Q, E], engine.Position, error) {
	var cfg engine.Position
	if sb == nil || sb.b == nil { // nil, or zero: not made by BindStream
		return nil, cfg, ErrNilRef
	}
	b := sb.b
	if b.err != nil {
		return nil, cfg, b.err
	}
	if ctx == nil {
		return nil, cfg, actor.ErrNilContext
	}
	cfg, err := actor.PositionOf(engine.Seal{}, opts...)
	if err != nil {
		return nil, cfg, fmt.Errorf("%w: %w", ErrInvalidOption, err)
	}
	if ctx.Err() != nil {
		return nil, cfg, ctxErr(ctx, b.label)
	}
	if err := b.n.open(); err != nil {
		return nil, cfg, err
	}
	return b, cfg, nil
}

// start sends an open or follow request to subj and waits for the
// stream's first frame.
func (sb *StreamBinding[Q, E]) start(ctx context.Context, subj string, data []byte, h nats.Header, cfg engine.Position) (*Follow[E], error) {
	b := sb.b
	n := b.n
	remaining := callRemaining(ctx, n.cfg.callTimeout)
	h[hdrTimeout] = []string{encodeTimeout(remaining)}
	if cfg.HasSince {
		h[hdrSince] = []string{strconv.FormatUint(cfg.Since, 10)}
	}
	if cfg.HasRecent {
		h[hdrRecent] = []string{strconv.Itoa(cfg.Recent)}
	}
	f := &Follow[E]{n: n, label: b.label, codec: b.cfg.codec, ctx: ctx, inbox: n.nc.NewInbox(),
		ackBytes: n.cfg.pending() / 16, timeout: cfg.ReadTimeout}
	var err error
	if f.sub, err = n.nc.SubscribeSync(f.inbox); err != nil {
		return nil, n.publishErr(err)
	}
	_ = f.sub.SetPendingLimits(n.cfg.pendingMsgs(), n.cfg.pending())
	if err := n.nc.PublishMsg(&nats.Msg{Subject: subj, Reply: f.inbox, Data: data, Header: h}); err != nil {
		_ = f.sub.Unsubscribe()
		return nil, n.publishErr(err)
	}
	octx, cancel := context.WithTimeout(ctx, remaining)
	defer cancel()
	for {
		m, err := f.sub.NextMsgWithContext(octx)
		if err != nil {
			_ = f.sub.Unsubscribe()
			_ = n.nc.Publish(n.cfg.prefix+"._cancel", []byte(f.inbox))
			if ctx.Err() != nil {
				return nil, ctxErr(ctx, b.label)
			}
			if errors.Is(err, context.DeadlineExceeded) {
				return nil, timeoutFor(b.label)
			}
			return nil, n.publishErr(err)
		}
		switch {
		case len(m.Data) == 0 && m.Header.Get(hdrStatus) == "503":
			_ = f.sub.Unsubscribe()
			return nil, fmt.Errorf("%w: %s", ErrNotFound, b.label)
		case m.Header.Get(micro.ErrorCodeHeader) != "":
			_ = f.sub.Unsubscribe()
			return nil, errorFrom(m, b.label)
		}
		kind, no, payload, ok := parseFrame(m.Data)
		if !ok || kind != frameOpen || no != 0 {
			continue // a resent frame 0 arrives after us, or noise
		}
		id, k := binary.Uvarint(payload)
		if k <= 0 {
			continue
		}
		f.id, f.ctrl, f.next, f.lastMsg = id, string(payload[k:]), 1, time.Now()
		f.ack(ctrlAck)
		f.mu.Lock()
		f.alive = time.AfterFunc(n.cfg.heartbeat, f.keepalive)
		f.mu.Unlock()
		if !n.addReader(f, f.lapse) { // the node began to stop meanwhile
			f.lapse(ErrClosed)
			return nil, fmt.Errorf("%w: node closed", ErrClosed)
		}
		return f, nil
	}
}
