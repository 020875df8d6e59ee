package remote

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nuid"

	"github.com/troupe-go/troupe/actor"
	troupe "github.com/troupe-go/troupe/runtime"
)

// The states of a node.
const (
	running int32 = iota
	closing
	closed
)

// Node is one runtime's presence on NATS: its connection, the actors it
// exports, and the replies of the calls its bindings make. Start one per
// runtime. Safe for concurrent use. A Node not made by Start (a zero
// one) is refused as a nil one is: ErrNilNode.
//
// Goroutines: nats.go's (reader, flusher, one per subscription: the reply
// inbox, the cancel subject, and each exported method), the cast flusher,
// one per served call while its actor works on it, one per export
// watching its actor's Done, the names' keeper and watch (once used), and
// those of the embedded server if the node started one. Shutdown and
// Close stop them all.
type Node struct {
	cfg   config
	rt    *troupe.Runtime
	id    string
	nc    *nats.Conn
	srv   Server // the node's own server, or nil
	inbox string // reply subjects are inbox + token
	url   string // where it connected
	// codecs is what requests are decoded with, by the name they give
	// (cfg.codecsByName); read-only.
	codecs map[string]Codec

	base       context.Context // parent of every served call's ctx; ends at Close
	cancelBase context.CancelFunc
	quit       chan struct{} // closed when the stop begins: export watchers exit

	state atomic.Int32
	calls pendingTable // the bindings' calls waiting for replies

	// chainIDs is each exported actor's chain id, by actor.Ref.ID: an
	// immutable map, replaced (copied) under mu when an export adds an
	// id or its actor's last export goes, read without a lock by every
	// request a handler makes (callerChain).
	chainIDs atomic.Pointer[map[uint64]string]

	mu      sync.Mutex // guards what follows
	exports map[string]*export
	serving map[string]canceler // served calls and streams by reply subject
	early   *earlyCancel        // cancels that came before their call
	served  sync.WaitGroup      // served calls' and watchers' goroutines (Add under mu)

	// chainRefs (guarded by mu) counts each actor's exports, and exports
	// in progress, holding its chain id; chainSeq numbers the ids made.
	chainRefs map[uint64]int
	chainSeq  int

	// exporting (guarded by mu) is the names of the exports in progress:
	// reserved, their service made and confirmed by the server without mu.
	exporting map[string]bool
	exportWG  sync.WaitGroup // exports in progress (Add under mu, while running)

	castMu      sync.RWMutex // held (read) while a cast is queued; stop takes it to close the queue
	readyMu     sync.Mutex   // guards readyList
	readyList   []*castBatch
	kick        chan struct{} // wakes the flusher
	flusherQuit chan struct{}
	flusherDone chan struct{}
	// castsOut counts the casts handed to nats.go (published, or kept in
	// its reconnect buffer); castsSeen is what castsOut was when the last
	// flush the server confirmed began. The difference is what the stop
	// reports as maybe lost if its final flush fails.
	castsOut, castsSeen atomic.Uint64
	// castsGen is the connection (nats.go's count of reconnects) the
	// casts published since castsSeen last moved went to: a flush
	// confirms them only if the connection that answered it is that one
	// (the disconnect handler that settles those of a dropped connection
	// runs late, on nats.go's callback goroutine, possibly after a flush
	// on the next connection).
	castsGen atomic.Uint64

	streamWG sync.WaitGroup // served streams' goroutines (Add under mu)
	// readers is this node's open remote readers (Follows), each with
	// its lapse: the stop detaches them, telling their serving nodes.
	readersMu sync.Mutex
	readers   map[any]func(error)
	streamsMu sync.Mutex // guards streams and streamSeq
	streams   map[string]*streamServer
	streamSeq uint64

	// claimMark is what the node writes to the keys of the names it
	// claims: its id and a random id of this process (see claimValue),
	// so that a claim is recognised as its own only by the node that
	// made it, not by another one started under the same name. Its
	// actors' chain ids begin with it, for the same reason.
	claimMark string
	namesMu   sync.Mutex // guards names
	names     *names     // the name registry, made on first use
	// rewatch asks the names watch to make itself again: the connection
	// reconnected (the server may have restarted, its consumer gone with
	// it), or the names bucket was made again (see remake).
	rewatch chan struct{}

	replies   *nats.Subscription
	cancelSub *nats.Subscription
	refusals  atomic.Uint64

	begin sync.Once
	// halted ends when the stop begins: what waits on the server for a
	// caller (names' first use) gives up, rather than hold the stop.
	halted context.Context
	halt   context.CancelFunc
	forced context.Context
	force  context.CancelFunc
	done   chan struct{}
	err    error // read after done
}

