package jetjobs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/troupe-go/troupe/jobs"
)

// Backend is a jobs.Backend on NATS JetStream: give it to jobs.New with
// jobs.WithBackend, one per dispatcher. Safe for concurrent use.
//
// A job runs on a node serving its host that registered its procedure;
// one whose procedure no live node has waits queued, holding its place
// in its queue (the jobs behind it in a queue of concurrency 1 wait too),
// until such a node serves the host or the job is cancelled (package
// doc, Queues).
//
// Goroutines: per host served, a watcher of its queues and a consumer of
// each (nats.go's); per job running here, one that runs it (kept for
// 100 ms after it, for the next) and, while it refreshes the job's lease
// or sends its output items again, a timer's; a cancel subscription's.
// The dispatcher's stop ends them all (Stop, then Close).
type Backend struct {
	cfg    config
	nc     *nats.Conn
	js     jetstream.JetStream
	queue  jetstream.Stream
	out    jetstream.Stream
	jobsKV jetstream.KeyValue
	procs  jetstream.KeyValue
	queues jetstream.KeyValue
	x      *jobs.Executor
	life   context.Context // ends at Close
	end    context.CancelFunc
	work   sync.WaitGroup // the goroutines that run jobs (runners), and the watchers

	// lastWrite reads a job record's last write (leaderGet), for the
	// check of a redelivered running job's lease: a field, so that tests
	// of the package can make it fail.
	lastWrite func(ctx context.Context, key string) ([]byte, uint64, time.Time, error)

	handoff  chan jetstream.Msg // a job message to an idle runner
	stopping chan struct{}      // closed by Stop: idle runners end

	mu       sync.Mutex // guards the fields below
	stopped  bool
	closed   bool
	cancel   *nats.Subscription
	served   map[string]*served     // by host
	running  map[runKey]*runningJob // jobs running or being marked running here
	known    map[string]bool        // procKeys known to exist
	forgot   uint64                 // unrecord's takings back of a procKey's record: knownProc keeps what it read only if none came meanwhile
	here     map[string]int         // procKeys registered here: the Serves of each that succeeded or are under way
	ensured  map[string]int         // queueKeys whose consumer has this concurrency
	watchers []jetstream.KeyWatcher
	endSub   *nats.Subscription                   // the end notices, once someone awaits
	endWait  map[string]map[chan endNotice]uint64 // the waiters of each job, by its token: the generation each waits for
	fresh    map[string]uint64                    // jobs queued here with endSub listening, until their notice: their generation
	ended    map[string]jobs.Record               // notices of fresh jobs nobody awaited yet
	marks    map[string]time.Time                 // jobs marked running here, the mark's answer lost: their start
}

// served is a host this node runs jobs of: its queues' consumers.
type served struct {
	consuming map[string]jetstream.ConsumeContext // by consumer name
	ready     chan struct{}                       // closed once the Serve that started serving it has returned
}

var _ jobs.Backend = (*Backend)(nil)

// New connects to the streams and buckets of the jobs on nc's JetStream,
// creating or updating them as configured by opts ([WithPrefix],
// [WithNode], [WithLease], [WithRetention], [WithMaxQueued],
// [WithReplicas], [WithMemoryStorage]). It starts no goroutine until its
// dispatcher attaches it. The connection stays the caller's: close it
// after the dispatcher. Blocks for a few round trips (more while a
// JetStream cluster elects its leaders); ctx bounds it. Errors:
// ErrNilConn, ErrInvalidOption, jobs.ErrUnavailable.
func New(ctx context.Context, nc *nats.Conn, opts ...Option) (*Backend, error) {
	if nc == nil {
		return nil, ErrNilConn
	}
	cfg, err := configOf(opts)
	if err != nil {
		return nil, err
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(asyncAckTimeout))
	if err != nil {
		return nil, unavailable(err)
	}
	b := &Backend{cfg: cfg, nc: nc, js: js, served: map[string]*served{},
		handoff: make(chan jetstream.Msg), stopping: make(chan struct{}),
		running: map[runKey]*runningJob{}, known: map[string]bool{}, here: map[string]int{}, ensured: map[string]int{},
		endWait: map[string]map[chan endNotice]uint64{}, fresh: map[string]uint64{}, ended: map[string]jobs.Record{},
		marks: map[string]time.Time{}}
	b.lastWrite = b.leaderGet
	p := cfg.prefix
	// The queue stream has no age limit: it would remove the message of a
	// job running longer than the age (freeing its queue's slot, and if
	// its node died, the job would never settle). Its messages leave by
	// their ack or term, once their job has ended (or was dead-lettered).
	if b.queue, err = retry(ctx, func(ctx context.Context) (jetstream.Stream, error) {
		return js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: p + "_queue", Subjects: []string{p + ".run.>"},
			Retention: jetstream.WorkQueuePolicy, Storage: cfg.storage, Replicas: cfg.replicas,
			MaxBytes: cfg.bytes, MaxMsgsPerSubject: cfg.maxQueued,
			Discard: jetstream.DiscardNew, DiscardNewPerSubject: true, Duplicates: dupWindow(cfg.age)})
	}); err != nil {
		return nil, unavailable(fmt.Errorf("queue stream: %w", err))
	}
	if b.out, err = retry(ctx, func(ctx context.Context) (jetstream.Stream, error) {
		return js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: p + "_out", Subjects: []string{p + ".out.>"},
			Storage: cfg.storage, Replicas: cfg.replicas, MaxAge: cfg.age, MaxBytes: cfg.bytes,
			Discard: jetstream.DiscardOld})
	}); err != nil {
		return nil, unavailable(fmt.Errorf("output stream: %w", err))
	}
	if _, err = retry(ctx, func(ctx context.Context) (jetstream.Stream, error) {
		return js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: p + "_dead", Subjects: []string{p + ".dead.>"},
			Storage: cfg.storage, Replicas: cfg.replicas, MaxAge: cfg.age, MaxBytes: cfg.bytes,
			Discard: jetstream.DiscardOld})
	}); err != nil {
		return nil, unavailable(fmt.Errorf("dead-letter stream: %w", err))
	}
	bucket := func(name string, ttl time.Duration, maxBytes int64) (jetstream.KeyValue, error) {
		return retry(ctx, func(ctx context.Context) (jetstream.KeyValue, error) {
			return js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: p + "_" + name, History: 1,
				TTL: ttl, MaxBytes: maxBytes, Storage: cfg.storage, Replicas: cfg.replicas})
		})
	}
	// The records bucket has no byte limit, only the age: a bucket refuses
	// what would pass its bytes (nats.go makes every bucket discard-new),
	// and a job's running mark and end are larger than its submit record:
	// a full bucket would refuse the end of a job it accepted. The queue
	// stream's bytes refuse new jobs instead (WithRetention).
	if b.jobsKV, err = bucket("jobs", cfg.age, -1); err != nil {
		return nil, unavailable(fmt.Errorf("jobs bucket: %w", err))
	}
	if b.procs, err = bucket("procs", 0, cfg.bytes); err != nil {
		return nil, unavailable(fmt.Errorf("procedures bucket: %w", err))
	}
	if b.queues, err = bucket("queues", 0, cfg.bytes); err != nil {
		return nil, unavailable(fmt.Errorf("queues bucket: %w", err))
	}
	b.life, b.end = context.WithCancel(context.Background())
	return b, nil
}

