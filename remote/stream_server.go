package remote

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// streamServer is the serving side of one remote reader.
type streamServer struct {
	n      *Node
	to     string // the reader's inbox
	key    string // our control token: acks arrive on n.inbox + key
	r      streamReader
	label  string // "name.method"
	name   string
	method string
	// fence, for a claimed name, is its claim's lease end (claim.until):
	// no item is sent past it (emit), as serve refuses what arrives
	// then. Nil for an exported name.
	fence *atomic.Int64
	hb    time.Duration

	mu        sync.Mutex // guards what follows
	cond      *sync.Cond // window room, or closed
	base      uint64     // frame number of unacked[0]
	unacked   [][]byte
	bytes     int       // the size of unacked's frames
	window    int       // the most bytes unacked; no frame is larger (see frameLimit)
	next      uint64    // the next frame's number
	seqNext   uint64    // the sequence number of the next item sent: the last one's + 1, or the reader's position
	lastHeard time.Time // the reader's last control message
	lastSend  time.Time
	paused    bool // the reader's last word: frames wait in its subscription
	ended     bool // the end frame is queued
	closed    bool
	done      chan struct{} // closed with closed
}

// sendLocked numbers, keeps and publishes a frame. st.mu is held: frames
// leave in number order.
func (st *streamServer) sendLocked(kind byte, payload []byte) {
	b := appendFrame(make([]byte, 0, len(payload)+11), kind, st.next)
	b = append(b, payload...)
	st.next++
	st.unacked = append(st.unacked, b)
	st.bytes += len(b)
	st.lastSend = time.Now()
	_ = st.n.nc.Publish(st.to, b)
}

func (st *streamServer) send(kind byte, payload []byte) {
	st.mu.Lock()
	st.sendLocked(kind, payload)
	st.mu.Unlock()
}

// frameRoom is the most bytes a frame takes besides its payload: its kind
// and number.
const frameRoom = 1 + binary.MaxVarintLen64

// emit sends an item, waiting for room in the window; false once closed
// or ended. Past its claim's lease (fence) it sends the stream's end
// instead, CodeNotFound (the reader gets ErrNotFound and opens it again,
// against the name's owner), and reports ReasonNameLost: another node may
// own the name by then.
func (st *streamServer) emit(seq uint64, data []byte) bool {
	st.mu.Lock()
	ok, lost := st.emitLocked(seq, data)
	st.mu.Unlock()
	if lost != nil {
		st.reportLost(*lost)
	}
	return ok
}

// lostLocked ends the stream past its claim's lease: CodeNotFound, as
// serve refuses what arrives then. st.mu is held; the caller then reports
// the error it returns, the one sent (reportLost), out of the lock.
func (st *streamServer) lostLocked() wireError {
	st.ended = true
	st.cond.Broadcast() // a pump waiting for room gives up
	w := st.n.leaseLost(st.name, st.label)
	st.sendLocked(frameError, st.n.errorBodyWithin(w, st.frameLimit(frameRoom)))
	return w
}

// reportLost reports the end lostLocked sent, w (ReasonNameLost).
func (st *streamServer) reportLost(w wireError) {
	st.n.reportLeaseLost(st.name, st.method, w)
}

// emitLocked is emit under st.mu; lost (non-nil): it ended the stream
// past the claim's lease with that error (lostLocked).
func (st *streamServer) emitLocked(seq uint64, data []byte) (ok bool, lost *wireError) {
	for st.full(len(data)) && !st.closed && !st.ended {
		if f := st.n.cfg.windowFull; f != nil {
			f()
		}
		st.cond.Wait()
	}
	if st.closed || st.ended {
		return false, nil
	}
	if leaseOut(st.fence) { // after the wait for room, which may be long
		w := st.lostLocked()
		return false, &w
	}
	if limit := st.frameLimit(1 + 2*binary.MaxVarintLen64); len(data) > limit { // its frame: kind, number, sequence number
		// Its frame could not be published (nor resent), or not within
		// the window: the stream ends here, as a reply that large is
		// refused.
		st.ended = true
		w := wireError{Code: CodeTooLarge, Message: fmt.Sprintf("item %d of %d bytes over the limit of %d", seq, len(data), limit),
			Method: st.label, Node: st.n.id}
		st.sendLocked(frameError, st.n.errorBodyWithin(w, st.frameLimit(frameRoom)))
		return false, nil
	}
	payload := binary.AppendUvarint(make([]byte, 0, len(data)+10), seq)
	st.sendLocked(frameItem, append(payload, data...))
	st.seqNext = seq + 1
	return true, nil
}

// frameLimit is the largest payload a frame may carry besides overhead
// bytes (its kind, number, and an item's sequence number): what the node
// publishes (WithMaxMessage, the server's maximum payload) and what its
// window holds, so that no frame exceeds the window. A reader's
// subscription then holds a window and its resend, however large
// WithMaxMessage (streamPendingBytes).
func (st *streamServer) frameLimit(overhead int) int {
	return min(st.n.payloadLimit(overhead), st.window-overhead)
}

// full reports whether the window has no room for an item of size
// bytes: streamWindow frames, or st.window bytes (an item alone always
// fits: see frameLimit).
func (st *streamServer) full(size int) bool {
	return len(st.unacked) >= streamWindow || len(st.unacked) > 0 && st.bytes+size+2*frameRoom > st.window
}

