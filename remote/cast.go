package remote

import "fmt"

// Cast sends req one way and returns once it is queued in the binding's batch;
// the node's flusher publishes it at once, together with the casts queued while
// it was publishing the previous batch (see batch.go). At most once: no reply,
// no retry, no acknowledgement; a failure on the serving node (decode, stopped
// actor, full mailbox) is reported there (WithRefusalHook; a handler's error
// goes to the runtime's dead letters), and a batch the connection refused is
// reported here. Casts from one binding reach one node in the order they were
// made. Shutdown publishes every queued cast before closing, and waits for the
// server to confirm it has them; if it does not (the connection is down:
// nats.go kept them in its reconnect buffer, which closing drops), the casts
// published since the server last confirmed may have been lost — some may have
// reached it before the connection dropped — and are reported once, with their
// count ("N casts may have been lost", ReasonCastFailed, wrapping
// ErrUnavailable, or ErrClosed if the connection was closed); so does Close,
// and so does a connection that drops: the casts published since the server
// last confirmed having them are reported then (they may have died with the
// old connection), not confirmed by a later flush on the new one.
// Errors: ErrCodec, ErrTooLarge, ErrClosed, ErrUnavailable (a full batch this
// Cast published, refused by a connection that is down: that batch's casts are
// lost and reported, as ReasonCastFailed; this one was not queued), and the
// binding's own. Does not block, but for a full batch (64 KiB, or less to fit
// the server's maximum payload) that it publishes itself, and a cast too large
// for a batch (up to the node's WithMaxMessage), which it publishes alone,
// after the casts queued before it; safe for concurrent
// use. Cost: the codec's work and a copy into the batch; end to end over
// loopback TCP, about 2 µs per cast on 2 cores, mostly JSON decoding on the
// serving node (BenchmarkRemoteCast).
func (b *Binding[Q, R]) Cast(req Q) error {
	if b == nil {
		return ErrNilRef
	}
	if b.err != nil {
		return b.err
	}
	if b.n == nil { // a zero Binding: not made by Bind
		return ErrNilRef
	}
	if err := b.n.open(); err != nil {
		return err
	}
	data, err := b.cfg.codec.Marshal(req)
	if err != nil {
		return fmt.Errorf("%w: encode %s: %w", ErrCodec, b.label, err)
	}
	return b.batch.add(data)
}
