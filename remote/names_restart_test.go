package remote_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/troupe-go/troupe/remote"
	"github.com/troupe-go/troupe/remote/embedded"
)

// freePort is a TCP port nothing listens on (for a server restarted on
// the same address).
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestNamesAfterServerRestart: a server restarted without the names
// bucket (it is kept in memory) leaves the nodes' names working once they
// reconnect: Claim and Owner make the bucket again.
func TestNamesAfterServerRestart(t *testing.T) {
	port := freePort(t)
	opts := []embedded.Option{embedded.WithStoreDir(t.TempDir()),
		embedded.WithConfig(func(o *server.Options) { o.Port = port })}
	s, err := embedded.Start(context.Background(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	url := "nats://127.0.0.1:" + strconv.Itoa(port)
	rs := newRefusals()
	n1 := startNode(t, url, remote.WithName("n1"), remote.WithLease(time.Minute), remote.WithRefusalHook(rs.hook))
	n2 := startNode(t, url, remote.WithName("n2"), remote.WithLease(time.Minute))
	ctx := ctxTimeout(t, 40*time.Second)
	if err := remote.Claim(ctx, n1, "before", spawn(t, n1), remote.Serve(Deposit)); err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Owner(ctx, n2, "before"); err != nil {
		t.Fatal(err)
	}
	s.Shutdown()
	if s, err = embedded.Start(context.Background(), opts...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
	// The nodes reconnect on their own: retry each step with a short ctx
	// meanwhile.
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
			time.Sleep(50 * time.Millisecond)
		}
	}
	eventually("Claim on n2 after the restart", func(ctx context.Context) error {
		return remote.Claim(ctx, n2, "after", spawn(t, n2), remote.Serve(Deposit))
	})
	eventually("Owner on n1 after the restart", func(ctx context.Context) error {
		owner, err := remote.Owner(ctx, n1, "after")
		if err == nil && owner != "n2" {
			return fmt.Errorf("owner %q; want n2", owner)
		}
		return err
	})
}

// TestNamesWatchAfterServerRestart: after its server restarted (the names
// bucket lost with it, made again), a node still notices at once a claim
// of its overwritten behind its back — not at the keeper's next refresh,
// a third of a lease (here 40 s) later. The watch made before the
// restart, once nats.go makes its consumer again, reads from the old
// stream's sequence on: past the new stream's first writes.
func TestNamesWatchAfterServerRestart(t *testing.T) {
	port := freePort(t)
	opts := []embedded.Option{embedded.WithStoreDir(t.TempDir()),
		embedded.WithConfig(func(o *server.Options) { o.Port = port })}
	s, err := embedded.Start(context.Background(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	url := "nats://127.0.0.1:" + strconv.Itoa(port)
	n1 := startNode(t, url, remote.WithName("n1"), remote.WithLease(2*time.Minute))
	n2 := startNode(t, url, remote.WithName("n2"), remote.WithLease(2*time.Minute))
	ctx := ctxTimeout(t, 50*time.Second)
	for _, n := range []*remote.Node{n1, n2} {
		if _, err := remote.Owner(ctx, n, "x"); !errors.Is(err, remote.ErrNotFound) {
			t.Fatal(err)
		}
	}
	kv := namesBucket(ctx, t, n2)
	for i := range 20 { // the stream's sequence, before the restart
		if _, err := kv.Put(ctx, fmt.Sprintf("k%d", i), []byte("someone")); err != nil {
			t.Fatal(err)
		}
	}
	s.Shutdown()
	if s, err = embedded.Start(context.Background(), opts...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Shutdown)
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
			time.Sleep(50 * time.Millisecond)
		}
	}
	ref := spawn(t, n1)
	eventually("Claim on n1 after the restart", func(ctx context.Context) error {
		err := remote.Claim(ctx, n1, "watched", ref, remote.Serve(Deposit))
		if errors.Is(err, remote.ErrNameTaken) { // an earlier try's
			return nil
		}
		return err
	})
	if _, err := namesBucket(ctx, t, n2).Put(ctx, "watched", []byte("n2")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ref.Done():
	case <-time.After(25 * time.Second):
		t.Fatal("n1 still serves a claim overwritten 25 s ago")
	}
}
