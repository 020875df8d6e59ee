package embedded

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/troupe-go/troupe/remote"
)

// ErrNotReady: the server did not accept connections before the deadline
// of Start's ctx (or within 10 s if it has none).
var ErrNotReady = errors.New("embedded: server not ready")

// readyTimeout bounds the wait for a server to accept connections when
// Start's ctx has no deadline.
const readyTimeout = 10 * time.Second

func init() {
	// Registration only: a function value is stored, nothing starts.
	remote.RegisterEmbedded(Starter())
}

// Starter returns a remote.ServerFunc that starts a server with opts: for
// remote.WithServer, when a node's own server needs options.
func Starter(opts ...Option) remote.ServerFunc {
	return func(ctx context.Context) (remote.Server, error) {
		s, err := Start(ctx, opts...)
		if err != nil {
			return nil, err // not a nil *Server in a non-nil interface
		}
		return s, nil
	}
}

// Server is a running nats-server in this process. Safe for concurrent
// use; Shutdown is idempotent.
type Server struct {
	s    *server.Server
	dir  string    // temporary JetStream directory we made, removed at Shutdown
	log  *fatalLog // what stopped the server's start, if anything did
	once sync.Once
}

var (
	_ remote.Server = (*Server)(nil)
	_ interface {
		InProcessConn() (net.Conn, error)
	} = (*Server)(nil)
)

// Start runs a server with the options and waits until it accepts
// connections (bounded by ctx, or 10 s). Errors: ErrNotReady, a bad
// option, or nats-server's error. Cost: a few milliseconds, mostly
// JetStream's start.
func Start(ctx context.Context, opts ...Option) (*Server, error) {
	if ctx == nil {
		return nil, fmt.Errorf("embedded: nil context")
	}
	c := defaults()
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("embedded: nil option")
		}
		o(&c)
	}
	return start(ctx, &c, nil)
}

// start runs one server and waits until it accepts connections.
func start(ctx context.Context, c *config, routes []string) (*Server, error) {
	srv, err := launch(c, routes)
	if err != nil {
		return nil, err
	}
	if err := srv.ready(ctx); err != nil {
		srv.Shutdown()
		return nil, err
	}
	return srv, nil
}

// launch starts one server without waiting for it; routes, if any, are
// the cluster's seeds.
func launch(c *config, routes []string) (*Server, error) {
	so := &server.Options{
		ServerName: c.name,
		Host:       "127.0.0.1",
		Port:       server.RANDOM_PORT,
		NoLog:      true,
		NoSigs:     true,
		JetStream:  c.jetstream,
		StoreDir:   c.storeDir,
		MaxPayload: c.maxPayload,
	}
	if c.cluster != "" {
		so.Cluster = server.ClusterOpts{Name: c.cluster, Host: "127.0.0.1", Port: c.routePort}
		for _, r := range routes {
			so.Routes = append(so.Routes, server.RoutesFromStr(r)...)
		}
	}
	var dir string
	if c.jetstream && so.StoreDir == "" {
		d, err := os.MkdirTemp("", "troupe-nats-")
		if err != nil {
			return nil, fmt.Errorf("embedded: %w", err)
		}
		dir, so.StoreDir = d, d
	}
	if c.configure != nil {
		c.configure(so)
	}
	s, err := server.NewServer(so)
	if err != nil {
		if dir != "" {
			_ = os.RemoveAll(dir)
		}
		return nil, fmt.Errorf("embedded: %w", err)
	}
	srv := &Server{s: s, dir: dir, log: &fatalLog{failed: make(chan struct{})}}
	// nats-server says why its start failed (JetStream's store, a port
	// taken) only to its logger, and then never accepts connections: the
	// logger keeps that, and ready returns it at once.
	s.SetLogger(srv.log, false, false)
	s.Start()
	return srv, nil
}

// fatalLog is a nats-server logger that logs nothing and keeps the first
// fatal error (a start that failed).
type fatalLog struct {
	once   sync.Once
	failed chan struct{} // closed once err is set
	err    error
}

func (l *fatalLog) Fatalf(format string, v ...any) {
	l.once.Do(func() {
		l.err = fmt.Errorf("embedded: %s", fmt.Sprintf(format, v...))
		close(l.failed)
	})
}

func (*fatalLog) Noticef(string, ...any) {}
func (*fatalLog) Warnf(string, ...any)   {}
func (*fatalLog) Errorf(string, ...any)  {}
func (*fatalLog) Debugf(string, ...any)  {}
func (*fatalLog) Tracef(string, ...any)  {}

// readyStep is how long ready waits at a time for the server to accept
// connections before it looks at its start's failure and ctx again.
const readyStep = 50 * time.Millisecond

// ready waits until the server accepts connections, bounded by ctx's
// deadline, or by readyTimeout if ctx has none (a JetStream cluster on a
// loaded machine may take longer than readyTimeout: a caller that allows
// more says so with its deadline). A start that failed (nats-server's
// fatal error: JetStream's store, a port taken) returns that error at
// once; it would never accept connections.
func (s *Server) ready(ctx context.Context) error {
	end := time.Now().Add(readyTimeout)
	if d, ok := ctx.Deadline(); ok {
		end = d
	}
	for {
		wait := min(time.Until(end), readyStep)
		select {
		case <-s.log.failed:
			return s.log.err
		default:
		}
		if wait <= 0 || ctx.Err() != nil {
			return ErrNotReady
		}
		if s.s.ReadyForConnections(wait) {
			select {
			case <-s.log.failed: // ready, then failed (JetStream starts after the listener)
				return s.log.err
			default:
			}
			if ctx.Err() != nil {
				return ErrNotReady
			}
			return nil
		}
	}
}

// ClientURL is the server's loopback URL for clients in other processes
// (or in this one, over TCP).
func (s *Server) ClientURL() string { return s.s.ClientURL() }

// InProcessConn opens a connection to the server without a socket; it
// makes a *Server a nats.InProcessConnProvider.
func (s *Server) InProcessConn() (net.Conn, error) { return s.s.InProcessConn() }

// Routes is the server's cluster address as a nats-route URL, or "" if it
// is not part of a cluster.
func (s *Server) Routes() string {
	a := s.s.ClusterAddr()
	if a == nil {
		return ""
	}
	return "nats-route://" + a.String()
}

// NATS is the underlying nats-server, for what this package does not wrap.
func (s *Server) NATS() *server.Server { return s.s }

// Shutdown stops the server, waits for its goroutines to exit and removes
// its temporary directory. It blocks until then; idempotent and safe for
// concurrent use (a second caller returns once the first is done).
func (s *Server) Shutdown() {
	s.once.Do(func() {
		s.s.Shutdown()
		s.s.WaitForShutdown()
		if s.dir != "" {
			_ = os.RemoveAll(s.dir)
		}
	})
}
