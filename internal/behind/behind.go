// Package behind tells a reader's own truncation from a stream's end,
// for the packages that resume a reader that fell behind a journal (jobs'
// output copy, serve's SSE and JSON lines). Internal: no public API.
package behind

import (
	"context"
	"math"

	"github.com/troupe-go/troupe/actor"
)

// Truncation returns the *actor.TruncatedError that reader f stopped
// with (end) if f fell behind the journal (resume with Since(te.Oldest)),
// or nil if end is not f's own truncation. A producer may end its stream
// with a truncation it met reading something else (another stream, a
// jobs Client's follow): every reader gets that very error as the end,
// and resuming from its Oldest would read the same items and meet it
// again, for ever. So it is f's only if it is a bare *actor.TruncatedError
// (as a journal gives its readers) and the stream has not ended with that
// same error, which a reader placed past the end, through f, would get.
// Only when end is a truncation: a reader attached and closed. nil too if
// ctx has ended (no resume either): checked, since a reader attached with
// an ended ctx (the probe) ends with ctx's error, not the stream's end.
func Truncation[E any](ctx context.Context, f *actor.Follow[E], end error) *actor.TruncatedError {
	te, ok := end.(*actor.TruncatedError)
	if !ok || ctx.Err() != nil {
		return nil
	}
	probe, err := f.Follow(ctx, actor.Since(math.MaxUint64))
	if err != nil {
		return nil
	}
	defer func() { _ = probe.Close() }()
	if _, streamEnd := probe.Collected(); streamEnd == end || ctx.Err() != nil { // end is a pointer: comparable
		return nil
	}
	return te
}

// Resume attaches a reader to f's stream at te.Oldest, the oldest item its
// journal keeps, for a reader f that fell behind it (te from Truncation),
// and then closes f: a truncated reader counts as the stream's reader
// until it is closed, so closing it once the new one is attached, never
// before, the producer's Out.Context never sees no reader. Through f, not
// by id: a stream that has ended since, or whose actor has stopped since,
// is still reached, with its end. On an error of Follow, f is left open.
func Resume[E any](ctx context.Context, f *actor.Follow[E], te *actor.TruncatedError) (*actor.Follow[E], error) {
	g, err := f.Follow(ctx, actor.Since(te.Oldest))
	if err != nil {
		return nil, err
	}
	_ = f.Close()
	return g, nil
}
