package remote

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/troupe-go/troupe/actor"
)

// Follow is a remote reader of a stream, made by StreamBinding.Open: its
// items arrive in sequence order, each once, as for a local reader. All
// and Collected are for one goroutine at a time (another gets
// ErrFollowBusy); ID and Close are safe from any goroutine. A Follow costs
// one NATS subscription and no goroutine of its own. A nil or zero Follow
// (not made by Open or Follow) reads and closes as actor.ErrNilStream.
type Follow[E any] struct {
	n     *Node
	label string
	codec Codec
	ctx   context.Context
	inbox string
	sub   *nats.Subscription
	id    uint64
	ctrl  string // the serving node's control subject
	// timeout, if positive, bounds each wait for an item (actor.ReadTimeout).
	timeout time.Duration

	busy atomic.Bool
	// Touched by the reading goroutine only.
	next     uint64 // the next frame number expected
	received int    // frames since the last ack
	recvSize int    // their bytes
	ackBytes int    // ack once recvSize reaches it: a quarter of the window's bytes
	gapAt    uint64 // the frame a gap was last reported at
	gapSent  time.Time
	heard    time.Time // when we last acked
	lastMsg  time.Time // when we last heard from the serving node
	rctx     context.Context
	rcancel  context.CancelFunc
	// final is how the reader ended (io.EOF: a clean end), nil while it
	// has not: what a read after the end returns (see readUntil).
	final   error
	seqNext uint64 // the sequence number past the last item read (0 before the first)
	// Collected's question to the serving node (ctrlMark) and its answer
	// (frameMark).
	tokens     uint64    // the last token used
	markTok    uint64    // the token of the question awaiting its answer, 0 if none
	markSent   time.Time // when it was last asked
	markFrames uint64    // the answer: the frames sent before it (read them all),
	markNeed   uint64    // the sequence number past the last item to read (0: none past those frames),
	markEnd    bool      // and whether the stream has ended (read to its end)

	acked atomic.Uint64 // the next frame expected, for the keepalive

	mu     sync.Mutex // guards closed, lapsed and alive
	closed bool
	lapsed error       // why the keepalive detached the reader (its ctx's end, its node's close), if it did
	alive  *time.Timer // acks every heartbeat while the reader is open
}

// keepalive tells the serving node every heartbeat that this reader
// lives, also while its owner does not read (a slow loop body): only a
// dead or disconnected reader is dropped, never a slow one (which the
// window slows down instead).
func (f *Follow[E]) keepalive() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	if f.ctx.Err() != nil || f.n.open() != nil { // its ctx ended, or its node closes, while nobody read it
		f.closed = true
		if f.lapsed = f.n.open(); f.ctx.Err() != nil {
			f.lapsed = ctxErr(f.ctx, f.label)
		}
		f.detach()
		return
	}
	kind := byte(ctrlAck)
	if f.pending() { // our owner pauses: no heartbeats, they would pile up
		kind = ctrlPaused
	}
	_ = f.n.nc.Publish(f.ctrl, binary.AppendUvarint([]byte{kind}, f.acked.Load()))
	f.alive.Reset(f.n.cfg.heartbeat)
}

// lapse detaches the reader for err (its node closes): as Close, but an
// All in progress, and later reads, end with err.
func (f *Follow[E]) lapse(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return
	}
	f.closed, f.lapsed = true, err
	if f.alive != nil {
		f.alive.Stop()
	}
	f.detach()
}

// detach tells the serving node that the reader has gone (it releases its
// side at once) and drops the reader's subscription and its registration
// with the node (addReader): once, by whoever closed the reader
// (keepalive, lapse, Close).
func (f *Follow[E]) detach() {
	_ = f.n.nc.Publish(f.ctrl, []byte{ctrlClose})
	_ = f.sub.Unsubscribe()
	f.n.dropReader(f)
}

// addReader registers an open reader for the stop to detach; false if
// the node no longer runs (the stop may have detached the others).
func (n *Node) addReader(key any, lapse func(error)) bool {
	n.readersMu.Lock()
	defer n.readersMu.Unlock()
	if n.open() != nil {
		return false
	}
	if n.readers == nil {
		n.readers = map[any]func(error){}
	}
	n.readers[key] = lapse
	return true
}

func (n *Node) dropReader(key any) {
	n.readersMu.Lock()
	delete(n.readers, key)
	n.readersMu.Unlock()
}

