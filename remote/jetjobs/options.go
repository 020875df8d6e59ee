package jetjobs

import (
	"fmt"
	"regexp"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// Defaults of New.
const (
	DefaultPrefix    = "jobs"
	DefaultLease     = 30 * time.Second
	DefaultAge       = 24 * time.Hour // records, outputs and dead letters are kept this long
	DefaultBytes     = 1 << 30        // and each stream holds at most this many bytes (the records: age only)
	DefaultMaxQueued = 10_000         // messages per host and queue, waiting or running
)

// Option configures New.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	prefix    string
	node      string
	lease     time.Duration
	age       time.Duration
	bytes     int64
	maxQueued int64
	replicas  int
	storage   jetstream.StorageType
	err       error
}

var prefixRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)

// WithPrefix names the streams, buckets and subjects (default
// DefaultPrefix): nodes share jobs when they share a prefix. 1 to 32
// letters, digits, '-' or '_'.
func WithPrefix(p string) Option {
	return optionFunc(func(c *config) {
		if !prefixRe.MatchString(p) {
			c.err = fmt.Errorf("%w: prefix %q", ErrInvalidOption, p)
			return
		}
		c.prefix = p
	})
}

// WithNode names this node in job records and cancel requests (default:
// a unique id; give remote.Node's ID()). Keep it unique among live
// nodes: it is what a job's record shows. Two nodes with one name (a
// node restarted while its old process lingers, which remote.WithName
// allows) still tell their runs apart: a node takes a record's running
// mark for its own only if it has its start time too.
func WithNode(name string) Option {
	return optionFunc(func(c *config) {
		if name == "" {
			c.err = fmt.Errorf("%w: empty node name", ErrInvalidOption)
			return
		}
		c.node = name
	})
}

// WithLease sets how long a running job's node may stay silent before
// the job counts as lost (default DefaultLease; ≥ 100 ms): the queue
// consumers' AckWait. A node refreshes the lease of each job it runs a
// third of a lease apart (an in-progress ack). A node that dies while
// running a job: the job is failed with jobs.ErrWorkerLost a lease after
// its last refresh, by the next node that serves its host. That node
// reads the record's last write time (the NATS server's clock) with its
// own clock: keep the lease above three times the largest skew between a
// node's clock and the servers' (the default allows about 10 s), else a
// live node's job may be failed as lost (see the package doc, Clocks).
func WithLease(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d < 100*time.Millisecond {
			c.err = fmt.Errorf("%w: lease %v < 100ms", ErrInvalidOption, d)
			return
		}
		c.lease = d
	})
}

// WithRetention bounds the storage (defaults DefaultAge, DefaultBytes;
// both > 0). Job records, outputs and dead letters are dropped age after
// their last write: a job is found by id until its record is dropped,
// then jobs.ErrNotFound. age must exceed the longest a job waits in its
// queue: a queued job whose record is dropped is dead-lettered when it
// comes up. A running job is kept however long it runs: its node
// rewrites its record a third of min(lease, age) apart, and job messages
// (waiting or running) are never dropped by age.
//
// bytes bounds each stream, each its own way. The queue stream (the job
// messages, waiting or running) refuses new work past it: a Submit fails
// with jobs.ErrQueueFull. The output and dead-letter streams drop their
// oldest messages first: a reader gets nil for a dropped output item (a
// running job's too, if the jobs' output passes bytes within age). The
// procedure and queue buckets refuse a registration or a new queue past
// it (jobs.ErrUnavailable). The records bucket has no byte limit, only
// age: a bucket cannot drop its oldest entries, it refuses a write past
// its bytes, and a job's running mark and end are larger than its submit
// record: a byte limit there would refuse the end of a job already
// accepted. Its size is the records written within age: about the jobs
// submitted in an age times (300 bytes + a job's argument and result);
// choose age for the submit rate. A NATS account that requires a byte
// limit on every stream (max_bytes_required) makes New fail.
func WithRetention(age time.Duration, bytes int64) Option {
	return optionFunc(func(c *config) {
		if age <= 0 || bytes <= 0 {
			c.err = fmt.Errorf("%w: retention %v, %d bytes: both must be > 0", ErrInvalidOption, age, bytes)
			return
		}
		c.age, c.bytes = age, bytes
	})
}

// WithMaxQueued bounds the jobs of each host and queue held in the queue
// stream, waiting or running (default DefaultMaxQueued; > 0): a Submit
// beyond it fails with jobs.ErrQueueFull, cluster-wide. A job cancelled
// while it waits counts until its queue comes to it (its message is
// dropped then), unlike in memory, where it leaves its queue at once.
func WithMaxQueued(n int) Option {
	return optionFunc(func(c *config) {
		if n <= 0 {
			c.err = fmt.Errorf("%w: max queued %d must be > 0", ErrInvalidOption, n)
			return
		}
		c.maxQueued = int64(n)
	})
}

// WithReplicas keeps every stream and bucket on n servers of a JetStream
// cluster (default 1; 1 to 5), so that jobs survive the loss of servers.
func WithReplicas(n int) Option {
	return optionFunc(func(c *config) {
		if n < 1 || n > 5 {
			c.err = fmt.Errorf("%w: replicas %d", ErrInvalidOption, n)
			return
		}
		c.replicas = n
	})
}

// WithMemoryStorage keeps the streams and buckets in the servers' memory
// instead of on disk (the default): faster, lost with the servers.
func WithMemoryStorage() Option {
	return optionFunc(func(c *config) { c.storage = jetstream.MemoryStorage })
}

func configOf(opts []Option) (config, error) {
	c := config{prefix: DefaultPrefix, node: nuid.Next(), lease: DefaultLease, age: DefaultAge,
		bytes: DefaultBytes, maxQueued: DefaultMaxQueued, replicas: 1, storage: jetstream.FileStorage}
	for _, o := range opts {
		if o == nil {
			return c, fmt.Errorf("%w: nil option", ErrInvalidOption)
		}
		o.apply(&c)
		if c.err != nil {
			return c, c.err
		}
	}
	return c, nil
}
