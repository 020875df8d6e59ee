package remote

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/nats-io/nats.go"
)

// Casts are batched per binding: Cast appends the encoded request to its
// binding's batch, and the node's flusher goroutine publishes each batch
// as one NATS message (header Troupe-Batch: <count>; body: for each cast,
// its length as a uvarint, then its bytes). A lone cast is published as
// it is, without the header, as is one too large for a batch (by the
// Cast that makes it, after the batch before it). A batch over maxBatch
// bytes is published by the Cast that fills it, on the caller's
// goroutine: memory stays bounded and a sender faster than the
// connection is slowed down, not dropped.
// Publishing happens under the batch's lock, so casts from one binding
// leave — and, over one connection to one subscription, arrive — in the
// order they were made. A batch also stays within the server's maximum
// payload (headers included), so that casts that each fit it are never
// lost for having been batched together.
const (
	hdrBatch = "Troupe-Batch"
	maxBatch = 64 << 10
)

// castBatch is a binding's casts not yet published.
type castBatch struct {
	n    *Node
	subj string
	// name and method are the binding's export name and method, for the
	// refusals that report this batch's lost casts.
	name, method string
	hdr          nats.Header // the binding's headers and codec; nil for plain JSON
	// hdrRoom is the most bytes a batch's headers take on the wire (hdr
	// and Troupe-Batch): nats.go counts them against the maximum payload.
	hdrRoom int
	mu      sync.Mutex // guards what follows
	buf     []byte     // frames
	count   int
	ready   bool // on the node's ready list
}

// lost reports count casts of the batch lost with err.
func (cb *castBatch) lost(count int, err error) {
	cb.n.refuse(Refusal{Reason: ReasonCastFailed, Name: cb.name, Method: cb.method, Err: fmt.Errorf("%d casts lost: %w", count, err)})
}

// add queues one encoded cast. ErrClosed once the node's stop has begun.
func (cb *castBatch) add(data []byte) error {
	n := cb.n
	n.castMu.RLock()
	defer n.castMu.RUnlock()
	if err := n.open(); err != nil {
		return err
	}
	if alone := n.payloadLimit(cb.hdrRoom); len(data) > alone {
		return fmt.Errorf("%w: cast of %d bytes over the limit of %d", ErrTooLarge, len(data), alone)
	}
	limit := min(maxBatch, n.payloadLimit(cb.hdrRoom))
	cb.mu.Lock()
	if len(data)+binary.MaxVarintLen64 > limit {
		// Too large for a batch, not for a message: published alone, now,
		// after the casts queued before it (in order, under cb.mu).
		defer cb.mu.Unlock()
		count := cb.count
		if err := cb.flushLocked(); err != nil {
			cb.lost(count, err)
			return err
		}
		return cb.publishLocked(data)
	}
	if cb.count > 0 && len(cb.buf)+len(data)+binary.MaxVarintLen64 > limit {
		count := cb.count
		if err := cb.flushLocked(); err != nil {
			cb.mu.Unlock()
			// The batch's casts were accepted by earlier Casts: they are
			// lost, and reported as the flusher reports its losses; this
			// one was not queued, and its caller is told.
			cb.lost(count, err)
			return err
		}
	}
	defer cb.mu.Unlock()
	cb.buf = binary.AppendUvarint(cb.buf, uint64(len(data)))
	cb.buf = append(cb.buf, data...)
	cb.count++
	if !cb.ready {
		cb.ready = true
		n.readyBatch(cb)
	}
	return nil
}

// publishLocked publishes one cast alone, without a batch's frame (its
// batch is empty); cb.mu is held.
func (cb *castBatch) publishLocked(data []byte) error {
	var err error
	if cb.hdr == nil {
		err = cb.n.nc.Publish(cb.subj, data)
	} else {
		err = cb.n.nc.PublishMsg(&nats.Msg{Subject: cb.subj, Header: cb.hdr, Data: data})
	}
	if err == nil {
		cb.n.castsOut.Add(1) // not yet confirmed by the server
	}
	return cb.n.publishErr(err)
}

