package serve

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/behind"
)

// SSE serves stream s, opened on the actor to picks, as server-sent
// events: each item is an event whose id is its sequence number and whose
// data is encode's bytes (one data line per line of them). A browser that
// reconnects sends the last id it saw as Last-Event-ID, and the stream is
// opened again with actor.Since(id+1): it resumes where it was. A
// Last-Event-ID that is not a sequence number is answered 400.
//
// The stream's clean end is an event named "end" (so the browser's
// EventSource can close instead of reconnecting), any other end an event
// named "error" whose data is the error's message. A request that asks
// for items the journal no longer keeps (a Last-Event-ID older than its
// oldest item) or whose reader falls behind it (a slow client) goes on
// from the oldest item kept, after an event named "truncated" whose data
// is that item's id and whose id is the one before it (so a reconnect
// after it resumes there): the items between were lost to the client.
// So does a request without a Last-Event-ID, which asks for the stream
// from its first item, if the handler's turn sent more than the journal
// keeps before the request's reader could read them.
// Ending there instead, with an "error" event for the
// *actor.TruncatedError, would have an EventSource ask for the same lost
// items again, for ever. An item that encode fails on (its error, or its
// panic as a *actor.PanicError) is an event named
// "skipped", with the item's id and the error's message as data, and the
// stream goes on: ending it there would have the EventSource reconnect
// with the id before it, fail on it again, and so on for ever; with the
// id, a reconnect resumes after it. A client sees it only if it listens
// for "skipped" events (addEventListener). Errors before the first byte — the
// Target's, decode's, Open's, and their panics — are answered with
// StatusOf's status, as by Method.
//
// The status and headers wait for the stream's first item for this
// request, or its end, for at most a tenth of a second: a stream that ends with an
// error before it has an item for the request — a producer that fails on
// every Open, once past the items a resumed request has seen, or soon
// after Open — is answered with StatusOf's status too (5xx for most),
// which stops an EventSource, instead of a 200 and an "error" event,
// after which it would reconnect, meet the same failure, and so on for
// ever. A stream with no item by then is answered 200 (its
// client's onopen waits that long); an error after that is an "error"
// event, as after an item (a producer that fails only later on every
// connection still has its EventSource reconnect: send the client an
// item early, or have it close on "error" events).
//
// A client that goes away detaches the reader (the producer's
// Out.Context is cancelled once it was the last) and the response is
// aborted, as by Method (so is it on any cancel of r's Context: the client
// does not take the cut for the stream's end). Each event is flushed as it is written, through
// http.ResponseController (so a middleware's writer must have Flush, or
// Unwrap to one that has): a writer that cannot flush is answered 500
// with ErrCannotFlush before the stream is opened, rather than a stream
// cut short. WithMaxBody caps the request's body; WithTimeout bounds the
// whole response: the stream's ctx, and the writes, through
// http.ResponseController's SetWriteDeadline, so that a client that stays
// connected but never reads does not hold the handler past it; a stream
// still open at the deadline ends with the timeout's error, as any other
// error end, written within a second more (the writes that reach the
// deadline fail instead: the response is cut). Without
// WithTimeout a stream lasts as long as its client and its producer: a
// client that never reads then holds its handler until it goes (or until
// the http.Server's WriteTimeout). A HEAD (which a GET pattern serves)
// is answered as a GET, Open included, with the headers only: the stream
// is closed at once.
//
// It panics if an argument is nil or an option is out of range. Safe for
// concurrent use; it starts no goroutine.
func SSE[S, Q, E any](s *actor.Stream[S, Q, E], to Target[S], decode func(*http.Request) (Q, error),
	encode func(E) ([]byte, error), opts ...MethodOption) http.Handler {
	if encode == nil {
		panic("serve: SSE with a nil encode")
	}
	return newStreamHandler(s, to, decode, opts, sse[E]{encode: encode})
}

