// Package embedded runs a NATS server inside the process: the server a
// [remote.Node] starts for itself when no URL is configured, and small
// loopback clusters for tests.
//
// It is the only package of the remote module that links
// github.com/nats-io/nats-server: a program that connects to an
// operator's cluster imports remote alone; one that wants a node to run
// its own server imports this package, blank or by name:
//
//	import _ "github.com/troupe-go/troupe/remote/embedded" // remote.Start(ctx, rt) embeds a server
//
// The import registers [Start] with remote.RegisterEmbedded; it starts
// nothing.
//
// # Defaults
//
// A server listens on 127.0.0.1 only, on a random port (clients in the
// same process connect in-process, without a socket), logs nothing,
// installs no signal handler, and runs JetStream in a temporary directory
// it removes when it shuts down.
//
// # Goroutines and shutdown
//
// A [Server] runs nats-server's goroutines until [Server.Shutdown], which
// waits for them ([server.Server.WaitForShutdown]) and removes the
// temporary directory. Shut clients (subscriptions, watchers, then
// connections) down before their server.
package embedded