// end queues the stream's end frame, once: no item follows it. The
// stream stays until its reader acknowledges it (see keep). Past its
// claim's lease, whatever the end, it is CodeNotFound (lostLocked): the
// actor that ended it may no longer own the name, so its reader opens it
// again rather than take that end for the stream's.
func (st *streamServer) end(err error) {
	st.mu.Lock()
	if !st.closed && !st.ended && leaseOut(st.fence) {
		w := st.lostLocked()
		st.mu.Unlock()
		st.reportLost(w)
		return
	}
	defer st.mu.Unlock()
	if st.closed || st.ended {
		return
	}
	st.ended = true
	st.cond.Broadcast() // a pump waiting for room gives up
	if err == nil {
		st.sendLocked(frameEnd, nil)
		return
	}
	w := streamEndError(err)
	w.Method, w.Node = st.label, st.n.id
	st.sendLocked(frameError, st.n.errorBodyWithin(w, st.frameLimit(frameRoom)))
}

// control handles a message from the reader.
func (st *streamServer) control(data []byte) {
	if len(data) == 0 {
		return
	}
	if data[0] == ctrlClose {
		st.close()
		return
	}
	no, k := binary.Uvarint(data[1:])
	if k <= 0 {
		return
	}
	var (
		tok, tail uint64
		over      bool
		mark      = data[0] == ctrlMark
	)
	if mark {
		var kt int
		if tok, kt = binary.Uvarint(data[1+k:]); kt <= 0 {
			return
		}
		// The stream's tail before our state (markLocked): the lock
		// order is the journal's, then ours, never both.
		_, tail, over = st.r.state()
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	st.lastHeard = time.Now()
	st.paused = data[0] == ctrlPaused
	if no > st.base && no <= st.next {
		for _, b := range st.unacked[:no-st.base] {
			st.bytes -= len(b)
		}
		st.unacked = st.unacked[no-st.base:]
		st.base = no
		st.cond.Broadcast()
	}
	if data[0] == ctrlGap && no == st.base {
		st.resendLocked()
	}
	if mark {
		st.markLocked(tok, tail, over)
	}
}

// markLocked answers a reader's Collected (ctrlMark, token tok) with what
// it must read to have every item the stream held when its tail was
// looked at (tail; over: the stream had ended): the frames sent so far
// (those before st.next), then, if items before tail are still to be
// sent (the pump has not reached them), up to the item tail-1; or, if
// the stream has ended or its end is queued, to the end. The answer is
// not numbered (as a heartbeat): a reader that misses it asks again.
func (st *streamServer) markLocked(tok, tail uint64, over bool) {
	var need uint64 // the sequence number past the last item the reader must read
	if st.seqNext < tail {
		need = tail
	}
	b := appendFrame(make([]byte, 0, 32), frameMark, tok)
	b = binary.AppendUvarint(b, st.next)
	b = binary.AppendUvarint(b, need)
	if over || st.ended {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	_ = st.n.nc.Publish(st.to, b)
}

func (st *streamServer) resendLocked() {
	for _, b := range st.unacked {
		_ = st.n.nc.Publish(st.to, b)
	}
	st.lastSend = time.Now()
}

// keep sends a heartbeat when nothing was sent for one, and ends the stream
// once its end is acknowledged, its reader has been silent for three heartbeats
// (reported, ReasonLate, unless only the end is unacknowledged: then no item is
// lost), or ctx ends. It resends no window: one unacknowledged for a heartbeat
// is most often a paused reader's, its frames queued in its subscription, which
// a window per heartbeat would flood past its pending limit. The heartbeat
// carries the next frame number, so a reader that did lose frames answers it
// with a gap, and control resends. Only frame 0 goes again with the heartbeat
// while unacknowledged: a reader without it does not know where to report a
// gap. No heartbeat goes to a reader that says it pauses (ctrlPaused): its
// subscription would fill with them.
func (st *streamServer) keep(ctx context.Context) {
	t := time.NewTicker(st.hb / 4)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if st.n.base.Err() != nil {
				st.end(ErrClosed)
			}
			return
		case <-st.done:
			return
		case <-t.C:
		}
		now := time.Now()
		st.mu.Lock()
		switch {
		case st.ended && len(st.unacked) == 0:
			st.mu.Unlock()
			return
		case now.Sub(st.lastHeard) > st.n.cfg.silent():
			// Only the end unacknowledged: every item was, and nothing is
			// lost whether the reader got the end and its ack was lost,
			// or it vanished (one that lives and lacks the end asks for
			// it, or ends ErrStreamLost).
			lost := !st.ended || len(st.unacked) > 1
			st.mu.Unlock()
			if lost {
				st.n.refuse(Refusal{Reason: ReasonLate, Name: st.name, Method: st.method, Err: errors.New("stream reader went silent")})
			}
			return
		case now.Sub(st.lastSend) > st.hb && !st.paused:
			if st.base == 0 && len(st.unacked) > 0 {
				_ = st.n.nc.Publish(st.to, st.unacked[0])
			}
			_ = st.n.nc.Publish(st.to, binary.AppendUvarint([]byte{frameBeat}, st.next))
			st.lastSend = now
		}
		st.mu.Unlock()
	}
}

// close stops the stream: the pump's reader is detached.
func (st *streamServer) close() {
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		return
	}
	st.closed = true
	close(st.done)
	st.cond.Broadcast()
	st.mu.Unlock()
	st.r.close()
}
