package jobs

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/troupe-go/troupe/actor"
	"github.com/troupe-go/troupe/internal/engine"
)

// Defaults of New.
const (
	DefaultRetainAge   = 24 * time.Hour // finished jobs are kept this long at most
	DefaultRetainCount = 10_000         // and this many at most
	DefaultMaxQueued   = 10_000         // waiting jobs per queue
)

// Option configures New.
type Option interface{ apply(*config) }

type config struct {
	retainAge   time.Duration
	retainCount int
	maxQueued   int
	outItems    int
	outBytes    int
	backend     Backend
	err         error

	// opened, if set (tests only), runs in a stream job's runner once
	// Open has returned its reader, before anything else is attached to
	// the stream.
	opened func()
	// copied, if set (tests only), runs in a stream job's runner each
	// time a reader of its copy has ended, with how, before the runner
	// looks at it.
	copied func(end error)
	// handed, if set (tests only), runs as a job is handed to a runner
	// goroutine (parked or new), not run by its call's outcome.
	handed func()
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

func defaults() config {
	return config{
		retainAge:   DefaultRetainAge,
		retainCount: DefaultRetainCount,
		maxQueued:   DefaultMaxQueued,
		outItems:    actor.DefaultJournalItems,
		outBytes:    actor.DefaultJournalBytes,
	}
}

// WithRetention keeps a finished job (its status, result and output) for
// at most age after it ended and at most count finished jobs in all, the
// oldest dropped first (defaults DefaultRetainAge, DefaultRetainCount;
// both must be > 0). A job that ended (cancelled or expired) while its
// handler runs on is not finished here until the handler returns: it
// holds its slot, is found and keeps its id until then, and its age
// counts from then. A dropped job is no longer found by id; a *Job handle
// still held keeps working.
func WithRetention(age time.Duration, count int) Option {
	return optionFunc(func(c *config) {
		if age <= 0 || count <= 0 {
			c.err = fmt.Errorf("%w: retention %v, %d jobs: both must be > 0", ErrInvalidOption, age, count)
			return
		}
		c.retainAge, c.retainCount = age, count
	})
}

// WithMaxQueued bounds the jobs waiting in each queue (default
// DefaultMaxQueued; > 0): a Submit beyond it fails with ErrQueueFull.
// Jobs submitted without a queue never wait.
func WithMaxQueued(n int) Option {
	return optionFunc(func(c *config) {
		if n <= 0 {
			c.err = fmt.Errorf("%w: max queued %d must be > 0", ErrInvalidOption, n)
			return
		}
		c.maxQueued = n
	})
}

// WithOutputLimit bounds each job's output stream to its most recent
// items items and bytes bytes (see actor.WithJournal; defaults
// actor.DefaultJournalItems and actor.DefaultJournalBytes; both > 0).
// Older items are dropped: a reader asking for them gets an
// *actor.TruncatedError.
func WithOutputLimit(items, bytes int) Option {
	return optionFunc(func(c *config) {
		if items <= 0 || bytes <= 0 {
			c.err = fmt.Errorf("%w: output limit %d items, %d bytes: both must be > 0", ErrInvalidOption, items, bytes)
			return
		}
		c.outItems, c.outBytes = items, bytes
	})
}

var errNilBackend = fmt.Errorf("%w: nil backend", ErrInvalidOption)

func configOf(opts []Option) (config, error) {
	c := defaults()
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

// SubmitOption configures one job: [Queue], [MaxExec], [ReadIdle],
// [Info], [ID]. The same options configure a [Client]'s host.
type SubmitOption interface{ applySubmit(*submitConfig) }

type submitConfig struct {
	queue       string
	concurrency int
	maxExec     time.Duration
	readIdle    time.Duration
	info        any
	infoJSON    json.RawMessage // info, encoded: checked at Submit
	id          string
	hasInfo     bool
	err         error
}

type submitFunc func(*submitConfig)

func (f submitFunc) applySubmit(c *submitConfig) { f(c) }

// Queue makes the job wait in the named queue, which runs at most
// concurrency of its jobs at once (harp's queue and concurrency). The
// queue is made by its first job; each Submit naming it sets its limit
// anew (raising it starts waiting jobs at once; lowering it lets running
// ones finish) — a Submit that is refused (ErrQueueFull, or any other
// error) leaves the limit as it was. A job without Queue starts at once. name must be 1 to 255
// bytes of UTF-8 with no control character (as a job id, though "." and
// ".." are names here); concurrency must be > 0 (else ErrInvalidOption).
func Queue(name string, concurrency int) SubmitOption {
	return submitFunc(func(c *submitConfig) {
		if err := engine.ValidName(name); err != nil {
			c.err = fmt.Errorf("%w: queue name: %w", ErrInvalidOption, err)
			return
		}
		if concurrency <= 0 {
			c.err = fmt.Errorf("%w: queue %q: concurrency %d must be > 0", ErrInvalidOption, name, concurrency)
			return
		}
		c.queue, c.concurrency = name, concurrency
	})
}

// MaxExec bounds the job's run (harp's max_exec_time): d after it
// started, its context is cancelled, whether or not its handler looks,
// and it ends as expired (ErrMaxExec). A handler that ignores the cancel
// keeps its queue slot until it returns; the job's status says it is
// overrunning meanwhile. d must be > 0 (else ErrInvalidOption). Without
// MaxExec a job may run for ever.
func MaxExec(d time.Duration) SubmitOption {
	return submitFunc(func(c *submitConfig) {
		if d <= 0 {
			c.err = fmt.Errorf("%w: max exec %v must be > 0", ErrInvalidOption, d)
			return
		}
		c.maxExec = d
	})
}

// ReadIdle bounds the time between two reads of the job's output
// (harp's timeout): from its start to its first item, between two items,
// and from its last item to its end. Past it the job ends as expired
// (ErrReadIdle), its context cancelled as for MaxExec. A Method procedure
// has no output: its result is its only read, so for it ReadIdle bounds
// the run as MaxExec does. d must be > 0 (else ErrInvalidOption).
func ReadIdle(d time.Duration) SubmitOption {
	return submitFunc(func(c *submitConfig) {
		if d <= 0 {
			c.err = fmt.Errorf("%w: read timeout %v must be > 0", ErrInvalidOption, d)
			return
		}
		c.readIdle = d
	})
}

// Info attaches v to the job for whoever reads it later (harp's info): it
// must encode as JSON (else ErrInvalidOption), and is kept as given.
func Info(v any) SubmitOption {
	return submitFunc(func(c *submitConfig) {
		b, err := marshalJSON(v)
		if err != nil {
			c.err = fmt.Errorf("%w: info does not encode as JSON: %w", ErrInvalidOption, err)
			return
		}
		c.info, c.infoJSON, c.hasInfo = v, b, true
	})
}

// ID gives the job an id of the caller's choosing instead of a generated
// one. Submitting an id again returns the job that has it (idempotent),
// as long as it is retained, if host, procedure and args are the same;
// else ErrConflict. The id must be 1 to 255 bytes of UTF-8 with no control
// character, and neither "." nor ".." (else ErrInvalidID).
func ID(id string) SubmitOption {
	return submitFunc(func(c *submitConfig) {
		if err := validID(id); err != nil {
			c.err = err
			return
		}
		c.id = id
	})
}

func validID(id string) error {
	if err := engine.ValidName(id); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidID, err)
	}
	if id == "." || id == ".." {
		// Path elements that HTTP servers clean away: GET /jobs/. is the
		// list, so the job could not be reached by id over HTTP.
		return fmt.Errorf("%w: %q is a path element", ErrInvalidID, id)
	}
	return nil
}

func submitConfigOf(opts []SubmitOption) (submitConfig, error) {
	if len(opts) == 0 {
		return submitConfig{}, nil // applying options moves c to the heap
	}
	return applySubmitOptions(opts)
}

func applySubmitOptions(opts []SubmitOption) (submitConfig, error) {
	var c submitConfig
	for _, o := range opts {
		if o == nil {
			return c, fmt.Errorf("%w: nil submit option", ErrInvalidOption)
		}
		o.applySubmit(&c)
		if c.err != nil {
			return c, c.err
		}
	}
	return c, nil
}
