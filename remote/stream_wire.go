package remote

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/troupe-go/troupe/actor"
)

// Streams across the wire.
//
// A stream is opened like a call: a request on <prefix>.<name>.<stream>
// (header Troupe-Stream: open, and Troupe-Since or Troupe-Recent), whose
// reply subject is the reader's own inbox. The serving node opens the
// stream on the actor (actor.Stream.Open) and sends numbered frames to
// that inbox:
//
//	'o' frame 0: the stream's id and the node's control subject
//	'i' an item: its sequence number and its encoded value
//	'e' the stream's end with an error (JSON, as an error reply)
//	'z' the stream's clean end
//	'h' a heartbeat, sent when nothing else was for a while: the next
//	    frame number, so that a lost tail is noticed
//
// Each frame is a kind byte, the frame number as a uvarint, then its
// payload. The reader acknowledges cumulatively ('a' + the next frame
// number it expects) on the control subject, every quarter window (of
// frames or of bytes), on each heartbeat and at once on a gap; the
// serving node keeps at most a window of unacknowledged frames (256, and
// 16 MiB: see streamPendingBytes) (flow control: a slow reader slows the
// sender down instead of losing frames), resends them from the first
// unacknowledged one when the reader reports a gap — a frame, or a
// heartbeat's number, past the one it expects: so frames lost in a
// reconnect are sent again —, and gives up on a reader silent for three
// heartbeats. A window left unacknowledged is not resent unasked (a
// paused reader, its frames waiting in its subscription, would be
// flooded past its pending limit): only frame 0 goes again with each
// heartbeat until acknowledged, for a reader without it cannot report a
// gap. Nor is a heartbeat sent to a reader whose keepalive says it has
// frames waiting unread ('p' for 'a'): each would take a place in its
// subscription, which a long pause would overflow; its next keepalive
// after it has read them, or its ack of one, asks for heartbeats again.
// 'c' on the control subject closes the stream's reader on the
// serving node; a reader sends it after its ack of the end too, so that
// either confirms the end. A reader silent for three heartbeats is
// reported as a dead letter only if frames other than the end are
// unacknowledged: items may then be lost.
//
// A reader's Collected asks what the stream holds now: 'm' + the next
// frame number it expects (an ack too) + a token. The serving node
// answers with an unnumbered 'm' frame (as a heartbeat; its number is the
// token): its next frame number, the sequence number past the last item
// the reader must still read (0: none beyond the frames sent, those
// before that number) and a flag, 1 if the stream has ended (the reader
// then reads to its end). The reader reads, acknowledging as usual, until
// it has all that; it asks again after a heartbeat without an answer,
// and gives up after the node's call timeout.
//
// A reader's Ref ("<node follow subject>#<id>") lets any node attach
// another reader to a running stream: a request on the serving node's
// follow subject (its inbox + "f") with Troupe-Stream: follow,
// Troupe-Stream-Id and Troupe-Export, answered like an open.
//
// So a remote reader gets every item, in order, exactly once while both
// nodes live — across a NATS reconnect too — with the local semantics:
// the actor's sequence numbers, Since and Recent, and ErrTruncated (a
// *actor.TruncatedError carrying the oldest sequence kept) when the
// serving node's reader fell behind the journal.
const (
	hdrStream   = "Troupe-Stream"
	hdrSince    = "Troupe-Since"
	hdrRecent   = "Troupe-Recent"
	hdrStreamID = "Troupe-Stream-Id" // follow: the stream's id on its node
	hdrExport   = "Troupe-Export"    // follow: "name.method"

	frameOpen  = 'o'
	frameItem  = 'i'
	frameError = 'e'
	frameEnd   = 'z'
	frameBeat  = 'h'
	frameMark  = 'm' // the answer to a ctrlMark: not numbered, its number is the token

	ctrlAck   = 'a'
	ctrlGap   = 'g' // an ack that also asks for a resend
	ctrlClose = 'c'
	// ctrlMark is an ack that also asks what the stream holds now (a
	// reader's Collected), with a token that the answer (frameMark)
	// carries back. A node that does not know it takes it for an ack and
	// does not answer: the reader's Collected ends with ErrTimeout.
	ctrlMark = 'm'
	// ctrlPaused is a keepalive's ack while frames wait unread in the
	// reader's subscription: the serving node sends it no heartbeat (one
	// would only take a place there) until another control message. A
	// node that does not know it takes it for an ack.
	ctrlPaused = 'p'

	// streamWindow is the most frames a serving node sends unacknowledged.
	streamWindow = 256
	// streamPendingBytes is a reader's subscription's pending limit. A
	// serving node sends at most a quarter of it unacknowledged, and no
	// larger item (an item over it ends the stream with ErrTooLarge,
	// whatever WithMaxMessage allows: see frameLimit), so that a paused
	// reader's subscription holds its window, a resend of it and the
	// heartbeats of a long pause; a reader acknowledges every quarter of
	// that.
	streamPendingBytes = 64 << 20
)