// JSONLines serves stream s, opened on the actor to picks, as JSON lines
// over a chunked response (Content-Type application/x-ndjson): one line
// {"seq":N,"value":V} per item, V marshalled with encoding/json. A since=N
// query parameter opens the stream with actor.Since(N), to resume; one
// that is not a sequence number is answered 400. A clean end ends the
// body; any other end is a last line {"error":"message"}, an item that
// cannot be marshalled (its error, or its MarshalJSON's panic as a
// *actor.PanicError) included. A since older than the journal's oldest
// item, or a reader that falls behind it, goes on from the oldest item
// kept after a line {"truncated":N}, N its seq (the items before it were
// lost to the client), as SSE's "truncated" event; so does a request
// without since (from the first item) that the handler's turn outran. Its headers do not
// wait for a first item, but a stream that has already ended with an
// error, with no item for the request, when Open returns is answered
// with StatusOf's status, as SSE does. Otherwise as SSE.
func JSONLines[S, Q, E any](s *actor.Stream[S, Q, E], to Target[S], decode func(*http.Request) (Q, error),
	opts ...MethodOption) http.Handler {
	return newStreamHandler(s, to, decode, opts, jsonLines[E]{})
}

// format writes a stream in one wire format.
type format[E any] interface {
	contentType() string
	position(r *http.Request) ([]actor.FollowOption, error)
	item(b *bytes.Buffer, it actor.Item[E]) error
	end(b *bytes.Buffer, err error)           // err nil: a clean end
	truncated(b *bytes.Buffer, oldest uint64) // the items before oldest are gone
	hold() time.Duration                      // how long the headers wait for a first item or the end
}

type streamHandler[S, Q, E any] struct {
	s      *actor.Stream[S, Q, E]
	to     Target[S]
	decode func(*http.Request) (Q, error)
	cfg    methodConfig
	f      format[E]
}

func newStreamHandler[S, Q, E any](s *actor.Stream[S, Q, E], to Target[S], decode func(*http.Request) (Q, error),
	opts []MethodOption, f format[E]) http.Handler {
	if s == nil || to == nil || decode == nil {
		panic("serve: stream handler with a nil stream, target or decode")
	}
	return &streamHandler[S, Q, E]{s: s, to: to, decode: decode, cfg: methodConfigOf(opts), f: f}
}

