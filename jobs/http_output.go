package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/troupe-go/troupe/actor"
)

// endJSON is the last line (or "end" event) of an output response.
type endJSON struct {
	End   bool         `json:"end"`
	State State        `json:"state"`
	Error *RemoteError `json:"error,omitempty"`
}

// outputFormat writes an output response in one wire format.
type outputFormat interface {
	contentType() string
	item(b *bytes.Buffer, seq uint64, value []byte)
	end(b *bytes.Buffer, e endJSON)
}

func (h *httpFace) output(w http.ResponseWriter, r *http.Request) {
	j, ok := h.job(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	var f outputFormat = jsonLinesFormat{}
	switch q.Get("format") {
	case "sse":
		f = sseFormat{}
	case "", "jsonl":
		if strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
			f = sseFormat{}
		}
	default:
		writeError(w, fmt.Errorf("%w: format %q (want jsonl or sse)", ErrBadRequest, q.Get("format")))
		return
	}
	opts, err := position(r, f)
	if err != nil {
		writeError(w, err)
		return
	}
	follow, err := boolParam(q.Get("follow"), true)
	if err != nil {
		writeError(w, err)
		return
	}
	var rd *actor.Follow[any]
	if follow {
		rd, err = j.Follow(r.Context(), opts...)
	} else {
		rd, err = j.followNow(r.Context(), opts...)
	}
	if err != nil {
		writeError(w, err)
		return
	}
	defer rd.Close()
	w.Header().Set("Content-Type", f.contentType())
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		// The headers only: net/http drops a HEAD's body, so a follow
		// would write to nobody until the job ended, holding the
		// connection its client has put back in its pool.
		return
	}
	rc := http.NewResponseController(w)
	var b bytes.Buffer
	send := func() bool {
		_, err := w.Write(b.Bytes())
		b.Reset()
		if err != nil {
			return false
		}
		// A writer that cannot flush (a middleware's wrapper) still
		// writes: the items go out as its buffer fills, and at the end.
		err = rc.Flush()
		return err == nil || errors.Is(err, http.ErrNotSupported)
	}
	if !follow {
		items, st, err := collectedNow(r.Context(), j, rd, opts)
		for _, it := range items {
			if !writeItem(&b, f, it) { // it wrote the end line
				send()
				return
			}
		}
		e := endJSON{State: st}
		if err != nil {
			e = endLine(r.Context(), j, err)
		}
		f.end(&b, e)
		send()
		return
	}
	if !send() { // the headers: the client knows the job exists
		return
	}
	// Items are taken in batches (all those kept past the reader), and
	// each batch is flushed once: a fast job does not cost a write per
	// item per reader. When the reader has caught up, a second reader
	// placed at the end (the bell) waits for the next item.
	for {
		items, err := rd.Collected()
		if len(items) == 0 && err == nil {
			if items, err = wait(r.Context(), j, rd); len(items) == 0 && err == nil {
				continue
			}
		}
		for _, it := range items {
			if !writeItem(&b, f, it) {
				send()
				return
			}
		}
		if err != nil {
			// The end line, even when r's Context was cancelled: a
			// client gone reads nothing, but one whose request a server
			// or a middleware cancelled still waits for it.
			f.end(&b, endLine(r.Context(), j, err))
			send()
			return
		}
		if !send() {
			return
		}
	}
}

// collectedNow reads what rd, placed by followNow, holds now, and the
// job's state with it (once rd has no error). A job that ended as its
// items were read may not have given them all, and end:false with an
// ended state would be two moments: they are read again, to the end, by
// a new reader placed with opts once the output has ended (done is
// closed after it, in memory; a backend's ended record has closed it),
// or ctx's end is the error.
func collectedNow(ctx context.Context, j *Job, rd *actor.Follow[any], opts []actor.FollowOption) ([]actor.Item[any], State, error) {
	items, err := rd.Collected()
	if err != nil {
		return items, "", err
	}
	st := j.Status().State
	if !st.Terminal() {
		return items, st, nil
	}
	select {
	case <-j.done:
	case <-ctx.Done():
		return items, st, fmt.Errorf("jobs: job %s: output: %w", j.id, context.Cause(ctx))
	}
	_ = rd.Close()
	if rd, err = j.followNow(ctx, opts...); err != nil {
		return items, st, err
	}
	defer rd.Close()
	items, err = rd.Collected()
	return items, st, err
}

