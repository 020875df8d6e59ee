package remote

import "github.com/nats-io/nats.go"

// DeliverCancel hands n a cancel for the call or stream whose reply
// subject is subj, as if it had come over the wire (tests: a cancel that
// arrives before its call, which NATS does not order).
func (n *Node) DeliverCancel(subj string) { n.onCancel(&nats.Msg{Data: []byte(subj)}) }
