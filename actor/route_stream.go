package actor

import (
	"context"
)

// OpenPool opens stream s on one worker of the pool or group, picked by
// its strategy (with First: round robin, as CastPool), and returns a
// reader of the stream that worker produces: Stream.Open's outcomes and
// options (the wait for the handler's turn bounded by ctx, or the
// runtime's call timeout; Since, Recent, ReadTimeout), plus the router's
// refusals as for CallPool (ErrPoolFull, ErrPoolStopped, ErrEmptyGroup,
// ErrNoHashKey, ErrHashKey, ErrNilPool). The stream stays the worker's:
// Stream.Follow finds it there by Follow.ID, it ends if the worker stops
// (or restarts, with the panic), and the worker is free for other calls as
// soon as the handler's turn returns, whether or not the stream goes on
// off the turn. Made from a handler, pass c.Context(): the calling actor is
// never picked and cycles are detected. Blocks; safe for concurrent use;
// Stream.Open's cost.
func OpenPool[S, Q, E any](ctx context.Context, s *Stream[S, Q, E], to Router[S], req Q, opts ...FollowOption) (*Follow[E], error) {
	label, unusable := "", s.usable()
	if s != nil {
		label = s.label
	}
	r, err := prepareRoute(ctx, label, unusable, to, nil)
	if err != nil {
		return nil, err
	}
	cfg, err := followConfigOf(opts)
	if err != nil {
		return nil, err
	}
	h, err := keyHash(r, req)
	if err != nil {
		return nil, err
	}
	cl, f, err := s.newCall(ctx, r.sys, nil, req, cfg)
	if err != nil {
		return nil, err
	}
	ps := &poolStream[S, Q, E]{streamCall: cl}
	ps.self = ps
	caller := callerOf(ctx)
	at, err := r.dispatch(envelope{msg: &ps.self}, ps, target{h: h, caller: caller, wait: &cl.edge, label: label})
	if err != nil {
		cl.refused(err)
		r.refused(label, err, nil)
		return nil, err
	}
	if caller != nil {
		defer caller.endWait(at != nil, caller.lend())
	}
	return cl.await(ctx, f, cfg)
}

// poolStream is a stream's opening request routed by a pool: it knows the
// member it went to, to release it there once the handler's turn is over.
type poolStream[S, Q, E any] struct {
	*streamCall[S, Q, E]
	self message // the poolStream itself (see envelope)
	at   *member
}

func (ps *poolStream[S, Q, E]) bind(m *member) { ps.at = m }

func (ps *poolStream[S, Q, E]) run(x *Ctx, p payload) {
	ps.streamCall.run(x, p)
	x.replied = x.replied && ps.at.sticky // see poolCall.run
	ps.at.release()
}

func (ps *poolStream[S, Q, E]) fail(to *cell, p payload, err error, why uint8) {
	ps.at.release()
	ps.streamCall.fail(to, p, err, why)
}
