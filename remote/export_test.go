package remote

import (
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DeliverCancel hands n a cancel for the call or stream whose reply
// subject is subj, as if it had come over the wire (tests: a cancel that
// arrives before its call, which NATS does not order).
func (n *Node) DeliverCancel(subj string) { n.onCancel(&nats.Msg{Data: []byte(subj)}) }

// WithExportGap makes f run in every Export of the node between its
// service's confirmation by the server and its registration (the name is
// served, not yet listed); f's error fails the Export.
func WithExportGap(f func(n *Node, name string) error) Option {
	return optionFunc(func(c *config) { c.exportGap = f })
}

// WithNamesKV makes the node use wrap(kv) for its names bucket kv.
func WithNamesKV(wrap func(kv jetstream.KeyValue) jetstream.KeyValue) Option {
	return optionFunc(func(c *config) { c.namesKV = wrap })
}

// ClaimAwaited reports whether a Claim of name under way on n is waited
// for by a LookupOrSpawn (see awaitClaim).
func ClaimAwaited(n *Node, name string) bool {
	n.namesMu.Lock()
	r := n.names
	n.namesMu.Unlock()
	if r == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.claims[name]
	return c != nil && c.settled != nil
}

// Halted is closed once n's stop has begun.
func (n *Node) Halted() <-chan struct{} { return n.halted.Done() }

// ChainIDs is how many actors have a chain id on n (see chainIDLocked).
func (n *Node) ChainIDs() int {
	if m := n.chainIDs.Load(); m != nil {
		return len(*m)
	}
	return 0
}

// FollowLapsed reports whether f's keepalive or Close has detached it.
func FollowLapsed[E any](f *Follow[E]) bool { return f.isClosed() }

// WithDropControl makes the node drop each control message of its served
// streams' readers for which drop returns true, as if lost on the way.
func WithDropControl(drop func(data []byte) bool) Option {
	return optionFunc(func(c *config) { c.dropControl = drop })
}

// ServedStreams is how many streams n serves (their keepers run).
func ServedStreams(n *Node) int {
	n.streamsMu.Lock()
	defer n.streamsMu.Unlock()
	return len(n.streams)
}

// WithWindowFull makes f run, its stream's lock held, each time a served
// stream's pump waits for room in its window (f must not block).
func WithWindowFull(f func()) Option {
	return optionFunc(func(c *config) { c.windowFull = f })
}

// WithStreamPending sets the pending limit in bytes of the node's stream
// readers' subscriptions (streamPendingBytes by default) and so, on a
// serving node, its window's bound in bytes (a quarter of it).
func WithStreamPending(bytes int) Option {
	return optionFunc(func(c *config) { c.streamPending = bytes })
}

// Flush round-trips to n's NATS server: what n published before is
// processed by the server, and what the server sent n before is
// delivered to n's subscriptions (or dropped by them).
func (n *Node) Flush() error { return n.nc.Flush() }

// InFlight is the size in bytes of the unacknowledged frames of the
// streams n serves.
func InFlight(n *Node) int {
	n.streamsMu.Lock()
	defer n.streamsMu.Unlock()
	total := 0
	for _, st := range n.streams {
		st.mu.Lock()
		for _, b := range st.unacked {
			total += len(b)
		}
		st.mu.Unlock()
	}
	return total
}

// FollowPending reports what waits in f's subscription (frames, bytes)
// and how many frames it dropped, over its pending limit.
func FollowPending[E any](f *Follow[E]) (msgs, bytes, dropped int) {
	msgs, bytes, _ = f.sub.Pending()
	dropped, _ = f.sub.Dropped()
	return msgs, bytes, dropped
}

// WithStreamPendingMsgs sets the pending limit in messages of the node's
// stream readers' subscriptions (4 windows by default).
func WithStreamPendingMsgs(msgs int) Option {
	return optionFunc(func(c *config) { c.streamPendingMsgs = msgs })
}

// WithSilence sets how long the node's stream readers and served streams
// wait to hear from the other side before giving up (three heartbeats by
// default), so that tests with short heartbeats do not depend on the
// machine's load.
func WithSilence(d time.Duration) Option {
	return optionFunc(func(c *config) { c.silence = d })
}

// SetFollowTimeout sets f's read timeout, as actor.ReadTimeout at its
// Open would have, between two reads of its owner.
func SetFollowTimeout[E any](f *Follow[E], d time.Duration) { f.timeout = d }
