package remote

import (
	"context"
	"strings"
)

// Call-cycle detection across nodes.
//
// Every actor a node exports has a chain id, "<node>/<process>/<n>" (the
// process's random id keeps apart nodes started under one name: see
// claimValue). When the node serves a call, the ctx it hands the actor
// carries the wait-for chain the request came with plus that actor's id;
// a handler that calls on with its c.Context() (or a ctx derived from it,
// through any number of local calls) sends the chain in the Troupe-Chain
// header. A node that receives a call for an actor already in the chain
// refuses it at once with ErrCallCycle: that actor waits, directly or
// through others, for the caller. The chain grows by one id per remote
// hop and is bounded (maxChain): beyond that, detection falls back to the
// deadline.
//
// An actor whose call did not come in over the wire (a local caller) has
// no chain in its ctx: a request it makes gets its chain id from
// actor.CallerID (Node.callerChain), if the node exports it.
const maxChain = 64

type chainKey struct{}

// chainOf is the wait-for chain a ctx carries, or "".
func chainOf(ctx context.Context) string {
	s, _ := ctx.Value(chainKey{}).(string)
	return s
}

// appendChain adds id to chain, unless the chain is full.
func appendChain(chain, id string) string {
	if chain == "" {
		return id
	}
	if strings.Count(chain, ",")+1 >= maxChain {
		return chain
	}
	return chain + "," + id
}

// chainHas reports whether id is one of chain's comma-separated ids.
// O(len(chain)), no allocation.
func chainHas(chain, id string) bool {
	for chain != "" {
		i := strings.IndexByte(chain, ',')
		if i < 0 {
			return chain == id
		}
		if chain[:i] == id {
			return true
		}
		chain = chain[i+1:]
	}
	return false
}
