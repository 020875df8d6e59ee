package embedded

import "github.com/nats-io/nats-server/v2/server"

// Option configures Start and Cluster.
type Option func(*config)

type config struct {
	name       string
	jetstream  bool
	storeDir   string
	maxPayload int32
	cluster    string
	routePort  int
	configure  func(*server.Options)
}

func defaults() config { return config{jetstream: true} }

// WithName names the server (default: nats-server picks one).
func WithName(name string) Option { return func(c *config) { c.name = name } }

// WithoutJetStream runs the server without JetStream (no store directory).
func WithoutJetStream() Option { return func(c *config) { c.jetstream = false } }

// WithStoreDir keeps JetStream's files in dir instead of a temporary
// directory (which Shutdown removes; dir is left as it is).
func WithStoreDir(dir string) Option { return func(c *config) { c.storeDir = dir } }

// WithMaxPayload sets the largest message the server accepts (default
// nats-server's, 1 MiB).
func WithMaxPayload(n int32) Option { return func(c *config) { c.maxPayload = n } }

// WithConfig edits nats-server's options after this package has set its
// own and before the server starts: authorization, TLS, limits. The
// listen address stays loopback unless f changes it.
func WithConfig(f func(*server.Options)) Option { return func(c *config) { c.configure = f } }
