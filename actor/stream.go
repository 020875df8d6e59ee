package actor

import (
	"errors"
	"fmt"
	"reflect"

	"github.com/troupe-go/troupe/internal/engine"
	"github.com/troupe-go/troupe/mailbox"
)

// The sentinel errors of streams (see also ErrTimeout, ErrStopped and the
// call sentinels, which Open shares with Call).
var (
	// ErrStreamClosed: Send, SendWait, Wait or Close on an Out whose stream
	// has ended; a Follow read after its Close (or after a break out of
	// All).
	ErrStreamClosed = errors.New("actor: stream closed")
	// ErrTruncated: a reader fell behind the stream's bounded journal (or
	// asked with Since for items it no longer keeps). The error is a
	// [*TruncatedError] carrying the oldest sequence still kept.
	ErrTruncated = errors.New("actor: stream truncated")
	// ErrNilStream: a method called on a nil *Out or *Follow (or a zero
	// Out, which no stream made).
	ErrNilStream = errors.New("actor: nil stream")
	// ErrNoStream: Stream.Follow with an id that names no open stream of
	// that method on that actor.
	ErrNoStream = errors.New("actor: no such stream")
	// ErrNoReader: the cause of an [Out.Context] cancelled because its last
	// reader detached.
	ErrNoReader = errors.New("actor: stream has no reader left")
	// ErrFollowBusy: All or Collected called on a Follow that another All
	// or Collected is reading (a Follow is read by one goroutine at a time).
	ErrFollowBusy = errors.New("actor: follow already being read")
)

// The default bounds of a stream's journal; see [WithJournal].
const (
	DefaultJournalItems = 4096
	DefaultJournalBytes = 4 << 20
)

// Stream is a typed, named entry point of actors of state type S whose
// reply is a stream of items of type E: cocaine's chunks, harp's followed
// job output. Make one per operation with [NewStream], usually as a
// package-level var, and read it with Open (or attach to a running stream
// with Follow). A Stream is immutable and safe for concurrent use; it is an
// [Admitter], so a whitelist (Ctx.Only) can name it. It has no Call: a
// stream's reply is read with Open.
type Stream[S, Q, E any] struct {
	label string
	fn    func(S, *Ctx, Q, *Out[E]) error
	k     mailbox.Key
	lim   limits[E]
	err   error // construction error, returned by Open and Follow
}

// limits bound a journal: at most items items and, with a size function,
// bytes bytes of them (without one, the fixed per-item estimate is folded
// into items).
type limits[E any] struct {
	items uint64
	bytes int64
	size  func(E) int // nil: count only
}

// NewStream makes a stream method. fn runs on the actor's turn, like a
// Method's handler, with the stream's producer end out: it may Send items
// during its turn, keep out in the actor's state and Send on later turns,
// or hand it to another goroutine. Returning an error (or panicking) ends
// the stream with that error (a [*PanicError] for a panic), which every
// reader gets as its last pair; returning nil without closing out leaves
// the stream open for later Sends. The stream ends with ErrStopped when the
// actor stops.
//
// The journal keeps the most recent items within its bounds (default
// DefaultJournalItems items and DefaultJournalBytes bytes; see
// [WithJournal] and [WithItemSize]). NewStream never panics: an invalid
// name, a nil fn or a bad option makes a stream whose every Open returns
// ErrInvalidName, ErrNilHandler or ErrInvalidOption. A Stream not made by
// NewStream (a zero Stream, a nil *Stream) returns ErrNilHandler.
func NewStream[S, Q, E any](name string, fn func(state S, c *Ctx, req Q, out *Out[E]) error, opts ...StreamOption) *Stream[S, Q, E] {
	s := &Stream[S, Q, E]{label: name, fn: fn, k: mailbox.Key(nextKey.Add(1))}
	lim, err := newLimits[E](opts)
	s.lim = lim
	if nerr := engine.ValidName(name); nerr != nil {
		err = nerr
	} else if fn == nil {
		err = ErrNilHandler
	}
	if err != nil {
		s.err = fmt.Errorf("stream %q: %w", name, err)
	}
	return s
}

// Name is the stream method's name, as reported in errors and dead letters
// ("" for a nil Stream).
func (s *Stream[S, Q, E]) Name() string {
	if s == nil {
		return ""
	}
	return s.label
}

// Accepts reports whether s can run on an actor with this state; only the
// state's type matters.
func (s *Stream[S, Q, E]) Accepts(state any) bool {
	_, ok := state.(S)
	return ok
}

func (s *Stream[S, Q, E]) key() mailbox.Key { return s.k }

