package embedded

import (
	"context"
	"fmt"
	"net"
)

// Cluster starts n servers routed to each other on loopback (random client
// and route ports) under one cluster name, and waits until every server
// has a route to every other (bounded by ctx's deadline, or by 10 s if it
// has none). With JetStream on
// (the default) each server has its own temporary store and a name, and
// the JetStream meta group forms among them. On error every server
// started is shut down. Shut the cluster down with Shutdown on each.
func Cluster(ctx context.Context, n int, opts ...Option) ([]*Server, error) {
	if ctx == nil {
		return nil, fmt.Errorf("embedded: nil context")
	}
	if n < 1 {
		return nil, fmt.Errorf("embedded: cluster of %d servers", n)
	}
	var out []*Server
	fail := func(err error) ([]*Server, error) {
		for _, s := range out {
			s.Shutdown()
		}
		return nil, err
	}
	// Every server routes to every other, itself included (ignored):
	// JetStream in a cluster wants configured routes on each server. The
	// route ports are reserved first; launch all, then wait, since a
	// JetStream server is not done starting until its meta group forms.
	ports, err := freePorts(n)
	if err != nil {
		return nil, err
	}
	routes := make([]string, n)
	for i, p := range ports {
		routes[i] = fmt.Sprintf("nats-route://127.0.0.1:%d", p)
	}
	for i := range n {
		c := defaults()
		for _, o := range opts {
			if o == nil {
				return fail(fmt.Errorf("embedded: nil option"))
			}
			o(&c)
		}
		c.cluster, c.routePort = "troupe", ports[i]
		if c.name == "" {
			c.name = "troupe"
		}
		c.name = fmt.Sprintf("%s-%d", c.name, i+1)
		s, err := launch(&c, routes)
		if err != nil {
			return fail(err)
		}
		out = append(out, s)
	}
	for _, s := range out {
		if err := s.ready(ctx); err != nil {
			return fail(err)
		}
	}
	if err := waitRoutes(ctx, out); err != nil {
		return fail(err)
	}
	return out, nil
}

// freePorts reserves n loopback ports: each is listened on, then freed
// for a server to take (another process could take it first; the server
// then fails to start, and Cluster with it).
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("embedded: reserve a route port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
