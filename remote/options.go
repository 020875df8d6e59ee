package remote

import (
	"fmt"
	"os"
	"regexp"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Defaults of Start.
const (
	// DefaultCallTimeout is the deadline of a remote call whose ctx has
	// none, and of an incoming request that carries none.
	DefaultCallTimeout = 5 * time.Second
	// DefaultMaxDeadline is the longest deadline a serving node grants a
	// request: a caller claiming more is clamped to it.
	DefaultMaxDeadline = time.Minute
	// DefaultMaxMessage is the largest request or reply a node decodes
	// (256 KiB, well under NATS's 1 MiB max payload).
	DefaultMaxMessage = 256 << 10
	// DefaultPrefix is the first token of every subject of the remote
	// module.
	DefaultPrefix = "troupe"
	// DefaultVersion is the version exports are announced with.
	DefaultVersion = "1.0.0"
	// DefaultResolveWait is how long Resolve gathers answers after the
	// first one.
	DefaultResolveWait = 50 * time.Millisecond
	// DefaultLease is how long a claimed name outlives its owner's last
	// refresh (see Claim).
	DefaultLease = 10 * time.Second
	// DefaultHeartbeat is how often a quiet stream's serving node says it
	// is alive; see WithHeartbeat.
	DefaultHeartbeat = 2 * time.Second
	// EnvURL is the environment variable Start reads when WithURL is not
	// given.
	EnvURL = "TROUPE_NATS_URL"
)

// Option configures Start.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	// exportGap, set by this package's tests only (WithExportGap), runs in
	// an Export between its service's confirmation and its registration:
	// its requests may be served already. An error fails the Export as
	// startService's would.
	exportGap func(n *Node, name string) error
	// namesKV, set by this package's tests only (WithNamesKV), wraps the
	// names bucket the node uses: a wrapper can make a request's answer
	// lost, or change the bucket between two requests of a Claim.
	namesKV func(jetstream.KeyValue) jetstream.KeyValue
	// dropControl, set by this package's tests only (WithDropControl),
	// sees each control message a reader sends to one of the node's
	// served streams; true drops it, as if lost on the way.
	dropControl func(data []byte) bool
	// windowFull, set by this package's tests only (WithWindowFull), is
	// called, its stream's lock held, each time a served stream's pump
	// waits for room in its window.
	windowFull func()
	// streamPending, set by this package's tests only
	// (WithStreamPending), replaces streamPendingBytes (see pending).
	streamPending int
	// streamPendingMsgs, set by this package's tests only
	// (WithStreamPendingMsgs), replaces a reader's subscription's pending
	// limit in messages (4 windows).
	streamPendingMsgs int
	// silence, set by this package's tests only (WithSilence), replaces
	// three heartbeats as the silence after which a stream's reader or
	// its serving node gives up on the other (see silent).
	silence time.Duration

	url          string
	server       ServerFunc
	name         string
	prefix       string
	version      string
	callTimeout  time.Duration
	maxDeadline  time.Duration
	maxMessage   int
	resolveWait  time.Duration
	lease        time.Duration
	heartbeat    time.Duration
	nameReplicas int
	authorize    Authorizer
	refused      func(Refusal)
	codecs       []Codec
	nats         []nats.Option
	errs         []error // from options that could not be applied
}

func defaults() config {
	return config{
		url:          os.Getenv(EnvURL),
		prefix:       DefaultPrefix,
		version:      DefaultVersion,
		callTimeout:  DefaultCallTimeout,
		maxDeadline:  DefaultMaxDeadline,
		maxMessage:   DefaultMaxMessage,
		resolveWait:  DefaultResolveWait,
		lease:        DefaultLease,
		heartbeat:    DefaultHeartbeat,
		nameReplicas: 1,
	}
}

