package remote

import (
	"context"
	"errors"
	"fmt"
	goruntime "runtime"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"
)

// finishSpins is how many times serve yields, waiting for a call it has
// just queued, before it hands the wait to a goroutine: a fast handler is
// answered from the subscription's goroutine, saving a goroutine and a
// wake-up (the core's turn does the same for the caller's next call).
const finishSpins = 64

// serve handles one request or cast for ep, on the endpoint's
// subscription goroutine. Everything that can refuse it runs before the
// body is decoded, cheapest first: a claimed name's lease (leaseOutAt), size,
// deadline, authorization, cycle, codec. A call is then queued at the actor, and its outcome awaited on a
// goroutine of its own, so one slow actor never holds up the subscription.
func (n *Node) serve(ex *export, ep *endpoint, r micro.Request) {
	arrived := time.Now()
	data, reply := r.Data(), r.Reply()
	if reply != "" && n.state.Load() != running {
		// Closing: the requests its subscription still held come here
		// before the connection closes (settle), and are refused at once,
		// neither authorized nor decoded. track checks again.
		n.reject(r, ex, ep, ReasonClosing, CodeClosed, "node "+n.id+" is closing")
		return
	}
	if leaseOutAt(ex.fence, arrived) {
		// The claim's lease ran out unrefreshed: another node may own
		// the name now. Refused as a name nobody serves (the caller
		// looks again), not run here.
		n.reject(r, ex, ep, ReasonNameLost, CodeNotFound, n.leaseRanOut(ex.name))
		return
	}
	h := nats.Header(r.Headers())
	// A batch of casts is held to the limit cast by cast (below): the
	// sender batches up to its own limit, which may be larger.
	if len(data) > n.cfg.maxMessage && (reply != "" || h.Get(hdrBatch) == "") {
		n.reject(r, ex, ep, ReasonTooLarge, CodeTooLarge,
			fmt.Sprintf("request of %d bytes over the limit of %d", len(data), n.cfg.maxMessage))
		return
	}
	var d time.Duration
	var clamped bool // the caller waits longer than the node grants
	if reply != "" {
		t, ok := decodeTimeout(h.Get(hdrTimeout))
		if !ok {
			t = n.cfg.callTimeout
		}
		if t <= 0 {
			// The caller has given up already: no reply, nothing decoded.
			n.refuse(Refusal{Reason: ReasonExpired, Name: ex.name, Method: ep.method})
			return
		}
		d = min(t, n.cfg.maxDeadline)
		clamped = t > d
	}
	if err := n.authorized(ex.name, ep.method, h); err != nil {
		n.reject(r, ex, ep, ReasonUnauthorized, CodeUnauthorized, err.Error())
		return
	}
	chain := h.Get(hdrChain)
	if reply != "" && chainHas(chain, ex.chainID) {
		n.reject(r, ex, ep, ReasonCycle, CodeCycle, "call cycle: "+chain+" → "+ex.chainID)
		return
	}
	codec := n.codec(h.Get(hdrCodec))
	if codec == nil {
		n.reject(r, ex, ep, ReasonMalformed, CodeBadRequest, "unknown codec "+h.Get(hdrCodec))
		return
	}
	if ep.stream != nil {
		if reply == "" {
			n.refuse(Refusal{Reason: ReasonMalformed, Name: ex.name, Method: ep.method,
				Err: fmt.Errorf("%w: a stream opened without a reply subject", ErrBadRequest)})
			return
		}
		n.openStream(ex, ep, codec, data, reply, chain, h, r, arrived.Add(d), clamped)
		return
	}
	if reply == "" {
		count := 1
		if b := h.Get(hdrBatch); b != "" {
			c, err := strconv.Atoi(b)
			if err != nil || c < 1 {
				n.refuse(Refusal{Reason: ReasonMalformed, Name: ex.name, Method: ep.method,
					Err: fmt.Errorf("%w: batch count %q", ErrBadRequest, b)})
				return
			}
			count = c
		}
		if count == 1 && h.Get(hdrBatch) == "" {
			n.serveCast(ex, ep, codec, data)
			return
		}
		serve := func(d []byte) error {
			if len(d) > n.cfg.maxMessage {
				n.reject(r, ex, ep, ReasonTooLarge, CodeTooLarge,
					fmt.Sprintf("request of %d bytes over the limit of %d", len(d), n.cfg.maxMessage))
				return nil
			}
			n.serveCast(ex, ep, codec, d)
			return nil
		}
		if err := frames(data, count, serve); err != nil {
			n.refuse(Refusal{Reason: ReasonMalformed, Name: ex.name, Method: ep.method, Err: err})
		}
		return
	}
	req, err := ep.decode(codec, data)
	if err != nil {
		n.reject(r, ex, ep, ReasonMalformed, CodeBadRequest, err.Error())
		return
	}
	// Not derived from n.base: a child of a shared cancelCtx costs a map
	// insert and delete under its lock per call. Close cancels served
	// calls through n.serving instead.
	ctx := newCallCtx(arrived.Add(d), appendChain(chain, ex.chainID), ex.fence)
	if !n.track(r, ex, ep, reply, ctx, &n.served) {
		return
	}
	// Queued here, on the subscription's goroutine: calls reach the actor
	// in the order they arrived. Only the wait for the outcome moves to a
	// goroutine of its own.
	var qctx context.Context = ctx
	if ex.fence != nil {
		qctx = gatedCall{ctx} // a claimed name's call: gated by its lease
	}
	q := ep.ask(qctx, req)
	done := q.done()
	for range finishSpins {
		select {
		case <-done:
			n.finish(ctx, reply, clamped, ex, ep, codec, q)
			return
		default:
			goruntime.Gosched()
		}
	}
	go n.finish(ctx, reply, clamped, ex, ep, codec, q)
}