// retry runs f with a one-second bound per attempt until it succeeds, ctx
// ends, or it fails otherwise than by timing out: a request lost while a
// JetStream cluster elects a leader is never answered.
func retry[T any](ctx context.Context, f func(context.Context) (T, error)) (T, error) {
	for {
		actx, cancel := context.WithTimeout(ctx, time.Second)
		v, err := f(actx)
		cancel()
		if err == nil || ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) {
			return v, err
		}
	}
}

// Node is this node's name in job records.
func (b *Backend) Node() string { return b.cfg.node }

// Attach is called by jobs.New: it subscribes to the cancel requests for
// the jobs this node will run.
func (b *Backend) Attach(x *jobs.Executor) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.x != nil {
		return fmt.Errorf("%w: attached to a dispatcher already", ErrInvalidOption)
	}
	sub, err := b.nc.Subscribe(b.cancelSubject(b.cfg.node), b.onCancel)
	if err != nil {
		return unavailable(err)
	}
	b.x, b.cancel = x, sub
	return nil
}

// Stop is called as the dispatcher begins to stop: no new job is taken
// (the consumers drain; a job message delivered meanwhile is handed back
// at once, for another node), and the queue watchers stop.
func (b *Backend) Stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		return
	}
	b.stopped = true
	close(b.stopping)
	// A drain flushes the connection (nats.go's Flush, 10 s) before it
	// ends: with the server gone, the consumers stop at once instead.
	connected := b.nc.IsConnected()
	for _, s := range b.served {
		for _, cc := range s.consuming {
			if connected {
				cc.Drain()
			} else {
				cc.Stop()
			}
		}
	}
	// A watcher's Stop deletes its consumer by a request with nats.go's
	// fixed timeout (5 s) and no context: with the server gone it could
	// only time out. So the watchers stop on goroutines of the backend's,
	// which Close waits for alongside the consumers, not on the caller's:
	// a dispatcher's Shutdown(ctx) is not held up beyond its ctx.
	for _, w := range b.watchers {
		b.work.Go(func() { _ = w.Stop() })
	}
}

// Close is called by the dispatcher once its jobs have ended: it waits
// for the consumers and the goroutines of the jobs run here, and ends the
// cancel subscription. Idempotent.
func (b *Backend) Close() error {
	b.Stop()
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	var ccs []jetstream.ConsumeContext
	for _, s := range b.served {
		for _, cc := range s.consuming {
			ccs = append(ccs, cc)
		}
	}
	b.mu.Unlock()
	for _, cc := range ccs {
		select {
		case <-cc.Closed():
		case <-time.After(b.cfg.lease):
			cc.Stop()
			<-cc.Closed()
		}
	}
	b.work.Wait()
	b.end()
	b.mu.Lock()
	subs := []*nats.Subscription{b.cancel, b.endSub}
	b.mu.Unlock()
	for _, sub := range subs {
		if sub != nil {
			_ = sub.Unsubscribe()
		}
	}
	return nil
}