// closeReaders detaches every open reader with ErrClosed (the node
// stops), telling each one's serving node, which would otherwise keep
// its side for three heartbeats and report it as gone silent.
func (n *Node) closeReaders() {
	n.readersMu.Lock()
	all := make([]func(error), 0, len(n.readers))
	for _, lapse := range n.readers {
		all = append(all, lapse)
	}
	n.readersMu.Unlock()
	for _, lapse := range all {
		lapse(fmt.Errorf("%w: node closed", ErrClosed))
	}
}

// ID is the stream's id on its serving node. It does not block.
func (f *Follow[E]) ID() uint64 {
	if f == nil {
		return 0
	}
	return f.id
}

// Ref names the stream for StreamBinding.Follow on any node: its serving
// node and its id there. It does not block.
func (f *Follow[E]) Ref() string {
	if f == nil || f.ctrl == "" {
		return ""
	}
	return streamRef(f.ctrl, f.id)
}

// Close detaches the reader: the serving node is told, an All in progress
// ends with ErrStreamClosed, and later reads get ErrStreamClosed (a
// reader that had ended keeps its end, as a local one: a later All yields
// nothing after a clean end, else the end's error again).
// Idempotent, safe from any goroutine. It returns actor.ErrNilStream for a
// nil or zero Follow, else nil.
func (f *Follow[E]) Close() error {
	if f == nil || f.n == nil {
		return actor.ErrNilStream
	}
	f.mu.Lock()
	was := f.closed
	f.closed = true
	if f.alive != nil {
		f.alive.Stop()
	}
	f.mu.Unlock()
	if !was {
		f.detach()
	}
	return nil
}

func (f *Follow[E]) isClosed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closed
}

// closedBy returns why the reader was detached: ErrStreamClosed for a
// Close, its ctx's end or ErrClosed (its node closes) for the keepalive's.
func (f *Follow[E]) closedBy() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lapsed != nil {
		return f.lapsed
	}
	return ErrStreamClosed
}

// All iterates over the stream: each item as (item, nil), waiting for new
// ones until the stream ends. A clean end ends the loop; any other end is
// one last pair (zero item, err): the handler's error ([*Error]) or
// [*PanicError], ErrStopped, a [*actor.TruncatedError] (resume with
// actor.Since(err.Oldest)), ErrTimeout (actor.ReadTimeout: no item came
// for that long; heartbeats do not count, nor the time the loop's body
// takes), ErrTooLarge (an item over the serving node's
// WithMaxMessage, the server's maximum payload or a stream's window of
// 16 MiB: the stream ends before it), ErrClosed (the serving node closed, or this reader's node did:
// its serving node is told), ErrStreamLost
// (it went silent), ErrNotFound (its serving node's claim on the name ran
// out: open it again, against the name's owner), ctx's end, or ErrStreamClosed (Close). A break out of
// the loop closes the reader. Blocks while it waits. Cost per item: the
// codec's decoding; an acknowledgement per 64 items or 4 MiB.
func (f *Follow[E]) All() iter.Seq2[actor.Item[E], error] {
	return func(yield func(actor.Item[E], error) bool) {
		var zero actor.Item[E]
		if f == nil || f.n == nil {
			yield(zero, actor.ErrNilStream)
			return
		}
		if !f.busy.CompareAndSwap(false, true) {
			yield(zero, ErrFollowBusy)
			return
		}
		defer f.busy.Store(false)
		for {
			it, err, ok := f.read()
			if !ok {
				if err != nil {
					yield(zero, err)
				}
				return
			}
			if err != nil {
				yield(zero, err)
				return
			}
			if !yield(it, nil) {
				f.finish(ErrStreamClosed)
				return
			}
		}
	}
}