// flushLocked publishes the batch; cb.mu is held.
func (cb *castBatch) flushLocked() error {
	if cb.count == 0 {
		return nil
	}
	var err error
	if cb.count == 1 {
		_, k := binary.Uvarint(cb.buf)
		err = cb.publishLocked(cb.buf[k:])
	} else {
		h := make(nats.Header, len(cb.hdr)+1)
		for k, v := range cb.hdr {
			h[k] = v
		}
		h[hdrBatch] = []string{strconv.Itoa(cb.count)}
		err = cb.n.nc.PublishMsg(&nats.Msg{Subject: cb.subj, Header: h, Data: cb.buf})
		if err == nil {
			cb.n.castsOut.Add(uint64(cb.count)) // not yet confirmed by the server
		}
		err = cb.n.publishErr(err)
	}
	cb.buf, cb.count = cb.buf[:0], 0 // publish copied the bytes
	return err
}

// batchHeaderRoom is the most bytes the headers of a batch with the
// binding's headers h take on the wire, as nats.go counts them: its
// header line, each value's line, Troupe-Batch's, and the blank line.
func batchHeaderRoom(h nats.Header) int {
	size := len("NATS/1.0\r\n") + len(hdrBatch) + len(": \r\n") + 20 + len("\r\n")
	for k, vs := range h {
		for _, v := range vs {
			size += len(k) + len(v) + len(": \r\n")
		}
	}
	return size
}

