package remote

import (
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