// Collected returns what the stream holds now from the reader's position
// on, without waiting for new items, and moves the reader past it
// (harp's stream), as a local reader's Collected: every item the serving
// node's stream held when it got the question (items that came since may
// be included too), in sequence order, each once; a later Collected
// returns only newer ones. err is nil while the stream is open; once it
// has ended and everything has been returned, io.EOF for a clean end or
// the stream's error, and the reader is closed (later calls return the
// same). Errors as for All (errors.Is works as there; a nil or zero
// Follow's is actor.ErrNilStream), and ErrTimeout if the serving node
// does not answer within the node's call timeout (WithCallTimeout): the
// reader is then closed. A serving node that closes meanwhile ends it
// with ErrClosed, one that vanishes with ErrStreamLost. The items
// already read come with any error. Blocks for one round trip to the
// serving node and the reading of what it reports, bounded by ctx (the
// reader's), actor.ReadTimeout for each item it waits for, and the call
// timeout for the answer. Cost: one control message each way, and the
// items' decoding.
func (f *Follow[E]) Collected() ([]actor.Item[E], error) {
	if f == nil || f.n == nil {
		return nil, actor.ErrNilStream
	}
	if !f.busy.CompareAndSwap(false, true) {
		return nil, ErrFollowBusy
	}
	defer f.busy.Store(false)
	if f.final != nil { // ended
		return nil, f.final
	}
	var out []actor.Item[E]
	f.tokens++
	f.markTok = f.tokens
	defer func() { f.markTok = 0 }()
	f.ack(ctrlMark)
	wait := f.n.cfg.callTimeout
	until := time.Now().Add(wait)
	for f.markTok != 0 { // until the answer comes: the items that come first are ours too
		it, err, ok := f.readUntil(until, func() error {
			return fmt.Errorf("%w: the serving node of %s did not answer within %v", ErrTimeout, f.label, wait)
		})
		if !ok {
			return out, f.final
		}
		if err == nil {
			out = append(out, it)
		}
	}
	for f.markEnd || f.next < f.markFrames || f.seqNext < f.markNeed {
		it, _, ok := f.read()
		if !ok {
			return out, f.final
		}
		out = append(out, it)
	}
	if f.received > 0 { // what we read leaves the window now, not at the next read
		f.ack(ctrlAck)
	}
	return out, nil
}

// errAnswered: readUntil got the answer to Collected's question.
var errAnswered = errors.New("remote: answered")

// read returns the next item (ok), or the stream's end (ok false; err nil
// for a clean end), waiting at most the read timeout for it.
func (f *Follow[E]) read() (actor.Item[E], error, bool) {
	var until time.Time
	if f.timeout > 0 {
		until = time.Now().Add(f.timeout)
	}
	return f.readUntil(until, func() error {
		return fmt.Errorf("%w: no item for %v (%s)", ErrTimeout, f.timeout, f.label)
	})
}

// readUntil is read, its wait bounded by until (none if zero), past which
// the reader ends with expired's error. It returns (zero, errAnswered,
// true) too, on the answer to Collected's question (f.markTok), which it
// records.
func (f *Follow[E]) readUntil(until time.Time, expired func() error) (actor.Item[E], error, bool) {
	var zero actor.Item[E]
	if f.final != nil { // ended
		// Read again after its end, the reader gives that end again, as
		// a local one: nothing for a clean end, else its error.
		if f.final == io.EOF {
			return zero, nil, false
		}
		return zero, f.final, false
	}
	silent := f.n.cfg.silent()
	// until, when this wait ends, bounds f.rctx, which outlives a read: it
	// is kept at or before it.
	for {
		if !until.IsZero() {
			if !time.Now().Before(until) && !f.pending() && f.ctx.Err() == nil && !f.isClosed() {
				err := expired()
				f.finish(err)
				return zero, err, false
			}
			if f.rctx != nil {
				if dl, _ := f.rctx.Deadline(); dl.After(until) {
					f.rcancel()
					f.rctx = nil
				}
			}
		}
		if f.rctx == nil {
			wait := silent
			if !until.IsZero() {
				// Past until, frames wait (else the reader has ended):
				// a bound already passed would keep them from being read.
				if u := time.Until(until); u > 0 {
					wait = min(wait, u)
				}
			}
			f.rctx, f.rcancel = context.WithTimeout(f.ctx, wait)
		}
		m, err := f.sub.NextMsgWithContext(f.rctx)
		if err != nil && errors.Is(err, context.DeadlineExceeded) && f.ctx.Err() == nil && (time.Since(f.lastMsg) < silent || f.pending()) {
			// The silence bound was set long ago, and we have heard since
			// (or frames wait: the bound passed while our owner paused,
			// and NextMsgWithContext checks the bound before them); or
			// the read timeout's bound came (checked above).
			f.rcancel()
			f.rctx = nil
			continue
		}
		if err != nil {
			switch {
			case f.isClosed():
				err = f.closedBy()
			case f.ctx.Err() != nil:
				err = ctxErr(f.ctx, f.label)
			case errors.Is(err, context.DeadlineExceeded):
				err = fmt.Errorf("%w: %s silent for %v", ErrStreamLost, f.label, silent)
			default:
				err = f.n.publishErr(err)
			}
			f.finish(err)
			return zero, err, false
		}
		f.lastMsg = time.Now()
		if f.markTok != 0 && time.Since(f.markSent) >= f.n.cfg.heartbeat {
			f.ack(ctrlMark) // no answer yet: the question or the answer may be lost
		}
		kind, no, payload, ok := parseFrame(m.Data)
		if !ok {
			continue
		}
		if kind == frameMark {
			if f.answer(no, payload) {
				return zero, errAnswered, true
			}
			continue
		}
		if kind == frameBeat {
			if no > f.next {
				f.gap()
			} else {
				f.ack(ctrlAck)
			}
			continue
		}
		switch {
		case no < f.next: // a resend of what we have: say so, at most every 10 ms
			if time.Since(f.heard) > 10*time.Millisecond {
				f.ack(ctrlAck)
			}
			continue
		case no > f.next: // a frame was lost: ask for a resend
			f.gap()
			continue
		}
		f.next++
		f.received++
		f.recvSize += len(m.Data)
		switch kind {
		case frameItem:
			seq, k := binary.Uvarint(payload)
			if k <= 0 {
				err := fmt.Errorf("%w: malformed item frame", ErrCodec)
				f.finish(err)
				return zero, err, false
			}
			f.seqNext = seq + 1
			var v E
			if err := unmarshal(f.codec, payload[k:], &v); err != nil {
				err = fmt.Errorf("%w: decode item %d of %s: %w", ErrCodec, seq, f.label, err)
				f.finish(err)
				return zero, err, false
			}
			if f.received >= streamWindow/4 || f.recvSize >= f.ackBytes {
				f.ack(ctrlAck)
			}
			return actor.Item[E]{Seq: seq, V: v}, nil, true
		case frameError:
			f.ack(ctrlAck)
			var w wireError
			_ = json.Unmarshal(payload, &w)
			err := streamErrorFrom(w, f.label)
			f.finish(err)
			return zero, err, false
		case frameEnd:
			f.ack(ctrlAck)
			f.finish(nil)
			return zero, nil, false
		}
	}
}

