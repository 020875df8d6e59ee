package remote

import (
	"context"
	"sync/atomic"
)

// Server is a NATS server a node runs for itself: started by Start when no
// URL is configured, shut down by the node's Shutdown or Close after its
// connection. Package embedded provides one. If a Server also implements
// nats.InProcessConnProvider, the node connects to it without a socket.
type Server interface {
	// ClientURL is where clients connect.
	ClientURL() string
	// Shutdown stops the server and waits for its goroutines; idempotent.
	Shutdown()
}

// ServerFunc starts a Server; it must return once the server accepts
// connections, bounded by ctx.
type ServerFunc func(ctx context.Context) (Server, error)

var embeddedServer atomic.Pointer[ServerFunc]

// RegisterEmbedded makes f the server Start runs when a node has no URL
// and no WithServer option. Package embedded registers itself when
// imported, so a client-only program does not link nats-server. The last
// registration wins; a nil f unregisters. Safe for concurrent use.
func RegisterEmbedded(f ServerFunc) {
	if f == nil {
		embeddedServer.Store(nil)
		return
	}
	embeddedServer.Store(&f)
}

func registeredServer() ServerFunc {
	if f := embeddedServer.Load(); f != nil {
		return *f
	}
	return nil
}