func (h *streamHandler[S, Q, E]) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	arrived := time.Now()
	if !canFlush(w) {
		h.cfg.fail(w, r, ErrCannotFlush)
		return
	}
	pos, err := h.f.position(r)
	if err != nil {
		h.cfg.fail(w, r, &StatusError{Code: http.StatusBadRequest, Err: err})
		return
	}
	if pos == nil {
		// From the first item: Open's default, the oldest kept when it
		// returns, would drop what the handler's turn sent past the
		// journal without the notice that says so.
		pos = []actor.FollowOption{actor.Since(0)}
	}
	ctx, cancel := h.cfg.bound(r, arrived)
	defer cancel()
	ref, q, ok := prepare(ctx, &h.cfg, w, r, arrived, h.to, h.decode)
	if !ok {
		return
	}
	f, err := h.s.Open(ctx, ref, q, pos...)
	if err != nil {
		h.cfg.fail(w, r, err)
		return
	}
	defer func() { f.Close() }()
	var b bytes.Buffer
	// resume moves the request on to the oldest item kept, for a reader
	// that fell behind the journal (or asked for less than it keeps),
	// with the format's notice of it in b, instead of ending with te,
	// after which an EventSource would ask for the same items again.
	resume := func(te *actor.TruncatedError) bool {
		g, err := behind.Resume(ctx, f, te)
		if err != nil {
			return false
		}
		f, pos = g, []actor.FollowOption{actor.Since(te.Oldest)}
		h.f.truncated(&b, te.Oldest)
		return true
	}
	var items []actor.Item[E]
	var end error
	collect := func() {
		items, end = f.Collected()
		for te := behind.Truncation(ctx, f, end); te != nil && resume(te); te = behind.Truncation(ctx, f, end) {
			items, end = f.Collected()
		}
	}
	// The headers wait for what the stream holds as Open returns: an end
	// with an error before any item for this reader (a producer that
	// failed again, past the items a resumed reader had) is answered with
	// a status, so that an EventSource, which reconnects after a 200's
	// end, does not reconnect to it for ever.
	collect()
	if hold := h.f.hold(); len(items) == 0 && end == nil && hold > 0 {
		// Nothing yet: wait for the first item or the end, briefly (a
		// quiet stream's client waits for its headers meanwhile), with
		// a second reader at the same place, which waits with a timeout.
		if g, err := f.Follow(ctx, append(pos, actor.ReadTimeout(hold))...); err == nil {
			for range g.All() {
				break
			}
			g.Close()
			collect()
		}
	}
	if end != nil && end != io.EOF && len(items) == 0 {
		h.cfg.fail(w, r, end)
		return
	}
	rc := http.NewResponseController(w)
	var deadline time.Time // the writes', WithTimeout's; zero: none
	if h.cfg.timeout > 0 {
		// The deadline bounds the writes too: a client that stays but
		// never reads would otherwise hold a write, and this goroutine,
		// past it (until it goes). A writer that cannot set one keeps
		// only the ctx's bound.
		deadline = arrived.Add(h.cfg.timeout)
		_ = rc.SetWriteDeadline(deadline)
	}
	w.Header().Set("Content-Type", h.f.contentType())
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	_ = rc.Flush()
	if r.Method == http.MethodHead {
		// The headers only: net/http eats a HEAD's body, so following
		// the stream would write to nobody, for as long as it runs,
		// while the client, answered, reuses the connection.
		return
	}
	send := func() bool {
		_, err := w.Write(b.Bytes())
		b.Reset()
		return err == nil && rc.Flush() == nil
	}
	// finish writes the stream's end: clean at io.EOF, else the error.
	finish := func(end error) {
		if end == io.EOF {
			h.f.end(&b, nil)
		} else {
			abortIfGone(r) // not a clean end, nor an error event nobody reads
			h.f.end(&b, end)
		}
		if now := time.Now(); !deadline.IsZero() && !now.Before(deadline) {
			// Past WithTimeout (the stream's ctx ended at the deadline):
			// the end, the timeout's error, still goes out, and then
			// net/http's end of the body, or a client that reads would
			// see the stream cut. Briefly: a client that does not read
			// had its writes fail at the deadline (the handler returned
			// then, without its end).
			_ = rc.SetWriteDeadline(now.Add(endGrace))
		}
		send()
	}
	// put writes it, or the end its encoding failed with; it reports
	// whether the stream goes on.
	put := func(it actor.Item[E]) bool {
		if err := h.f.item(&b, it); err != nil {
			finish(err)
			return false
		}
		return send()
	}
	if b.Len() > 0 && !send() {
		return
	}
	for i, it := range items {
		items[i] = actor.Item[E]{}
		if !put(it) {
			return
		}
	}
	for end == nil {
		end = io.EOF // a clean end, unless All says otherwise
		for it, err := range f.All() {
			if err != nil {
				end = err
				break
			}
			if !put(it) {
				return
			}
		}
		if te := behind.Truncation(ctx, f, end); te != nil && resume(te) {
			if !send() {
				return
			}
			end = nil
		}
	}
	finish(end) // not nil: the loop ends only on an end
}

// endGrace is how long a stream's end may take to write once WithTimeout's
// deadline has passed (see SSE).
const endGrace = time.Second

// canFlush reports whether http.ResponseController can flush w: w, or a
// writer its Unwrap methods lead to, has FlushError or Flush. It checks
// what ResponseController.Flush does, without writing anything.
func canFlush(w http.ResponseWriter) bool {
	for {
		switch t := w.(type) {
		case interface{ FlushError() error }, http.Flusher:
			return true
		case interface{ Unwrap() http.ResponseWriter }:
			w = t.Unwrap()
		default:
			return false
		}
	}
}

// sse is the text/event-stream format.
type sse[E any] struct{ encode func(E) ([]byte, error) }

func (sse[E]) contentType() string { return "text/event-stream" }

// sseHold is how long SSE holds its headers back for a stream that has
// nothing yet: see SSE. A tenth of a second: long enough for a producer
// that fails as it starts (the usual way a stream fails on every
// connection) to be answered with a status, short enough that a quiet
// stream's client does not notice the wait for its onopen. A variable
// for the tests.
var sseHold atomic.Int64

func init() { sseHold.Store(int64(100 * time.Millisecond)) }

func (sse[E]) hold() time.Duration { return time.Duration(sseHold.Load()) }