// usable reports why s cannot be opened, or nil.
func (s *Stream[S, Q, E]) usable() error {
	if s == nil || s.err == nil && s.fn == nil { // nil, or a zero Stream
		return ErrNilHandler
	}
	return s.err
}

func (s *Stream[S, Q, E]) check(to *Ref[S]) error {
	if err := s.usable(); err != nil {
		return err
	}
	if !to.valid() {
		return ErrNilRef
	}
	return nil
}

// StreamOption configures NewStream.
type StreamOption interface{ applyStream(*streamConfig) }

type streamConfig struct {
	items, bytes int
	size         any // func(E) int, checked against the stream's E
	err          error
}

type streamOptionFunc func(*streamConfig)

func (f streamOptionFunc) applyStream(c *streamConfig) { f(c) }

// WithJournal bounds the stream's journal to the most recent items items
// and bytes bytes (both ≥ 1; else ErrInvalidOption). Bytes are counted
// with the [WithItemSize] function if the stream has one, else with a
// fixed estimate: the in-memory size of E (8 bytes for a pointer), so that
// the bound caps the journal's own memory. The journal always keeps the
// newest item, however large. A Send into a full journal drops the oldest
// item: readers still wanting it get ErrTruncated, the producer never
// waits (unless it asks to, with SendWait).
func WithJournal(items, bytes int) StreamOption {
	return streamOptionFunc(func(c *streamConfig) {
		if items < 1 || bytes < 1 {
			c.err = fmt.Errorf("%w: journal bounds %d items, %d bytes must be ≥ 1", ErrInvalidOption, items, bytes)
			return
		}
		c.items, c.bytes = items, bytes
	})
}

// WithItemSize counts the journal's bytes with size (say len for a []byte
// or string item) instead of the fixed estimate. size runs on the
// producer's goroutine, once per Send, outside any lock; a negative size
// counts as 0. E must be the stream's item type (else ErrInvalidOption).
func WithItemSize[E any](size func(E) int) StreamOption {
	return streamOptionFunc(func(c *streamConfig) {
		if size == nil {
			c.err = fmt.Errorf("%w: nil item size function", ErrInvalidOption)
			return
		}
		c.size = size
	})
}

func newLimits[E any](opts []StreamOption) (limits[E], error) {
	c := streamConfig{items: DefaultJournalItems, bytes: DefaultJournalBytes}
	for _, o := range opts {
		if o == nil {
			return limits[E]{}, fmt.Errorf("%w: nil option", ErrInvalidOption)
		}
		o.applyStream(&c)
		if c.err != nil {
			return limits[E]{}, c.err
		}
	}
	l := limits[E]{items: uint64(c.items), bytes: int64(c.bytes)}
	if c.size != nil {
		size, ok := c.size.(func(E) int)
		if !ok {
			var zero E
			return limits[E]{}, fmt.Errorf("%w: item size function of %T for items of type %T", ErrInvalidOption, c.size, zero)
		}
		l.size = size
		return l, nil
	}
	est := max(int64(reflect.TypeFor[E]().Size()), 1)
	l.items = min(l.items, uint64(max(l.bytes/est, 1)))
	return l, nil
}

// Item is one item of a stream with its sequence number: from 0, one per
// Send, the same for every reader (harp's numbered follow).
type Item[E any] struct {
	Seq uint64
	V   E
}

// TruncatedError is the last error of a reader whose next item the
// journal no longer keeps (it fell behind, or asked for it with Since).
// Resume with Since(Oldest) to read on from the oldest item kept
// ([Follow.Follow] finds the stream even if it has ended since). It
// matches ErrTruncated.
//
// The reader it ends holds no position any more (SendWait does not wait
// for it, the journal keeps nothing for it) but still counts as a reader
// of the stream, for its producer's [Out.Context], until it is closed
// (Follow.Close) or its ctx ends. So attach the new reader first, then
// Close the truncated one: with a single reader, the producer never sees
// a moment with no reader (which would cancel its Context with
// ErrNoReader). A truncated reader that is never closed and whose ctx
// never ends keeps that Context alive: Close it when done with it.
type TruncatedError struct {
	Oldest uint64 // the oldest sequence number still kept
}

// Error names the oldest item kept, where a reader may resume.
func (e *TruncatedError) Error() string {
	return fmt.Sprintf("actor: stream truncated: the oldest item kept is %d", e.Oldest)
}

// Is makes errors.Is(err, ErrTruncated) true.
func (e *TruncatedError) Is(target error) bool { return target == ErrTruncated }