// Start puts rt on NATS and returns its node. The server is, in order:
// WithURL's, TROUPE_NATS_URL's, WithServer's, or the embedded one (package
// remote/embedded, registered when imported): a server in this process,
// loopback only, random port, JetStream in a temporary directory, owned
// by the node and shut down with it. Blocks until connected, bounded by
// ctx. Errors: ErrInvalidOption, ErrNoServer (also when the server
// function returns a nil Server and no error), ErrNilNode (nil rt), or
// the connection's error (wrapping nats.go's, or ctx's once it ended).
func Start(ctx context.Context, rt *troupe.Runtime, opts ...Option) (*Node, error) {
	if ctx == nil {
		return nil, actor.ErrNilContext
	}
	if rt == nil {
		return nil, fmt.Errorf("%w: nil runtime", ErrNilNode)
	}
	c := defaults()
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: nil option", ErrInvalidOption)
		}
		o.apply(&c)
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	n := &Node{cfg: c, rt: rt, id: c.name, quit: make(chan struct{}), done: make(chan struct{}),
		exports: map[string]*export{}, exporting: map[string]bool{}, chainRefs: map[uint64]int{}, serving: map[string]canceler{}, early: &earlyCancel{set: map[string]struct{}{}},
		streams: map[string]*streamServer{}, codecs: c.codecsByName()}
	if n.id == "" {
		n.id = nuid.Next()
	}
	n.claimMark = claimValue(n.id, nuid.Next())
	n.rewatch = make(chan struct{}, 1)
	url := c.url
	if url == "" {
		start := c.server
		if start == nil {
			start = registeredServer()
		}
		if start == nil {
			return nil, ErrNoServer
		}
		srv, err := start(ctx)
		if err != nil {
			return nil, fmt.Errorf("remote: start server: %w", err)
		}
		if srv == nil {
			return nil, fmt.Errorf("%w: the server function returned none", ErrNoServer)
		}
		n.srv, url = srv, srv.ClientURL()
	}
	nopts := []nats.Option{nats.Name("troupe-" + n.id), nats.MaxReconnects(-1), nats.ReconnectWait(100 * time.Millisecond),
		nats.ErrorHandler(n.asyncError)}
	p, inProcess := n.srv.(nats.InProcessConnProvider)
	if inProcess {
		nopts = append(nopts, nats.InProcessServer(p))
	}
	// nats.go bounds the connect by its Timeout, whatever ctx: ctx's
	// deadline, for an in-process server; over the network, the dialer
	// closes the connection as ctx ends (cancelled too), and the Timeout
	// is a second past the deadline, so that ctx's end comes first.
	var dialer *startDialer
	if d, ok := ctx.Deadline(); ok && inProcess {
		nopts = append(nopts, nats.Timeout(time.Until(d)))
	} else if ok {
		nopts = append(nopts, nats.Timeout(time.Until(d)+time.Second))
	}
	if !inProcess {
		dialer = newStartDialer(ctx, append(nopts, c.nats...))
		nopts = append(nopts, nats.SetCustomDialer(dialer)) // WithNATSOptions' own wins
	}
	nopts = append(nopts, c.nats...)
	n.url = url
	if err := n.connect(ctx, url, nopts, dialer); err != nil {
		if n.srv != nil {
			n.srv.Shutdown()
		}
		return nil, err
	}
	n.base, n.cancelBase = context.WithCancel(context.Background())
	n.halted, n.halt = context.WithCancel(context.Background())
	n.forced, n.force = context.WithCancel(context.Background())
	n.kick, n.flusherQuit, n.flusherDone = make(chan struct{}, 1), make(chan struct{}), make(chan struct{})
	go n.flusher()
	return n, nil
}

// connectFlush bounds connect's flush when Start's ctx has no deadline
// (nats.go's Flush waits as long, whatever ctx).
const connectFlush = 10 * time.Second

// connect dials and makes the node's two subscriptions; their flush is
// bounded by ctx (and connectFlush). The dial and the server's greeting
// are bounded by ctx through dialer (nil for an in-process server).
func (n *Node) connect(ctx context.Context, url string, opts []nats.Option, dialer *startDialer) error {
	nc, err := nats.Connect(url, opts...)
	if dialer != nil && !dialer.connected() && err == nil {
		nc.Close() // ctx ended as it connected: its connection was closed
		err = ctx.Err()
	}
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("remote: connect: %w: %w", ctx.Err(), err)
	}
	if err != nil {
		return fmt.Errorf("remote: connect: %w", err)
	}
	n.nc = nc
	n.inbox = nc.NewInbox() + "."
	n.calls.init()
	// A connection closed for good (no reconnect left, or the node's
	// stop) ends the calls waiting for replies it can no longer bring:
	// ErrClosed now, not ErrTimeout at their deadlines. WithNATSOptions'
	// closed handler still runs.
	user := nc.Opts.ClosedCB
	nc.SetClosedHandler(func(c *nats.Conn) {
		n.calls.failAll(fmt.Errorf("%w: %w", ErrClosed, nats.ErrConnectionClosed))
		if user != nil {
			user(c)
		}
	})
	// The names watch's consumer may be gone with a restarted server,
	// and nats.go does not tell: it is made again.
	reconnected := nc.Opts.ReconnectedCB
	nc.SetReconnectHandler(func(c *nats.Conn) {
		n.askRewatch()
		if reconnected != nil {
			reconnected(c)
		}
	})
	// Casts handed to nats.go before the connection dropped and not yet
	// confirmed may have died with it (written to the old socket): they
	// are reported now, as a stop reports them, not confirmed later by a
	// flush on the new connection (which checks castsGen, should this
	// handler run late). WithNATSOptions' handler still runs.
	n.castsGen.Store(nc.Stats().Reconnects)
	disconnectedErr, disconnected := nc.Opts.DisconnectedErrCB, nc.Opts.DisconnectedCB
	nc.SetDisconnectErrHandler(func(c *nats.Conn, err error) {
		n.castsDropped(err)
		switch {
		case disconnectedErr != nil:
			disconnectedErr(c, err)
		case disconnected != nil:
			disconnected(c)
		}
	})
	if n.replies, err = nc.Subscribe(n.inbox+"*", n.onReply); err == nil {
		_ = n.replies.SetPendingLimits(-1, -1) // replies are never dropped for being many
		n.cancelSub, err = nc.Subscribe(n.cfg.prefix+"._cancel", n.onCancel)
	}
	if err == nil {
		// The subscriptions are in place before the first call.
		// FlushWithContext needs a deadline; nats.go's Flush has one
		// of its own (10 s) and ignores ctx.
		fctx, cancel := ctx, context.CancelFunc(func() {})
		if _, ok := ctx.Deadline(); !ok {
			fctx, cancel = context.WithTimeout(ctx, connectFlush)
		}
		err = nc.FlushWithContext(fctx)
		cancel()
		if err != nil && ctx.Err() == nil && fctx.Err() != nil {
			err = nats.ErrTimeout // connectFlush's, as nats.go's Flush said
		}
	}
	if err != nil {
		nc.Close()
		return fmt.Errorf("remote: connect: %w", err)
	}
	return nil
}