func (sse[E]) position(r *http.Request) ([]actor.FollowOption, error) {
	id := r.Header.Get("Last-Event-ID")
	if id == "" {
		return nil, nil
	}
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil || n == math.MaxUint64 {
		return nil, fmt.Errorf("%w: Last-Event-ID %q", ErrBadPosition, id)
	}
	return []actor.FollowOption{actor.Since(n + 1)}, nil
}

// item writes it as an event, or, if it cannot be encoded, an event named
// "skipped" with its id and the error as data: ending the stream there
// instead would have an EventSource reconnect with the id before it, hit
// it again, and so on for ever. It never fails.
func (f sse[E]) item(b *bytes.Buffer, it actor.Item[E]) error {
	data, err := encodeItem(f.encode, it.V)
	b.WriteString("id: ")
	b.WriteString(strconv.FormatUint(it.Seq, 10))
	b.WriteByte('\n')
	if err != nil {
		b.WriteString("event: skipped\n")
		data = []byte(errText(err))
	}
	writeData(b, data)
	return nil
}

func (sse[E]) end(b *bytes.Buffer, err error) {
	if err == nil {
		b.WriteString("event: end\ndata:\n\n")
		return
	}
	b.WriteString("event: error\n")
	writeData(b, []byte(errText(err)))
}

// truncated writes an event named "truncated" whose data is oldest and
// whose id is the one before it: a reconnect after it resumes at oldest.
func (sse[E]) truncated(b *bytes.Buffer, oldest uint64) {
	b.WriteString("id: ")
	b.WriteString(strconv.FormatUint(oldest-1, 10)) // oldest ≥ 1: some item was dropped
	b.WriteString("\nevent: truncated\ndata: ")
	b.WriteString(strconv.FormatUint(oldest, 10))
	b.WriteString("\n\n")
}

// writeData writes data as an event's data lines (a line end is "\n",
// "\r\n" or "\r") and ends the event. It copies data into b only: no
// other copy of it, however large.
func writeData(b *bytes.Buffer, data []byte) {
	for {
		b.WriteString("data: ")
		i := bytes.IndexAny(data, "\r\n")
		if i < 0 {
			b.Write(data)
			b.WriteByte('\n')
			break
		}
		b.Write(data[:i])
		b.WriteByte('\n')
		if data[i] == '\r' && i+1 < len(data) && data[i+1] == '\n' {
			i++ // "\r\n" is one line end
		}
		data = data[i+1:]
	}
	b.WriteByte('\n')
}

// jsonLines is the application/x-ndjson format.
type jsonLines[E any] struct{}

func (jsonLines[E]) contentType() string { return "application/x-ndjson" }

func (jsonLines[E]) hold() time.Duration { return 0 }

func (jsonLines[E]) position(r *http.Request) ([]actor.FollowOption, error) {
	s := r.URL.Query().Get("since")
	if s == "" {
		return nil, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("%w: since %q", ErrBadPosition, s)
	}
	return []actor.FollowOption{actor.Since(n)}, nil
}

func (jsonLines[E]) item(b *bytes.Buffer, it actor.Item[E]) error {
	// A MarshalJSON method is the user's code: encodeItem recovers its
	// panic, which json.Marshal passes on.
	line, err := encodeItem(json.Marshal, any(struct {
		Seq   uint64 `json:"seq"`
		Value E      `json:"value"`
	}{it.Seq, it.V}))
	if err != nil {
		return err
	}
	b.Write(line)
	b.WriteByte('\n')
	return nil
}

func (jsonLines[E]) end(b *bytes.Buffer, err error) {
	if err == nil {
		return
	}
	line, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{errText(err)})
	b.Write(line)
	b.WriteByte('\n')
}

// truncated writes a line {"truncated":oldest}.
func (jsonLines[E]) truncated(b *bytes.Buffer, oldest uint64) {
	b.WriteString(`{"truncated":`)
	b.WriteString(strconv.FormatUint(oldest, 10))
	b.WriteString("}\n")
}

// errText is err.Error(), or, if that panics (the user's Error method: a
// nil *T returned as an error, say), a text naming err's type and the
// panic. A stream's error is written after the 200, on net/http's
// goroutine, where the panic would cut the stream with neither its error
// nor its end.
func errText(err error) (s string) {
	defer func() {
		if v := recover(); v != nil {
			s = fmt.Sprintf("serve: the Error method of %T panicked: %v", err, v)
		}
	}()
	return err.Error()
}
