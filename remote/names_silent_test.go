package remote_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/troupe-go/troupe/remote"
)

// TestNamesSilentAfterSetup: once a node's names bucket is made, Owner,
// Claim and LookupOrSpawn with a ctx without a deadline, whose key-value
// request goes unanswered (the server gone: the request waits in the
// reconnect buffer), fail with ErrTimeout, as their docs say, bounded by
// the node's call timeout, as the bucket's setup is (TestOwnerJetStreamSilent).
func TestNamesSilentAfterSetup(t *testing.T) {
	s := startServer(t)
	n := startNode(t, s.ClientURL(), remote.WithCallTimeout(time.Second))
	if _, err := remote.Owner(ctxTimeout(t, 20*time.Second), n, "x"); !errors.Is(err, remote.ErrNotFound) {
		t.Fatalf("Owner: %v; want ErrNotFound", err)
	}
	s.Shutdown()
	type result struct {
		what string
		err  error
	}
	results := make(chan result, 3)
	go func() {
		_, err := remote.Owner(context.Background(), n, "x")
		results <- result{"Owner", err}
	}()
	go func() {
		results <- result{"Claim", remote.Claim(context.Background(), n, "y", spawn(t, n), remote.Serve(Deposit))}
	}()
	go func() {
		_, _, err := remote.LookupOrSpawn(context.Background(), n, "z", newAcct, remote.Serve(Deposit))
		results <- result{"LookupOrSpawn", err}
	}()
	for range 3 {
		select {
		case r := <-results:
			if !errors.Is(r.err, remote.ErrTimeout) {
				t.Errorf("%s with the server gone: %v; want ErrTimeout", r.what, r.err)
			}
		case <-time.After(30 * time.Second): // the call timeout is 1 s
			t.Fatal("still waiting 30 s later")
		}
	}
}