// finish runs a served call and answers it, unless its caller has given up
// (the reply would be late: discarded and reported). A call cut short by
// the node's maximum deadline (clamped) is answered ErrTimeout; one whose
// turn came after its claim's lease ran out (errFenced: it did not run) is
// refused as serve refuses a call arriving then.
func (n *Node) finish(ctx *callCtx, reply string, clamped bool, ex *export, ep *endpoint, codec Codec, q queued) {
	defer n.served.Done()
	defer ctx.cancel()
	defer n.untrack(reply) // after the answer: the caller does not wait for it
	v, err := n.await(ctx, q, ep)
	switch {
	case n.base.Err() != nil:
		// Closed under it: tell the caller now rather than at its deadline.
		n.respondErr(reply, ep, wireError{Code: CodeClosed, Message: "node " + n.id + " closed"})
		return
	case errors.Is(err, errFenced):
		// Not run: as for a call that arrives past the lease (serve).
		// Answered even if the caller's deadline has just passed: it
		// discards a late answer.
		n.respondErr(reply, ep, n.refuseLeaseLost(ex.name, ep.method, ep.label))
		return
	case clamped && errors.Is(ctx.Err(), context.DeadlineExceeded):
		// The node's maximum passed, not the caller's deadline: the
		// caller still waits, so it is told.
		n.respondErr(reply, ep, wireError{Code: CodeTimeout,
			Message: fmt.Sprintf("call exceeded the node's maximum deadline of %v", n.cfg.maxDeadline)})
		return
	case ctx.Err() != nil:
		n.refuse(Refusal{Reason: ReasonLate, Name: ex.name, Method: ep.method, Err: err})
		return
	case err != nil:
		n.respondErr(reply, ep, wireErrorOf(err))
		return
	}
	data, err := marshal(codec, v)
	switch {
	case err != nil:
		n.respondErr(reply, ep, wireError{Code: CodeHandler, Message: "encode reply: " + err.Error()})
	case len(data) > n.cfg.maxMessage:
		n.respondErr(reply, ep, wireError{Code: CodeTooLarge,
			Message: fmt.Sprintf("reply of %d bytes over the limit of %d", len(data), n.cfg.maxMessage)})
	default:
		if err := n.nc.Publish(reply, data); errors.Is(err, nats.ErrMaxPayload) {
			// Within our cap, over the server's: the caller still waits.
			n.respondErr(reply, ep, wireError{Code: CodeTooLarge,
				Message: fmt.Sprintf("reply of %d bytes over the server's maximum payload of %d", len(data), n.nc.MaxPayload())})
		}
	}
}

// await waits for a served call's outcome, or for its ctx to end: the
// call's future does not watch ctx (actor.Method.AskUnwatched). A call
// already done is read without asking ctx for its Done channel (which
// allocates).
func (n *Node) await(ctx context.Context, q queued, ep *endpoint) (any, error) {
	done := q.done()
	select {
	case <-done:
		return q.outcome()
	default:
	}
	select {
	case <-done:
		return q.outcome()
	case <-ctx.Done():
		return nil, ctxErr(ctx, ep.label)
	}
}

// authorized runs the node's Authorizer, if any, on a request: nil lets
// it through. One that panics refuses it, as one that returns an error
// does: it runs on a subscription's goroutine, where a panic would end
// the process.
func (n *Node) authorized(name, method string, h nats.Header) error {
	a := n.cfg.authorize
	if a == nil {
		return nil
	}
	return unpanicked(nil, "authorizer", func() error { return a(name, method, h) })
}

// untrack forgets a served call that track recorded.
func (n *Node) untrack(reply string) {
	n.mu.Lock()
	delete(n.serving, reply)
	n.mu.Unlock()
}

// serveCast decodes a cast and queues it; a failure has no caller, so it
// is reported. For a claimed name, the cast's turn at the actor is gated
// by its claim's lease (castGate).
func (n *Node) serveCast(ex *export, ep *endpoint, codec Codec, data []byte) {
	decErr, err := ep.cast(codec, data, ep.gate)
	switch {
	case decErr != nil:
		n.refuse(Refusal{Reason: ReasonMalformed, Name: ex.name, Method: ep.method, Err: fmt.Errorf("%w: %w", ErrBadRequest, decErr)})
	case err != nil:
		n.refuse(Refusal{Reason: ReasonCastFailed, Name: ex.name, Method: ep.method, Err: err})
	}
}

// onCancel ends the served call named by the message (its reply subject):
// its caller gave up. A body that cannot be a reply subject (over
// maxRefSubject, or not a literal subject) names no call: it is ignored,
// not remembered (every node gets every cancel; earlyCancels bodies of
// the server's maximum payload would be a GiB).
func (n *Node) onCancel(m *nats.Msg) {
	if len(m.Data) == 0 || len(m.Data) > maxRefSubject || !literalSubject(string(m.Data)) {
		return
	}
	subj := string(m.Data)
	n.mu.Lock()
	c := n.serving[subj]
	if c == nil { // not here, or not yet: see cancel_early.go
		n.early.addLocked(subj)
	}
	n.mu.Unlock()
	if c != nil {
		c.cancel()
	}
}

// codec returns the codec named on the wire ("" is JSON: the node's, see
// WithCodecs), or nil.
func (n *Node) codec(name string) Codec {
	if name == "" {
		name = "json"
	}
	return n.codecs[name]
}