// pending reports whether frames wait in the subscription.
func (f *Follow[E]) pending() bool {
	msgs, _, err := f.sub.Pending()
	return err == nil && msgs > 0
}

// ack tells the serving node the next frame we expect; a ctrlMark also
// asks Collected's question (f.markTok).
func (f *Follow[E]) ack(kind byte) {
	f.acked.Store(f.next)
	f.received, f.recvSize = 0, 0
	f.heard = time.Now()
	b := binary.AppendUvarint([]byte{kind}, f.next)
	if kind == ctrlMark {
		b = binary.AppendUvarint(b, f.markTok)
		f.markSent = f.heard
	}
	_ = f.n.nc.Publish(f.ctrl, b)
}

// answer records the answer (frameMark) to Collected's question if it is
// the one awaited (tok, its token), and reports whether it was: another
// is a late one, to an earlier Collected. Frames sent before it and not
// received were lost (the serving node sent them first): we ask for them.
func (f *Follow[E]) answer(tok uint64, payload []byte) bool {
	if f.markTok == 0 || tok != f.markTok {
		return false
	}
	frames, k := binary.Uvarint(payload)
	if k <= 0 {
		return false
	}
	need, k2 := binary.Uvarint(payload[k:])
	if k2 <= 0 || len(payload) != k+k2+1 {
		return false
	}
	f.markTok = 0
	f.markFrames, f.markNeed, f.markEnd = frames, need, payload[k+k2] == 1
	if frames > f.next {
		f.gap()
	}
	return true
}

// gap asks for a resend from the next frame we expect, once per gap (and
// again after a heartbeat if the resend was lost too).
func (f *Follow[E]) gap() {
	if f.gapAt == f.next && time.Since(f.gapSent) < f.n.cfg.heartbeat {
		return
	}
	f.gapAt, f.gapSent = f.next, time.Now()
	f.ack(ctrlGap)
}

// finish ends the reader by end (nil: a clean end) and closes it (see Close): the serving node
// gets a close whether or not it ended the stream — after the ack of its
// end, a second word that the end arrived, for that ack may be lost and
// the serving node would then wait for a reader that has gone.
func (f *Follow[E]) finish(end error) {
	if f.final != nil {
		return
	}
	if f.final = end; end == nil {
		f.final = io.EOF
	}
	if f.rcancel != nil {
		f.rcancel()
	}
	_ = f.Close()
}
