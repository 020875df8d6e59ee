package jobs

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/engine"
)

// outputLine is a line of an output response: an item or the end.
type outputLine struct {
	Seq   *uint64         `json:"seq"`
	Value json.RawMessage `json:"value"`
	End   bool            `json:"end"`
	State State           `json:"state"`
	Error *RemoteError    `json:"error"`
}

// Follow reads the job's output over HTTP (harp's follow, numbered): the
// items kept from the reader's position (opts, as for a Job's reader:
// actor.Since, actor.Recent; by default the oldest kept), then those to
// come, until the job ends, which ends the loop cleanly whatever the
// outcome (ask Result). Any other end is one last pair (zero item, err): a
// *RemoteError (ErrNotFound, a truncation matching actor.ErrTruncated,
// which errors.As makes an *actor.TruncatedError as in process — resume
// with actor.Since(te.Oldest), ErrUnavailable — the output ended but the
// server's store could not show the job's end: resume with actor.Since of
// the next item), actor.ErrTimeout (actor.ReadTimeout: no item came for
// that long; the loop body's time does not count), ctx's error, ErrCutShort
// (with ErrBadResponse for a line that no output response has),
// ErrBadResponse, ErrTooLarge (an item over the client's cap:
// WithMaxResponse), a transport error, ErrInvalidOption (with actor's
// error) for a bad option, or actor.ErrNilContext for a nil ctx. Breaking
// out of the loop closes the connection. Blocks while it waits.
func (j *RemoteJob) Follow(ctx context.Context, opts ...actor.FollowOption) iter.Seq2[actor.Item[json.RawMessage], error] {
	return func(yield func(actor.Item[json.RawMessage], error) bool) {
		err := j.read(ctx, true, opts, func(it actor.Item[json.RawMessage]) bool { return yield(it, nil) })
		if err != nil && err != errStop && err != io.EOF {
			yield(actor.Item[json.RawMessage]{}, err)
		}
	}
}

// Collected returns the items the job's output holds now from the
// reader's position, without waiting (harp's stream): err is nil while
// the job runs, io.EOF once it has ended, or the error as for Follow.
func (j *RemoteJob) Collected(ctx context.Context, opts ...actor.FollowOption) ([]actor.Item[json.RawMessage], error) {
	var items []actor.Item[json.RawMessage]
	err := j.read(ctx, false, opts, func(it actor.Item[json.RawMessage]) bool {
		items = append(items, it)
		return true
	})
	return items, err
}

// errStop: the consumer stopped reading.
var errStop = errors.New("jobs: stop")

// read reads an output response: each item to each, then io.EOF for an
// ended job, nil for one still running (follow false), or the error.
func (j *RemoteJob) read(ctx context.Context, follow bool, opts []actor.FollowOption, each func(actor.Item[json.RawMessage]) bool) error {
	if ctx == nil {
		return actor.ErrNilContext
	}
	pos, err := actor.PositionOf(engine.Seal{}, opts...)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidOption, err)
	}
	q := url.Values{"follow": {strconv.FormatBool(follow)}}
	if pos.HasSince {
		q.Set("since", strconv.FormatUint(pos.Since, 10))
	}
	if pos.HasRecent {
		q.Set("recent", strconv.Itoa(pos.Recent))
	}
	u, err := j.url("/output?" + q.Encode())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil) // a break closes the connection
	d := pos.ReadTimeout
	if d <= 0 {
		return j.readOutput(ctx, follow, u, each)
	}
	// The read timeout cancels the request; the wait for each item is
	// timed, not the loop body (each).
	idle := fmt.Errorf("%w: no item for %v (job %s)", actor.ErrTimeout, d, j.id)
	t := time.AfterFunc(d, func() { cancel(idle) })
	defer t.Stop()
	err = j.readOutput(ctx, follow, u, func(it actor.Item[json.RawMessage]) bool {
		t.Stop()
		ok := each(it)
		t.Reset(d)
		return ok
	})
	if err != nil && err != errStop && err != io.EOF && context.Cause(ctx) == idle && !errors.Is(err, idle) {
		err = fmt.Errorf("jobs: follow %s: %w", j.id, idle) // the request's own error says "canceled"
	}
	return err
}

