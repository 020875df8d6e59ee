// Package remote puts troupe actors on NATS: typed calls to actors on other
// nodes, a locator, deadlines and call-cycle detection across the wire.
//
//	import (
//		"github.com/troupe-go/troupe/remote"
//		_ "github.com/troupe-go/troupe/remote/embedded" // no URL: run a NATS server in-process
//	)
//
//	node, err := remote.Start(ctx, rt) // TROUPE_NATS_URL or remote.WithURL: the operator's cluster
//	defer node.Shutdown(ctx)
//	err = remote.Export(node, "accounts", acct, remote.Serve(Deposit), remote.Serve(Withdraw))
//
//	dep := remote.Bind(other, "accounts", Deposit) // typed like Deposit
//	bal, err := dep.Call(ctx, 10)
//	svc, err := remote.Resolve(ctx, other, "accounts") // nodes, version, API
//
// # Which server
//
// [Start] connects to WithURL's server, else to TROUPE_NATS_URL's, else
// starts one: WithServer's, or the embedded one that package
// remote/embedded registers when imported (in-process, loopback only,
// random port, JetStream in a temporary directory, shut down with the
// node). Only remote/embedded links nats-server: a client-only program
// imports remote alone.
//
// # Export and bind: deny by default
//
// Nothing of a runtime is reachable unless exported: [Export] names the
// actor and the very methods ([Serve]) other nodes may call; no method is
// looked up by a name read from the wire. Each exported name is a NATS
// micro service (so `nats micro ls|info|stats` work) with one endpoint
// per method, subject <prefix>.<name>.<method>, queue group "troupe":
// several nodes exporting one name share its calls. A [Binding] (made by
// [Bind] from the method itself, so it is typed) calls it with Call, Cast
// or Ask.
//
// # Outcomes
//
// A remote Call has exactly one outcome, like a local one: the reply; the
// handler's error as an [*Error] with its message and a stable code (a
// handler picks its own with [CodedError]); a [*PanicError] carrying the
// remote stack; or a sentinel — ErrTimeout (errors.Is also matches
// actor.ErrTimeout and context.DeadlineExceeded), ErrStopped
// (actor.ErrStopped), ErrMailboxFull, ErrCallCycle (actor.ErrCallCycle),
// ErrNotFound (NATS "no responders": not exported, or nobody serves it),
// ErrTooLarge, ErrUnauthorized, ErrBadRequest, ErrCodec, ErrClosed,
// ErrUnavailable (the connection is down and cannot take the request).
// Replies are decoded with the binding's [Codec] (JSON by default).
//
// # Streams
//
// [ServeStream] exports an actor.Stream; [BindStream] opens it from
// another node and returns a [Follow] with the local reader's semantics:
// the actor's sequence numbers, placed by the local reader's options
// (actor.Since, actor.Recent, actor.ReadTimeout), an
// *actor.TruncatedError when the serving node's reader fell behind the
// journal, the handler's error or panic as the last pair. [Follow.All]
// follows the stream to its end (harp's follow); [Follow.Collected] returns
// what the serving node's stream holds now, without waiting for new items,
// and io.EOF once it has ended and all was returned (harp's stream), as a
// local reader's Collected: it asks the serving node how far that is (one
// round trip, bounded by WithCallTimeout) and reads that far. Frames are numbered
// and acknowledged: the serving node keeps a window of 256 unacknowledged
// frames and 16 MiB, a quarter of a reader's subscription's pending limit (a
// slow reader slows it down instead of losing items; a paused one's
// subscription holds its window; an item over 16 MiB ends the stream with
// ErrTooLarge, whatever WithMaxMessage allows) and resends what
// a reader reports missing — heartbeats carry the next frame number, so a lost
// tail is reported too —, so a stream survives a NATS reconnect whole, in
// order, each item once. A reader that acknowledges nothing is sent heartbeats,
// not its window again, and a paused reader (frames waiting unread) not even
// those: it resumes where it stopped, however long it paused. A reader silent
// for three heartbeats (WithHeartbeat) is dropped, and reported (ReasonLate) unless every item sent to it was
// acknowledged: a reader that got the whole stream but whose acknowledgement of
// the end was lost is no dead letter; a stream silent that long fails with
// ErrStreamLost; a serving node that closes ends its streams with ErrClosed (an
// end frame a reader missed is sent again, as any lost frame, while the stop
// lasts — while Shutdown waits for the calls it serves, say —, not after: a
// reader that missed it then gets ErrStreamLost); a stream served under a
// claimed name ends with ErrNotFound at its first item or end past the
// claim's lease (see Names across nodes): its reader opens it again, against the name's
// owner; a reader's node that closes
// ends its readers with ErrClosed and tells their serving nodes, which release
// them at once (the actor's Out sees actor.ErrNoReader once it has no reader
// left). A reader's [Follow.Ref] names
// its stream: StreamBinding.Follow attaches another reader to it from any node
// — to resume where a reader stopped, with actor.Since(last seq + 1) — as
// actor.Stream.Follow does locally. Opening a stream is bounded as a call is
// (its caller's deadline, clamped to the serving node's WithMaxDeadline, and
// the handler's turn sees it); the stream, once open, is not: it lives as long
// as its readers.
//
// # Deadlines
//
// The caller's remaining time travels as a relative duration (no clock sync
// needed). The serving node clamps it to WithMaxDeadline, drops a request that
// arrives already expired before decoding it (no reply: its caller has given
// up), and gives the actor a ctx with that deadline: the handler's c.Context()
// ends when the caller's deadline passes. A caller that cancels its ctx sends a
// cancel message (best effort, at most once) and the handler's Context ends
// too; a cancel that overtakes its call (they travel on different subjects) is
// remembered, and the call is dropped when it arrives, before it runs
// (ReasonCancelled). A reply that comes after its caller gave up is discarded
// on both sides and reported, never delivered to another call.
//
// # Call cycles
//
// The wait-for chain travels with each call (header Troupe-Chain): a call
// that reaches an actor already waiting in the chain fails at once with
// ErrCallCycle instead of deadlocking until the deadline — A → B → A
// across nodes, as long as handlers pass c.Context() on. An exported
// actor joins the chain when its call comes over the wire, and when its
// handler calls out over the wire though its own call was local (the core
// says which actor made a ctx: actor.CallerID). Not caught: a chain that
// re-enters a node through a local call to an actor that waits on a
// remote one (A → B (remote) → C, which calls A in process): the local
// call sees no local waiter, and the deadline ends it.
//
// # Security
//
// Before a request is decoded the serving node checks its size
// (WithMaxMessage, 256 KiB by default), its deadline, the [Authorizer]
// (WithAuthorizer: the request's headers and method) and the call chain;
// each refusal answers the caller with its sentinel and is reported to
// the WithRefusalHook hook; none reaches a handler. The NATS connection
// takes a user and password, a token, an nkey seed, a CA file and a
// client certificate (WithUserInfo, WithToken, WithNkeySeed, WithCAFile,
// WithClientCert) — harp's HarpServer(user, password, ca_file).
//
// # Names across nodes
//
// [Claim] takes a name for an actor across the cluster — refused on every
// other node while its owner lives ([*NameTakenError], ErrNameTaken), free
// again within a lease (WithLease) after the owner dies — and exports the
// actor under it, so Bind(anyNode, name, method) reaches it wherever it
// lives. [Owner] says which node has a name; [LookupOrSpawn] is
// runtime.LookupOrSpawn for the cluster (one session actor per user,
// whichever node the user lands on). The registry is a JetStream
// key-value bucket (Create, a TTL, a keeper refreshing each claim three
// times per lease, and a watch that kills the actor of a claim taken over
// behind its owner's back); it needs JetStream (ErrNoJetStream). A claim
// whose lease runs out unrefreshed (its node paused, or cut off from
// JetStream) is fenced at once: what reaches the name on that node is
// refused as for a name nobody serves (ErrNotFound), not run, even before
// the keeper gives the claim up — a call, cast or stream open queued at
// the actor in time whose turn comes later too (a cast refused so is
// reported, ReasonNameLost), and a stream opened in time sends no item past
// the lease (it ends with ErrNotFound). A handler already running when the
// lease runs out finishes, and its reply is sent, past the lease as it may
// be: the call began while the name was this node's, and its caller gets
// that one outcome (ErrNotFound would have it call the name's next owner
// for what may have run here already). A claim released — by its node's
// Shutdown or Close, or Unexport — is fenced so too before another node
// can take the name: a call, cast or stream open queued at the actor
// whose turn comes after the release is refused (ErrNotFound), not run
// beside the name's next owner; a handler already running finishes. The
// node leaves the name's queue group before it releases the claim: a call
// made once another node has taken the name reaches that node, not the
// one giving it up (which would refuse it, closing, with ErrClosed).
//
// # Delivery
//
// A Call is at most once: a request is sent once and never retried, so a
// handler runs at most once per call; its reply may be lost (the caller then
// gets ErrTimeout and cannot know whether the handler ran). Requests from one
// node reach an exported actor in the order they arrive at the serving node
// (they are queued at the actor on the subscription's goroutine). A Cast is at
// most once and unacknowledged. Casts are batched per binding: a node's flusher
// publishes each binding's queued casts as one NATS message, so casts from one
// binding reach a node in the order they were made; with several nodes in a
// queue group, each batch goes to one of them. Casts the connection refused are
// reported (ReasonCastFailed) on the sending node, and so, when its connection
// drops and at its stop, are those the server never confirmed having (they
// may have been lost). Core NATS
// has no flow control: a serving node that falls behind drops messages
// (reported to its refusal hook as ReasonDropped), never silently. Cancels and
// name releases are best effort; a name's lease is the bound when they are
// lost.
//
// # Costs
//
// Measured on 2 cores (bench_test.go; bench/RESULTS.md, run of
// 2026-12-05 07:12Z): a remote Call over the embedded server is about
// 1.2× a bare nats.go request/reply with the same payload and JSON codec
// (about 24 µs in-process, 46 µs over loopback TCP); one sender's Casts
// reach the actor at about 800,000 per second over loopback TCP (1.07×
// bare nats.go publishes: JSON decoding on the serving node is the
// bound); a remote stream delivers about 470,000–480,000 items per
// second.
//
// # Goroutines and shutdown
//
// A node runs nats.go's goroutines, its cast flusher, one goroutine per
// call it serves while its actor works on it (a call answered at once is
// answered from the subscription's goroutine), two per stream it serves
// (its pump and its keeper), one per export (watching its actor's Done),
// the names' keeper and watch once names are used, and, if it started
// one, the embedded server's. A remote reader ([Follow]) has no goroutine:
// a timer acknowledges for it while it is open. [Node.Shutdown] is
// graceful (exports leave their queue groups, then claims are released,
// streams end with ErrClosed, requests received but not yet handled are
// refused, served calls finish, the bindings' calls get their replies,
// casts are flushed; then the connection closes, then the server),
// [Node.Close] immediate (served calls are cancelled); both are
// idempotent, wait for every goroutine of the node, and leave the runtime
// running. Afterwards every call returns ErrClosed.
//
// No request delivered to a stopping node is left to its caller's
// deadline: one still queued in its endpoint's subscription when the
// export leaves its queue group is refused at once (the caller gets
// ErrClosed). The connection closes only once every subscription on it
// with a handler (the node's, and any made on [Node.Conn]) has handled
// what it had received; a forced stop (Close, or Shutdown's ctx ended)
// waits for that a second at most, then drops what is left. Before it
// closes, the server confirms having everything the node published, the
// ErrClosed answers and stream ends of the stop among them (one flush,
// bounded by the call timeout; a forced stop waits a second at most, and
// skips it if the connection is down).
package remote
