package remote_test

import (
	"testing"
	"time"

	"github.com/troupe-go/troupe/remote"
)

// TestResolveInstancesByNode: Resolve's instances are sorted by node, a
// node whose id is a prefix of another's first. They were sorted by the
// node's id and the instance's joined, so that "n10" came before "n1"
// (the instance id after "n1" begins with a letter or digit above '0').
func TestResolveInstancesByNode(t *testing.T) {
	s := startServer(t)
	n10 := startNode(t, s.ClientURL(), remote.WithName("n10"))
	n1 := startNode(t, s.ClientURL(), remote.WithName("n1"))
	cli := startNode(t, s.ClientURL(), remote.WithName("cli"))
	export(t, n10, "accounts")
	export(t, n1, "accounts")
	svc, err := remote.Resolve(ctxTimeout(t, 10*time.Second), cli, "accounts")
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	if len(svc.Instances) != 2 || svc.Instances[0].Node != "n1" || svc.Instances[1].Node != "n10" {
		t.Fatalf("instances %+v; want n1, then n10", svc.Instances)
	}
}