// startDialer dials as nats.go's default dialer does (the net.Dialer
// given by the options, or one with their Timeout); while Start connects,
// it closes the connections it made when Start's ctx ends, which ends
// nats.go's wait for the server's greeting (bounded by its Timeout only).
type startDialer struct {
	base  net.Dialer
	mu    sync.Mutex      // guards what follows
	ctx   context.Context // Start's; nil once connected
	stops []func() bool   // the AfterFuncs closing the connections
}

func newStartDialer(ctx context.Context, opts []nats.Option) *startDialer {
	o := nats.GetDefaultOptions()
	for _, opt := range opts {
		_ = opt(&o) // an option's error is Connect's to report
	}
	d := &startDialer{ctx: ctx, base: net.Dialer{Timeout: o.Timeout}}
	if o.Dialer != nil {
		d.base = *o.Dialer
	}
	return d
}

// Dial implements nats.CustomDialer.
func (d *startDialer) Dial(network, address string) (net.Conn, error) {
	d.mu.Lock()
	ctx := d.ctx
	d.mu.Unlock()
	if ctx == nil { // a reconnect
		return d.base.Dial(network, address)
	}
	c, err := d.base.DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	d.mu.Lock()
	d.stops = append(d.stops, stop)
	d.mu.Unlock()
	return c, nil
}

// connected ends Start's hold on the connections, once nats.Connect has
// returned; false if ctx ended first (a connection may have been closed).
func (d *startDialer) connected() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	ok := true
	for _, stop := range d.stops {
		ok = stop() && ok
	}
	d.ctx, d.stops = nil, nil
	return ok
}

// asyncError reports what nats.go could not return to anyone: messages a
// subscription dropped for being too slow, a permission refused.
func (n *Node) asyncError(_ *nats.Conn, sub *nats.Subscription, err error) {
	r := Refusal{Reason: ReasonDropped, Err: err}
	if sub != nil {
		r.Method = sub.Subject
	}
	n.refuse(r)
}

// ID is the node's id: WithName's, or a random one. It does not block.
func (n *Node) ID() string {
	if n == nil {
		return ""
	}
	return n.id
}

// URL is the NATS URL the node connected to: WithURL's, TROUPE_NATS_URL's,
// or its own server's loopback URL (which other processes can use).
func (n *Node) URL() string {
	if n == nil {
		return ""
	}
	return n.url
}

// Runtime is the runtime the node serves.
func (n *Node) Runtime() *troupe.Runtime {
	if n == nil {
		return nil
	}
	return n.rt
}

// Conn is the node's NATS connection, for what this package does not
// wrap. Do not close it: close the node.
func (n *Node) Conn() *nats.Conn {
	if n == nil {
		return nil
	}
	return n.nc
}

// Refusals counts the messages the node refused, dropped or discarded
// (see WithRefusalHook). O(1).
func (n *Node) Refusals() uint64 {
	if n == nil {
		return 0
	}
	return n.refusals.Load()
}

// made reports whether n was made by Start: not nil, not a zero Node
// (whose connection is nil).
func (n *Node) made() bool { return n != nil && n.nc != nil }

// open reports ErrClosed once the node's stop has begun.
func (n *Node) open() error {
	if n.state.Load() != running {
		return ErrClosed
	}
	return nil
}

// cfgCallTimeout is the node's call timeout (DefaultCallTimeout for a nil
// node, whose calls fail anyway).
func (n *Node) cfgCallTimeout() time.Duration {
	if n == nil {
		return DefaultCallTimeout
	}
	return n.cfg.callTimeout
}