// appendFrame starts a frame: kind and number.
func appendFrame(b []byte, kind byte, no uint64) []byte {
	b = append(b, kind)
	return binary.AppendUvarint(b, no)
}

// parseFrame splits a frame; ok is false if it is malformed.
func parseFrame(b []byte) (kind byte, no uint64, payload []byte, ok bool) {
	if len(b) < 2 {
		return 0, 0, nil, false
	}
	no, k := binary.Uvarint(b[1:])
	if k <= 0 {
		return 0, 0, nil, false
	}
	return b[0], no, b[1+k:], true
}

// streamEndError is the wire form of a stream's end by err.
func streamEndError(err error) wireError {
	var te *actor.TruncatedError
	if errors.As(err, &te) {
		return wireError{Code: CodeTruncated, Message: err.Error(), Oldest: te.Oldest}
	}
	if errors.Is(err, ErrClosed) {
		return wireError{Code: CodeClosed, Message: err.Error()}
	}
	return wireErrorOf(err)
}

// streamErrorFrom decodes an 'e' frame's error.
func streamErrorFrom(w wireError, label string) error {
	if w.Method == "" {
		w.Method = label
	}
	switch w.Code {
	case CodeTruncated:
		return &actor.TruncatedError{Oldest: w.Oldest}
	case CodePanic:
		return &PanicError{Method: w.Method, Node: w.Node, Value: w.Value, Stack: w.Stack}
	}
	return &Error{Code: w.Code, Message: w.Message, Method: w.Method, Node: w.Node}
}

// actorOptions is the local form of a position read from headers.
func positionOf(since, recent string) ([]actor.FollowOption, error) {
	switch {
	case since != "" && recent != "":
		return nil, fmt.Errorf("%w: Since and Recent together", ErrBadRequest)
	case since != "":
		n, err := strconv.ParseUint(since, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: since %q", ErrBadRequest, since)
		}
		return []actor.FollowOption{actor.Since(n)}, nil
	case recent != "":
		n, err := strconv.ParseUint(recent, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: recent %q", ErrBadRequest, recent)
		}
		// Any n past the journal places the reader at its oldest item, as
		// a local Recent(n) does: one past an int is that too.
		return []actor.FollowOption{actor.Recent(int(min(n, math.MaxInt)))}, nil
	}
	return nil, nil
}

// streamRef names a stream for Follow: its node's follow subject and its id.
func streamRef(ctrl string, id uint64) string {
	i := strings.LastIndexByte(ctrl, '.')
	return ctrl[:i+1] + "f#" + strconv.FormatUint(id, 10)
}

// maxRefSubject bounds the subject of a stream ref (a node's inbox and
// ".f": a few dozen bytes): a server refuses a control line over its
// max_control_line (4 KiB by default), and nats.go then closes the
// connection for good.
const maxRefSubject = 1024

// parseStreamRef splits a stream ref; ok is false if it is malformed: its
// subject empty, over maxRefSubject, with an empty token, a wildcard, a
// space or a control character.
func parseStreamRef(ref string) (subj string, id uint64, ok bool) {
	subj, num, found := strings.Cut(ref, "#")
	if !found || subj == "" || len(subj) > maxRefSubject || !literalSubject(subj) {
		return "", 0, false
	}
	id, err := strconv.ParseUint(num, 10, 64)
	return subj, id, err == nil
}

// literalSubject reports whether subj is a subject one can publish to: no
// empty token, no wildcard, no space or control character.
func literalSubject(subj string) bool {
	if subj[0] == '.' || subj[len(subj)-1] == '.' || strings.Contains(subj, "..") {
		return false
	}
	for i := 0; i < len(subj); i++ {
		if c := subj[i]; c <= ' ' || c == 0x7f || c == '*' || c == '>' {
			return false
		}
	}
	return true
}
