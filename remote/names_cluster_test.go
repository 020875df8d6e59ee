package remote_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/troupe-go/troupe/remote"
	"github.com/troupe-go/troupe/remote/embedded"
)

// TestNamesSurviveServerLoss: on a 3-server JetStream cluster with the
// names bucket replicated three times, a claim holds — refused elsewhere,
// found from everywhere — after one server dies.
func TestNamesSurviveServerLoss(t *testing.T) {
	ctx := ctxTimeout(t, 30*time.Second)
	servers, err := embedded.Cluster(ctx, 3)
	if err != nil {
		t.Fatalf("Cluster: %v", err)
	}
	for _, s := range servers {
		t.Cleanup(s.Shutdown)
	}
	url := func(i int) string {
		return fmt.Sprintf("%s,%s", servers[i].ClientURL(), servers[(i+1)%3].ClientURL())
	}
	opts := []remote.Option{remote.WithNameReplicas(3),
		remote.WithNATSOptions(nats.DontRandomize(), nats.ReconnectWait(20*time.Millisecond))}
	n1 := startNode(t, url(0), append(opts, remote.WithName("n1"))...)
	n2 := startNode(t, url(1), append(opts, remote.WithName("n2"))...)
	// JetStream's meta group may still be electing: retry the first claim.
	for {
		actx, cancel := context.WithTimeout(ctx, time.Second)
		err = remote.Claim(actx, n1, "session-1", spawn(t, n1), remote.Serve(Deposit))
		cancel()
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("Claim: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	servers[2].Shutdown() // a server neither node is on (perhaps the meta leader)
	// While JetStream elects again, a request may go unanswered: retry
	// each step with a short ctx.
	eventually := func(what string, f func(ctx context.Context) error) {
		t.Helper()
		for {
			actx, cancel := context.WithTimeout(ctx, time.Second)
			err := f(actx)
			cancel()
			if err == nil {
				return
			}
			if ctx.Err() != nil {
				t.Fatalf("%s: %v", what, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	eventually("Claim on n2 refused", func(ctx context.Context) error {
		err := remote.Claim(ctx, n2, "session-1", spawn(t, n2), remote.Serve(Deposit))
		if errors.Is(err, remote.ErrNameTaken) {
			return nil
		}
		return fmt.Errorf("got %v; want ErrNameTaken", err)
	})
	eventually("Owner", func(ctx context.Context) error {
		owner, err := remote.Owner(ctx, n2, "session-1")
		if err == nil && owner != "n1" {
			return fmt.Errorf("owner %q; want n1", owner)
		}
		return err
	})
	eventually("LookupOrSpawn", func(ctx context.Context) error {
		owner, _, err := remote.LookupOrSpawn(ctx, n2, "session-2", newAcct, remote.Serve(Deposit))
		if err == nil && owner != "n2" {
			return fmt.Errorf("owner %q; want n2", owner)
		}
		return err
	})
}