// readyBatch puts cb on the ready list and wakes the flusher.
func (n *Node) readyBatch(cb *castBatch) {
	n.readyMu.Lock()
	n.readyList = append(n.readyList, cb)
	n.readyMu.Unlock()
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// flusher publishes ready batches until the node stops, then publishes
// what is left and exits. It is the node's; stop waits for it.
func (n *Node) flusher() {
	defer close(n.flusherDone)
	for {
		select {
		case <-n.kick:
			n.flushReady()
		case <-n.flusherQuit:
			n.flushReady()
			return
		}
	}
}

// flushReady publishes every ready batch; a failure has no caller, so it
// is reported.
func (n *Node) flushReady() {
	n.readyMu.Lock()
	list := n.readyList
	n.readyList = nil
	n.readyMu.Unlock()
	for _, cb := range list {
		cb.mu.Lock()
		cb.ready = false
		count := cb.count
		err := cb.flushLocked()
		cb.mu.Unlock()
		if err != nil {
			cb.lost(count, err)
		}
	}
}

// flush is nc.FlushWithContext; once the server confirms it, it has the
// casts published before it: castsSeen moves up to them — unless the
// connection changed since they were published (castsGen), whose
// disconnect handler has not run yet: flush reports them then.
func (n *Node) flush(ctx context.Context) error {
	out := n.castsOut.Load()
	err := n.nc.FlushWithContext(ctx)
	if err != nil {
		return err
	}
	if gen := n.nc.Stats().Reconnects; gen != n.castsGen.Load() {
		// The connection changed since those casts were published, and
		// its disconnect handler has not settled them yet: some may have
		// died with the old one. They are reported now, not confirmed.
		n.castsLost(gen, nats.ErrDisconnected)
		return nil
	}
	n.seenUpTo(out)
	return err
}

// confirmPublished is the stop's last word on what the node published,
// casts (once the flusher has published them all) and answers: a flush
// (bounded by releaseCtx: Shutdown's by the call timeout, a forced
// stop's by a second, and none if the connection is down) confirms the
// server has them. It flushes even with no cast to confirm, for the
// answers the stop published (a served call's ErrClosed, a stream's
// end): nats.go's Close writes what it buffered and closes the socket at
// once; closed with messages for it still unread, the socket resets the
// connection, and answers just written can be lost with it — their
// callers would wait out their deadlines
// (TestCloseAnswersUnderInboundFlood). If it fails, the casts published
// since the last confirmed flush may have been lost — nats.go drops what
// it still holds when the connection closes, while some may have reached
// the server before the connection dropped — and are reported once, with
// their count (ReasonCastFailed, wrapping ErrUnavailable, or ErrClosed if
// the connection was closed).
func (n *Node) confirmPublished() {
	var err error
	switch forced := n.forced.Err() != nil; {
	case forced && !n.nc.IsConnected() && n.castsOut.Load() == n.castsSeen.Load():
		return
	case forced && !n.nc.IsConnected():
		err = nats.ErrDisconnected
	default:
		ctx, cancel := n.releaseCtx()
		err = n.flush(ctx)
		cancel()
	}
	if err == nil {
		return
	}
	// The flusher is done: no more are added.
	n.reportUnconfirmed(n.settleCasts(), errors.Is(err, nats.ErrConnectionClosed), "the server did not confirm them", err)
}

// frames calls f with each cast of a batch body; it stops at the first
// error (f's, or a malformed frame) and returns it.
func frames(body []byte, count int, f func([]byte) error) error {
	for i := 0; i < count; i++ {
		size, k := binary.Uvarint(body)
		if k <= 0 || size > uint64(len(body)-k) {
			return fmt.Errorf("%w: batch frame %d of %d is malformed", ErrBadRequest, i+1, count)
		}
		if err := f(body[k : k+int(size)]); err != nil {
			return err
		}
		body = body[k+int(size):]
	}
	if len(body) != 0 {
		return fmt.Errorf("%w: %d bytes after the last frame of a batch", ErrBadRequest, len(body))
	}
	return nil
}

// payloadLimit is the largest body the node sends in one message that
// also carries overhead bytes (headers, a frame's own fields): its
// WithMaxMessage, and what fits the server's maximum payload.
func (n *Node) payloadLimit(overhead int) int {
	limit := n.cfg.maxMessage
	if mp := n.nc.MaxPayload(); mp > 0 {
		limit = min(limit, int(mp)-overhead)
	}
	return limit
}

// settleCasts moves castsSeen up to castsOut and returns by how much: the
// casts neither confirmed nor reported yet, which its caller reports —
// each cast is settled once.
func (n *Node) settleCasts() uint64 { return n.seenUpTo(n.castsOut.Load()) }

// seenUpTo moves castsSeen up to out (never down: a flush confirms, a
// drop or a failed stop settles) and returns by how much.
func (n *Node) seenUpTo(out uint64) uint64 {
	for {
		seen := n.castsSeen.Load()
		if seen >= out {
			return 0
		}
		if n.castsSeen.CompareAndSwap(seen, out) {
			return out - seen
		}
	}
}

// castsDropped reports, when the connection drops, the casts published
// since the server last confirmed having them: some may have reached it,
// the others died with the connection (those nats.go keeps for the
// reconnect are counted too: "may have been lost"). The casts published
// from now on go to the next connection (or this one if it is back). A
// handler run late, once the node is connected again and a flush on that
// connection has noticed the change (castsGen is its number: see flush),
// reports nothing: that flush reported what the dropped connection held,
// and the casts published since went to the live one.
func (n *Node) castsDropped(err error) {
	connected := n.nc.IsConnected() // before gen: a drop after it counts a reconnect more
	gen := n.nc.Stats().Reconnects
	if connected && gen == n.castsGen.Load() {
		return
	}
	if n.nc.IsReconnecting() {
		gen++ // a count off by failed attempts only reports more, at the next flush
	}
	if err == nil {
		err = nats.ErrDisconnected
	}
	n.castsLost(gen, err)
}

// castsLost settles and reports the casts published since the server
// last confirmed having them, those that follow being published on
// connection gen (see castsGen).
func (n *Node) castsLost(gen uint64, err error) {
	out := n.settleCasts()
	n.castsGen.Store(gen) // after: a flush meanwhile reports, never confirms
	n.reportUnconfirmed(out, n.nc.IsClosed(), "the connection dropped before the server confirmed them", err)
}

// reportUnconfirmed reports out settled casts (if any) as maybe lost,
// once: ReasonCastFailed wrapping ErrClosed if the connection is closed,
// else ErrUnavailable, and err, with why.
func (n *Node) reportUnconfirmed(out uint64, closed bool, why string, err error) {
	if out == 0 {
		return
	}
	sentinel := ErrUnavailable
	if closed {
		sentinel = ErrClosed
	}
	n.refuse(Refusal{Reason: ReasonCastFailed, Err: fmt.Errorf("%d casts may have been lost: %w: %s: %w", out, sentinel, why, err)})
}