var (
	tokenRe  = regexp.MustCompile(`^[A-Za-z0-9\-_]{1,64}$`)
	semverRe = regexp.MustCompile(`^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)
)

// pending is the pending limit in bytes of a stream reader's subscription.
func (c *config) pending() int {
	if c.streamPending > 0 {
		return c.streamPending
	}
	return streamPendingBytes
}

// pendingMsgs is the pending limit in messages of a stream reader's
// subscription.
func (c *config) pendingMsgs() int {
	if c.streamPendingMsgs > 0 {
		return c.streamPendingMsgs
	}
	return 4 * streamWindow
}

// silent is how long a stream's reader or its serving node waits to hear
// from the other before giving up: three heartbeats.
func (c *config) silent() time.Duration {
	if c.silence > 0 {
		return c.silence
	}
	return 3 * c.heartbeat
}

func (c *config) validate() error {
	switch {
	case len(c.errs) > 0:
		return fmt.Errorf("%w: %w", ErrInvalidOption, c.errs[0])
	case c.callTimeout <= 0:
		return fmt.Errorf("%w: call timeout %v must be > 0", ErrInvalidOption, c.callTimeout)
	case c.maxDeadline <= 0:
		return fmt.Errorf("%w: max deadline %v must be > 0", ErrInvalidOption, c.maxDeadline)
	case c.maxMessage <= 0:
		return fmt.Errorf("%w: max message %d must be > 0", ErrInvalidOption, c.maxMessage)
	case c.resolveWait <= 0:
		return fmt.Errorf("%w: resolve wait %v must be > 0", ErrInvalidOption, c.resolveWait)
	case c.heartbeat < 10*time.Millisecond:
		return fmt.Errorf("%w: heartbeat %v must be at least 10ms", ErrInvalidOption, c.heartbeat)
	case c.lease < 300*time.Millisecond:
		return fmt.Errorf("%w: lease %v must be at least 300ms", ErrInvalidOption, c.lease)
	case c.nameReplicas < 1 || c.nameReplicas > 5:
		return fmt.Errorf("%w: name replicas %d must be 1 to 5", ErrInvalidOption, c.nameReplicas)
	case !tokenRe.MatchString(c.prefix):
		return fmt.Errorf("%w: prefix %q", ErrInvalidOption, c.prefix)
	case !semverRe.MatchString(c.version):
		return fmt.Errorf("%w: version %q is not semver", ErrInvalidOption, c.version)
	case c.name != "" && !tokenRe.MatchString(c.name):
		return fmt.Errorf("%w: node name %q", ErrInvalidOption, c.name)
	}
	byName := map[string]bool{}
	for _, cd := range c.codecs {
		if cd == nil || !codecNameRe.MatchString(cd.Name()) {
			return fmt.Errorf("%w: codec %v", ErrInvalidOption, cd)
		}
		if byName[cd.Name()] {
			return fmt.Errorf("%w: two codecs named %q", ErrInvalidOption, cd.Name())
		}
		byName[cd.Name()] = true
	}
	return nil
}

// codecsByName is the codecs a node decodes, by their name on the wire:
// WithCodecs's, and JSON as "json" unless one of them is named so.
func (c *config) codecsByName() map[string]Codec {
	m := map[string]Codec{JSON.Name(): JSON}
	for _, cd := range c.codecs {
		m[cd.Name()] = cd
	}
	return m
}

var codecNameRe = regexp.MustCompile(`^[A-Za-z0-9\-_.]{1,32}$`)

// WithURL connects to the NATS server or cluster at url (comma-separated
// URLs for several seeds) instead of TROUPE_NATS_URL or an embedded
// server.
func WithURL(url string) Option { return optionFunc(func(c *config) { c.url = url }) }

// WithServer starts the node's own server with f when no URL is given
// (WithURL, TROUPE_NATS_URL), instead of the registered embedded one. The
// node shuts it down when it closes.
func WithServer(f ServerFunc) Option { return optionFunc(func(c *config) { c.server = f }) }

// WithName names the node (letters, digits, '-', '_'; default a random
// id). The name is the node's id in Resolve's answers, in errors and in
// Owner's: keep it unique in a cluster. Start does not refuse a name
// another live node has (a check would also refuse a node restarted under
// its name while the server still holds its old, dead connection, and
// miss two nodes starting at once); names claimed (Claim) are each
// node's own nonetheless: a node does not take another's claim for its
// own because they share a name, and, restarted under its name, takes
// back a name it had claimed only once its old claim is released or its
// lease ends.
func WithName(name string) Option { return optionFunc(func(c *config) { c.name = name }) }

// WithPrefix sets the first token of the node's subjects (default
// "troupe"): nodes with different prefixes do not see each other.
func WithPrefix(p string) Option { return optionFunc(func(c *config) { c.prefix = p }) }

// WithVersion sets the semantic version the node's exports are announced
// with (default "1.0.0"), as Resolve and `nats micro info` show it.
func WithVersion(v string) Option { return optionFunc(func(c *config) { c.version = v }) }

// WithCallTimeout sets the deadline of remote calls whose ctx has none,
// and of incoming requests that carry none (default 5 s; > 0).
func WithCallTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.callTimeout = d })
}

// WithMaxDeadline sets the longest deadline the node grants an incoming
// request (default 1 min; > 0): a caller claiming more is clamped.
func WithMaxDeadline(d time.Duration) Option {
	return optionFunc(func(c *config) { c.maxDeadline = d })
}

// WithMaxMessage sets the largest request the node decodes and the largest
// reply it decodes or sends, in bytes (default 256 KiB; > 0). Larger ones
// are refused with ErrTooLarge before decoding; an error reply is not (a
// serving node cuts its error's text and stack to fit its own cap and
// the server's maximum payload), so that a caller gets the error with its
// code, or the panic, whatever the caps. Casts travel in batches
// of up to 64 KiB (or the sending node's cap, if smaller), a larger one
// alone (up to the sending node's cap); a receiving
// node holds each cast of a batch to its own cap, so a larger batch of
// casts that each fit is served, and a cast over it is refused alone
// (and reported, as ReasonTooLarge). A stream's items are held to it and
// to the stream's window (16 MiB, a quarter of a reader's pending limit):
// a larger item ends the stream with ErrTooLarge.
func WithMaxMessage(n int) Option { return optionFunc(func(c *config) { c.maxMessage = n }) }

// WithResolveWait sets how long Resolve keeps gathering answers after the
// first (default 50 ms; > 0).
func WithResolveWait(d time.Duration) Option {
	return optionFunc(func(c *config) { c.resolveWait = d })
}

// WithHeartbeat sets how often a stream this node serves says it is
// alive when it has nothing else to send, and so how soon a silent peer is
// noticed: a reader silent for three heartbeats is dropped, a stream
// silent for three of its reader's heartbeats fails with ErrStreamLost,
// and frames lost on the way (a reconnect) are noticed by their reader
// at the next heartbeat at the latest, which carries the next frame's
// number, and resent from the first one missing (a window left
// unacknowledged is not resent unasked: a paused reader holds it unread)
// (default 2 s; at least 10 ms). Both sides of a stream should agree.
func WithHeartbeat(d time.Duration) Option { return optionFunc(func(c *config) { c.heartbeat = d }) }

// WithLease sets how long a name claimed by this node stays taken after
// the node stops refreshing it — that is, after it dies (default 10 s; at
// least 300 ms). The node refreshes its claims three times per lease. All
// nodes of a cluster must agree: the first to use the names bucket sets
// its TTL.
func WithLease(d time.Duration) Option { return optionFunc(func(c *config) { c.lease = d }) }

// WithNameReplicas sets how many servers of a JetStream cluster keep the
// names bucket (default 1; at most 5), when this node is the first to use
// it.
func WithNameReplicas(r int) Option { return optionFunc(func(c *config) { c.nameReplicas = r }) }

// WithAuthorizer runs f on every incoming request and cast, before it is
// decoded; a non-nil error refuses it with ErrUnauthorized (the error's
// text goes to the caller), and so does a panic. f runs on the
// subscription's goroutine: keep it short and non-blocking; it must be
// safe for concurrent use.
func WithAuthorizer(f Authorizer) Option { return optionFunc(func(c *config) { c.authorize = f }) }

// WithRefusalHook calls f with every request the node refuses or drops and
// every reply it discards, so none is silent: each once. What the node
// handed to its actor and the actor did not run — a cast its mailbox
// refused (ReasonCastFailed), a call, cast or stream open whose turn came
// past its claim's lease (ReasonNameLost), a call whose caller gave up
// before its turn (ReasonLate) — is also a dead letter of the runtime
// (runtime.WithDeadLetterHook), which reports it from the actor's side.
// f runs on the goroutine where it happened: keep it short and
// non-blocking.
func WithRefusalHook(f func(Refusal)) Option { return optionFunc(func(c *config) { c.refused = f }) }

// WithCodecs lets the node decode requests in these codecs besides JSON
// (and encode their replies in them), each found by the name a request
// gives (Codec.Name). Names must differ: Start refuses two codecs of one
// name with ErrInvalidOption. One named "json" — which must read and
// write standard JSON — replaces the package's JSON on this node, for
// requests that name "json" and those that name no codec.
func WithCodecs(cs ...Codec) Option {
	return optionFunc(func(c *config) { c.codecs = append(c.codecs, cs...) })
}

// WithUserInfo authenticates to NATS with a user and password (harp's
// HarpServer(user, password)).
func WithUserInfo(user, password string) Option {
	return WithNATSOptions(nats.UserInfo(user, password))
}

// WithToken authenticates to NATS with a token.
func WithToken(token string) Option { return WithNATSOptions(nats.Token(token)) }

// WithNkeySeed authenticates to NATS with the nkey whose seed is in file.
// A file that cannot be read makes Start fail with ErrInvalidOption.
func WithNkeySeed(file string) Option {
	return optionFunc(func(c *config) {
		o, err := nats.NkeyOptionFromSeed(file)
		if err != nil {
			c.errs = append(c.errs, err)
			return
		}
		c.nats = append(c.nats, o)
	})
}

// WithCAFile verifies the server's TLS certificate against the CAs in file
// (harp's ca_file); the connection then requires TLS.
func WithCAFile(file string) Option { return WithNATSOptions(nats.RootCAs(file)) }

// WithClientCert presents a client certificate over TLS (mutual TLS).
func WithClientCert(certFile, keyFile string) Option {
	return WithNATSOptions(nats.ClientCert(certFile, keyFile))
}

// WithNATSOptions passes options through to nats.Connect, after the
// node's own (name, in-process connection, reconnect policy).
func WithNATSOptions(opts ...nats.Option) Option {
	return optionFunc(func(c *config) { c.nats = append(c.nats, opts...) })
}