// readOutput is read once the URL is made: it sends the request with ctx,
// which ends it.
func (j *RemoteJob) readOutput(ctx context.Context, follow bool, u string, each func(actor.Item[json.RawMessage]) bool) error {
	res, err := j.c.send(ctx, http.MethodGet, u, nil, "application/x-ndjson")
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		// Within the cap, as every answer (a body cut short is read
		// by its status).
		b, _ := io.ReadAll(io.LimitReader(res.Body, j.c.max+1))
		if int64(len(b)) > j.c.max {
			return fmt.Errorf("%w: follow %s: an error answer (HTTP %d) over the client's cap of %d bytes", ErrTooLarge, j.id, res.StatusCode, j.c.max)
		}
		if res.StatusCode/100 == 2 {
			return badResponse(http.MethodGet, u, res.StatusCode, "not an output", b)
		}
		return errorAnswer(http.MethodGet, u, res.StatusCode, b)
	}
	// bad is the error of a line that no output response has: the
	// response is cut short, and not a troupe jobs server's.
	bad := func(why string, b []byte) error {
		return fmt.Errorf("%w: %s: %w", ErrCutShort, j.id, badResponse(http.MethodGet, u, res.StatusCode, why, b))
	}
	// Line by line, each bounded by the client's cap: the whole output
	// is not.
	br := bufio.NewReader(res.Body)
	for {
		var l outputLine
		b, err := readLine(br, j.c.max)
		if len(bytes.TrimSpace(b)) == 0 && err == nil {
			continue
		}
		if errors.Is(err, ErrTooLarge) {
			return fmt.Errorf("jobs: follow %s: %w", j.id, err)
		}
		if (err == nil || err == io.EOF) && len(bytes.TrimSpace(b)) > 0 {
			// A last line without its newline too.
			if uerr := json.Unmarshal(b, &l); uerr != nil {
				if err == nil || !errors.Is(json.NewDecoder(bytes.NewReader(b)).Decode(new(any)), io.ErrUnexpectedEOF) {
					return bad("a line that is not JSON", b)
				}
				err = uerr // a last line cut short
			} else {
				err = nil
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("jobs: follow %s: %w", j.id, context.Cause(ctx))
			}
			return fmt.Errorf("%w: %s: %w", ErrCutShort, j.id, err)
		}
		switch {
		case l.Seq != nil:
			if !each(actor.Item[json.RawMessage]{Seq: *l.Seq, V: l.Value}) {
				return errStop
			}
		case l.End:
			return io.EOF
		case l.Error != nil && l.Error.Type != "":
			return l.Error
		case !follow && l.Error == nil && l.State.valid():
			return nil // the end of a job still running, without follow
		default:
			// A follow's response has no such line, and a line without a
			// state ({}, null) is no end: the loop must not end cleanly.
			return bad("a line that is neither an item nor an end", b)
		}
	}
}

// readLine reads a line of an output response, its newline dropped: an
// error wrapping ErrTooLarge past max bytes, having read at most max plus
// the reader's buffer. At the end of the body it returns what is left
// (maybe a last line without its newline) with io.EOF.
func readLine(br *bufio.Reader, max int64) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if int64(len(line))+int64(len(bytes.TrimSuffix(chunk, []byte("\n")))) > max {
			return nil, fmt.Errorf("%w: a line over the client's cap of %d bytes", ErrTooLarge, max)
		}
		line = append(line, chunk...)
		if err == bufio.ErrBufferFull {
			continue
		}
		return bytes.TrimSuffix(line, []byte("\n")), err
	}
}
