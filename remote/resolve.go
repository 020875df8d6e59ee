package remote

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/troupe-go/troupe/actor"
)

// Service is what Resolve finds for a name — cocaine's (endpoint, version,
// api): where it is served, its version and its API.
type Service struct {
	Name      string
	Version   string     // the highest version among the instances
	Instances []Instance // one per node serving the name, sorted by node
	API       []Endpoint // the methods, sorted by name (the union over instances)
}

// Instance is one node serving a name.
type Instance struct {
	Node    string // the node's id (WithName)
	ID      string // the micro service instance's id
	Version string
}

// Endpoint is one exported method or stream: its name, subject, and its
// request and reply type names (Go's, as the serving node declares them;
// a stream's reply reads "stream of E").
type Endpoint struct {
	Name    string
	Subject string
	Request string
	Reply   string
}

// Resolve asks the cluster which nodes serve name (a NATS micro service
// INFO request: `nats micro info <name>` shows the same) and returns them
// with the name's version and API. It gathers answers until the node's
// resolve wait (WithResolveWait) has passed since the first, or ctx ends.
// Blocks; safe for concurrent use. Errors: ErrNotFound (no node serves
// it), ErrInvalidName, ErrNilNode, ErrClosed (also when the node closes
// before any answer came), ErrTimeout (ctx ended before any answer),
// ErrUnavailable (the connection is down and cannot take the request).
func Resolve(ctx context.Context, n *Node, name string) (*Service, error) {
	if !n.made() {
		return nil, ErrNilNode
	}
	if ctx == nil {
		return nil, actor.ErrNilContext
	}
	if !tokenRe.MatchString(name) {
		return nil, fmt.Errorf("%w: %q", ErrInvalidName, name)
	}
	if err := n.open(); err != nil {
		return nil, err
	}
	subj, err := micro.ControlSubject(micro.InfoVerb, name, "")
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %w", ErrInvalidName, name, err)
	}
	inbox := n.nc.NewInbox()
	sub, err := n.nc.SubscribeSync(inbox)
	if err != nil {
		return nil, n.publishErr(err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := n.nc.PublishRequest(subj, inbox, nil); err != nil {
		return nil, n.publishErr(err)
	}
	ctx, cancel := callBound(ctx, n.cfg.callTimeout)
	defer cancel()
	var infos []micro.Info
	wait := ctx
	for {
		m, err := sub.NextMsgWithContext(wait)
		if errors.Is(err, nats.ErrSlowConsumer) {
			continue // answers were dropped: the others still count
		}
		if err != nil {
			if wait.Err() != nil || len(infos) > 0 || errors.Is(err, nats.ErrNoResponders) {
				break // ErrNoResponders: nobody serves the name (503)
			}
			// The subscription ended under us: the node closed (or its
			// connection did) before anyone answered.
			if n.open() != nil || errors.Is(err, nats.ErrConnectionClosed) {
				return nil, fmt.Errorf("%w: resolve %q: %w", ErrClosed, name, err)
			}
			return nil, fmt.Errorf("remote: resolve %q: %w", name, err)
		}
		if len(m.Data) == 0 && m.Header.Get(hdrStatus) == "503" {
			return nil, fmt.Errorf("%w: %q", ErrNotFound, name)
		}
		var info micro.Info
		if json.Unmarshal(m.Data, &info) != nil || info.Name != name {
			continue
		}
		infos = append(infos, info)
		if len(infos) == 1 {
			var cancel context.CancelFunc
			wait, cancel = context.WithTimeout(ctx, n.cfg.resolveWait)
			defer cancel()
		}
	}
	if len(infos) == 0 {
		if ctx.Err() != nil {
			return nil, ctxErr(ctx, "resolve "+name)
		}
		return nil, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	return serviceOf(name, infos), nil
}

// serviceOf folds micro INFO answers into a Service.
func serviceOf(name string, infos []micro.Info) *Service {
	s := &Service{Name: name}
	api := map[string]Endpoint{}
	for _, in := range infos {
		node := in.Metadata["node"]
		if node == "" {
			node = in.ID
		}
		s.Instances = append(s.Instances, Instance{Node: node, ID: in.ID, Version: in.Version})
		if s.Version == "" || semverLess(s.Version, in.Version) {
			s.Version = in.Version
		}
		for _, e := range in.Endpoints {
			if _, ok := api[e.Name]; !ok {
				api[e.Name] = Endpoint{Name: e.Name, Subject: e.Subject, Request: e.Metadata["request"], Reply: e.Metadata["reply"]}
			}
		}
	}
	slices.SortFunc(s.Instances, func(a, b Instance) int {
		return cmp.Or(strings.Compare(a.Node, b.Node), strings.Compare(a.ID, b.ID))
	})
	for _, m := range api {
		s.API = append(s.API, m)
	}
	slices.SortFunc(s.API, func(a, b Endpoint) int { return strings.Compare(a.Name, b.Name) })
	return s
}

// semverLess reports whether version a precedes b by semver's
// precedence: major.minor.patch, then a release above its pre-releases,
// which compare identifier by identifier (numeric ones as numbers, below
// alphanumeric ones; fewer identifiers first when the rest are equal).
// The build part is ignored.
func semverLess(a, b string) bool { return semverCompare(a, b) < 0 }

func semverCompare(a, b string) int {
	a, _, _ = strings.Cut(a, "+")
	b, _, _ = strings.Cut(b, "+")
	a, pa, aPre := strings.Cut(a, "-")
	b, pb, bPre := strings.Cut(b, "-")
	na, nb := semverParts(a), semverParts(b)
	for i := range na {
		if c := cmp.Compare(na[i], nb[i]); c != 0 {
			return c
		}
	}
	switch {
	case !aPre && !bPre:
		return 0
	case !aPre:
		return 1
	case !bPre:
		return -1
	}
	ia, ib := strings.Split(pa, "."), strings.Split(pb, ".")
	for i := range min(len(ia), len(ib)) {
		if c := identCompare(ia[i], ib[i]); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(ia), len(ib))
}

// identCompare compares two pre-release identifiers: numeric ones as
// numbers (by length, then digits, past any leading zeros: of any size),
// below alphanumeric ones, which compare in ASCII order.
func identCompare(a, b string) int {
	na, nb := numeric(a), numeric(b)
	switch {
	case na && nb:
		a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
		return cmp.Or(cmp.Compare(len(a), len(b)), strings.Compare(a, b))
	case na:
		return -1
	case nb:
		return 1
	}
	return strings.Compare(a, b)
}

func numeric(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// semverParts is a version's major, minor and patch (without its
// pre-release and build parts).
func semverParts(v string) [3]int {
	var out [3]int
	for i, p := range strings.SplitN(v, ".", 3) {
		out[i], _ = strconv.Atoi(p)
	}
	return out
}