// wait waits until rd, which has read everything, has more to read: the
// bell, a reader placed at the end, wakes on the next item, on the end,
// or when ctx ends. rd is read once more after the bell is placed, so an
// item that came in between is not left waiting for the next one. The
// bell is closed, and its ctx ends, with the wait: a follow waits once
// per item it catches up with.
func wait(ctx context.Context, j *Job, rd *actor.Follow[any]) ([]actor.Item[any], error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	bell, err := j.Follow(ctx, actor.Recent(0))
	if err != nil {
		return nil, err
	}
	defer bell.Close()
	items, err := rd.Collected()
	if len(items) == 0 && err == nil {
		for range bell.All() {
			break
		}
	}
	return items, err
}

// writeItem writes one item; an item that does not encode ends the
// response with an error line.
func writeItem(b *bytes.Buffer, f outputFormat, it actor.Item[any]) bool {
	v, err := marshalJSON(it.V)
	if err != nil {
		f.end(b, endJSON{Error: Remote(fmt.Errorf("jobs: item %d does not encode as JSON: %w", it.Seq, err))})
		return false
	}
	f.item(b, it.Seq, v)
	return true
}

// endLine is the end line of an output whose reader stopped with err:
// its end (io.EOF, endOf), or end:false with the job's state and err.
func endLine(ctx context.Context, j *Job, err error) endJSON {
	if err == io.EOF {
		return endOf(ctx, j)
	}
	return endJSON{State: j.Status().State, Error: Remote(err)}
}

// endOf is the end line of an output whose reader has read its end
// (io.EOF): the job has ended, and the line says so with its terminal
// state and outcome, read together. With a backend they are read from
// the store (see endedRecord): its record cached here may not have the
// end yet, and a line saying end:true with a state of "running" or
// "queued" would tell a client two moments. If the store cannot show the
// end within the bound, the line says end:false with that error
// ("unavailable"; "not_found", "closed"), the reader's: the output can
// be read again, from the next item, for its end. A job in memory has
// its state ended before its output (see ending).
func endOf(ctx context.Context, j *Job) endJSON {
	if j.view != nil {
		rec, err := j.endedRecord(ctx)
		if err != nil {
			return endJSON{State: rec.State, Error: Remote(err)}
		}
		_, err = rec.Outcome()
		return endJSON{End: true, State: rec.State, Error: Remote(err)}
	}
	st := j.Status().State
	_, _, err := j.outcome()
	return endJSON{End: true, State: st, Error: Remote(err)}
}

// position is where a reader starts: Last-Event-ID (SSE), since or
// recent.
func position(r *http.Request, f outputFormat) ([]actor.FollowOption, error) {
	q := r.URL.Query()
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		if _, ok := f.(sseFormat); ok {
			n, err := strconv.ParseUint(id, 10, 64)
			if err != nil || n == math.MaxUint64 {
				return nil, fmt.Errorf("%w: Last-Event-ID %q", ErrBadRequest, id)
			}
			return []actor.FollowOption{actor.Since(n + 1)}, nil
		}
	}
	var opts []actor.FollowOption
	if s := q.Get("since"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: since %q", ErrBadRequest, s)
		}
		opts = append(opts, actor.Since(n))
	}
	if s := q.Get("recent"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%w: recent %q", ErrBadRequest, s)
		}
		opts = append(opts, actor.Recent(n))
	}
	if len(opts) > 1 {
		return nil, fmt.Errorf("%w: since and recent together", ErrBadRequest)
	}
	return opts, nil
}

// jsonLinesFormat is application/x-ndjson: {"seq","value"} per line.
type jsonLinesFormat struct{}

func (jsonLinesFormat) contentType() string { return "application/x-ndjson" }

func (jsonLinesFormat) item(b *bytes.Buffer, seq uint64, value []byte) {
	b.WriteString(`{"seq":`)
	b.WriteString(strconv.FormatUint(seq, 10))
	b.WriteString(`,"value":`)
	b.Write(value)
	b.WriteString("}\n")
}

func (jsonLinesFormat) end(b *bytes.Buffer, e endJSON) { _ = json.NewEncoder(b).Encode(e) }

// sseFormat is text/event-stream: each item an event whose id is its
// sequence number and whose data is its JSON; the end an event "end".
type sseFormat struct{}

func (sseFormat) contentType() string { return "text/event-stream" }

func (sseFormat) item(b *bytes.Buffer, seq uint64, value []byte) {
	b.WriteString("id: ")
	b.WriteString(strconv.FormatUint(seq, 10))
	b.WriteString("\ndata: ")
	b.Write(value) // compact JSON: one line
	b.WriteString("\n\n")
}

func (sseFormat) end(b *bytes.Buffer, e endJSON) {
	data, _ := json.Marshal(e)
	b.WriteString("event: end\ndata: ")
	b.Write(data)
	b.WriteString("\n\n")
}
