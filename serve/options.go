package serve

import (
	"fmt"
	"log/slog"
	"time"
)

// Defaults of New.
const (
	DefaultMaxLine      = 64 << 10         // WithLines: bytes per line, '\n' included
	DefaultIdleTimeout  = 2 * time.Minute  // WithIdleTimeout
	DefaultWriteQueue   = 64 << 10         // WithWriteQueue: bytes
	DefaultWriteTimeout = 10 * time.Second // WithWriteTimeout
	// DefaultLinger bounds how long a graceful close waits, after its
	// last byte, for the client to close its side (see Conn.Close).
	DefaultLinger = 500 * time.Millisecond
)

// readBuffer is the size of a connection's read buffer, from a pool shared
// by all connections (TCP and Unix sockets give theirs back while they
// wait for input): longer frames are gathered in a second buffer, made
// when one arrives.
const readBuffer = 4 << 10

// Option configures New.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	framing      framing
	idle         time.Duration
	idleOnWrite  bool
	queue        int
	writeTimeout time.Duration
	linger       time.Duration
	maxConns     int
	logger       *slog.Logger
	hooks        testHooks // set by this package's tests only
}

// testHooks let this package's tests act at points no API reaches.
// Production code never sets them.
type testHooks struct {
	closing      func(*Conn)        // in binding.closed, just before Closed is queued
	closedQueued func(*Conn)        // in binding.closed, once Closed is queued, before the actor is stopped
	waking       func(*Conn)        // in closeWith, once the state is closing, before the reader is woken
	lingering    func(*Conn)        // in linger, once its read deadline is set
	lingered     func(*Conn, error) // in linger, with the read error that ends it
}

func defaults() config {
	return config{
		framing:      framing{kind: lines, max: DefaultMaxLine},
		idle:         DefaultIdleTimeout,
		queue:        DefaultWriteQueue,
		writeTimeout: DefaultWriteTimeout,
		linger:       DefaultLinger,
	}
}

// WithLines frames the connection's input as lines of at most max bytes,
// the '\n' included (the default, with DefaultMaxLine). A longer line
// closes the connection with a *LimitError (ErrLineTooLong).
func WithLines(max int) Option {
	return optionFunc(func(c *config) { c.framing = framing{kind: lines, max: max} })
}

// WithLengthPrefix frames the connection's input as frames of at most max
// bytes, each after its length as a 4-byte big-endian unsigned integer. A
// larger length closes the connection with a *LimitError
// (ErrFrameTooLarge) before anything is allocated for it.
func WithLengthPrefix(max int) Option {
	return optionFunc(func(c *config) { c.framing = framing{kind: prefixed, max: max} })
}

// WithIdleTimeout closes a connection that delivered no frame for d (or
// calls its IdleHandler), on the runtime's timer wheel (default
// DefaultIdleTimeout; 0 disables it; must not be negative). Calls its
// actor gets from elsewhere do not restart the count: only frames do (and
// writes, with WithIdleOnWrite).
func WithIdleTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.idle = d })
}

// WithIdleOnWrite makes writes restart the idle count as frames do: once
// a batch of queued bytes is written, the connection's actor gets a
// oneway that counts as activity. It costs a turn of the actor per batch.
func WithIdleOnWrite() Option {
	return optionFunc(func(c *config) { c.idleOnWrite = true })
}

// WithWriteQueue bounds a connection's queued bytes, those being written
// included (default DefaultWriteQueue; must be > 0). A write that does not
// fit fails with a *QueueFullError.
func WithWriteQueue(bytes int) Option {
	return optionFunc(func(c *config) { c.queue = bytes })
}

// WithWriteTimeout is the write deadline of bytes queued with a ctx that
// has no deadline (default DefaultWriteTimeout; must be > 0).
func WithWriteTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.writeTimeout = d })
}

// WithLinger bounds how long a graceful close, once the connection's last
// byte is written and its side closed, waits for the client to close its
// own before the socket is closed (default DefaultLinger; 0 closes at
// once; must not be negative). Waiting lets the client read everything:
// closing a socket with unread input would reset it.
func WithLinger(d time.Duration) Option {
	return optionFunc(func(c *config) { c.linger = d })
}

// WithMaxConns bounds the connections held, as Server.Conns counts them
// (closing and lingering ones too: each still holds its socket): past n,
// a new connection is closed as soon as it is accepted, and
// ErrTooManyConns is logged (default 0: no bound; must not be negative).
func WithMaxConns(n int) Option {
	return optionFunc(func(c *config) { c.maxConns = n })
}

// WithLogger logs through l: refused connections and accept errors at
// warn level, close reasons at debug level (default: no logging). The
// global logger is never used.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) { c.logger = l })
}

func (c *config) validate() error {
	switch {
	case c.framing.max <= 0 || int64(c.framing.max) > maxFrame:
		return fmt.Errorf("%w: frame limit %d must be in [1, %d]", ErrInvalidOption, c.framing.max, int64(maxFrame))
	case c.idle < 0:
		return fmt.Errorf("%w: idle timeout %v < 0", ErrInvalidOption, c.idle)
	case c.queue <= 0:
		return fmt.Errorf("%w: write queue %d must be > 0", ErrInvalidOption, c.queue)
	case c.writeTimeout <= 0:
		return fmt.Errorf("%w: write timeout %v must be > 0", ErrInvalidOption, c.writeTimeout)
	case c.linger < 0:
		return fmt.Errorf("%w: linger %v < 0", ErrInvalidOption, c.linger)
	case c.maxConns < 0:
		return fmt.Errorf("%w: max connections %d < 0", ErrInvalidOption, c.maxConns)
	case c.idleOnWrite && c.idle == 0:
		return fmt.Errorf("%w: WithIdleOnWrite without an idle timeout", ErrInvalidOption)
	}
	return nil
}
