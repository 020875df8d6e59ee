package embedded

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// Cluster starts n servers routed to each other on loopback (random client
// and route ports) under one cluster name, and waits until every server
// has a route to every other (bounded by ctx's deadline, or by 10 s if it
// has none, for each wait). With JetStream on (the default) each server
// has its own temporary store and a name, the JetStream meta group forms
// among them, and Cluster also waits until its leader can place a stream
// on every server (a stream of n replicas made sooner may be refused: "no
// suitable peers for placement, peer offline"); that takes a few seconds
// at times, as servers send their statistics at growing intervals. On
// error every server started is shut down. Shut the cluster down with
// Shutdown on each.
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
	if err := waitPeers(ctx, out); err != nil {
		return fail(err)
	}
	return out, nil
}

// freePorts reserves n loopback ports: each is listened on, then freed
// for a server to take. They are picked outside the kernel's ephemeral
// range (see portRange): a port freed there could be taken, before the
// server binds it, as the local port of any outgoing connection (a test
// process running NATS clients makes many), and the server would never
// become ready. Another process could still take one on purpose; the
// server then fails to start, and Cluster with it.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	lo, hi := portRange()
	ports := make([]int, 0, n)
	for len(ports) < n {
		l, err := listenIn(lo, hi)
		if err != nil {
			return nil, fmt.Errorf("embedded: reserve a route port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// listenIn listens on a free loopback port in [lo, hi], tried at random,
// or on one the kernel picks if lo > hi or every try fails.
func listenIn(lo, hi int) (net.Listener, error) {
	for i := 0; i < portTries && lo <= hi; i++ {
		if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", lo+rand.IntN(hi-lo+1))); err == nil {
			return l, nil
		}
	}
	return net.Listen("tcp", "127.0.0.1:0")
}

// portTries bounds listenIn's random tries.
const portTries = 64

// portRange is where route ports are picked: from 10000 up to just below
// the kernel's ephemeral range (Linux: /proc/sys/net/ipv4/ip_local_port_range,
// 32768–60999 by default; elsewhere IANA's 49152–65535 is assumed).
func portRange() (lo, hi int) {
	first := 49152
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if v, err := strconv.Atoi(f[0]); err == nil {
				first = v
			}
		}
	}
	return 10000, first - 1
}
