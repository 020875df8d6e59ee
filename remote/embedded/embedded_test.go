package embedded_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/troupe-go/troupe/remote/embedded"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreCurrent())
}

// TestStart: a server accepts a client in-process and over loopback TCP,
// has JetStream, and its Shutdown is idempotent and removes its directory.
func TestStart(t *testing.T) {
	s, err := embedded.Start(context.Background())
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	for _, opt := range []nats.Option{nats.InProcessServer(s), nats.Timeout(5 * time.Second)} {
		nc, err := nats.Connect(s.ClientURL(), opt)
		if err != nil {
			t.Fatalf("Connect: %v", err)
		}
		if !nc.IsConnected() {
			t.Fatalf("connected = false; want true")
		}
		nc.Close()
	}
	if !s.NATS().JetStreamEnabled() {
		t.Fatalf("JetStream enabled = false; want true")
	}
	dir := s.NATS().StoreDir()
	s.Shutdown()
	s.Shutdown()
	if dir == "" {
		t.Fatalf("store dir empty; want a temporary directory")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("store dir after Shutdown: %v; want it removed", err)
	}
	if _, err := nats.Connect(s.ClientURL(), nats.Timeout(200*time.Millisecond)); err == nil {
		t.Fatalf("Connect after Shutdown: got nil error; want one")
	}
}

// TestCluster: three servers route to each other, and a message published
// on one reaches a subscriber on another.
func TestCluster(t *testing.T) {
	ss := cluster(t, embedded.WithoutJetStream())
	a, b := connect(t, ss[0]), connect(t, ss[2])
	sub, err := b.SubscribeSync("x")
	if err != nil {
		t.Fatal(err)
	}
	_ = b.Flush()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_ = a.Publish("x", []byte("hi"))
		if m, err := sub.NextMsg(20 * time.Millisecond); err == nil {
			if string(m.Data) != "hi" {
				t.Fatalf("got %q; want hi", m.Data)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no message across the cluster")
		}
	}
}

// TestClusterJetStream: once Cluster returns, a stream kept on all three
// servers can be made at the first try: the meta group's leader has
// heard from every server (before that it refuses, "no suitable peers
// for placement, peer offline").
func TestClusterJetStream(t *testing.T) {
	ss := cluster(t)
	js, err := jetstream.New(connect(t, ss[1]))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "r3", Subjects: []string{"r3.>"}, Replicas: 3}); err != nil {
		t.Fatalf("CreateStream with 3 replicas: %v", err)
	}
}

// cluster starts a cluster of three, shut down with the test.
func cluster(t *testing.T, opts ...embedded.Option) []*embedded.Server {
	t.Helper()
	// Generous: on a loaded machine the meta group's leader may hear a
	// server's first statistics seconds after the routes are up.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ss, err := embedded.Cluster(ctx, 3, opts...)
	if err != nil {
		t.Fatalf("Cluster: %v", err)
	}
	t.Cleanup(func() {
		for _, s := range ss {
			s.Shutdown()
		}
	})
	return ss
}

// connect connects to s, closed with the test (before s: cleanups run
// last first).
func connect(t *testing.T, s *embedded.Server) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// TestErrors: bad input is an error, never a panic.
func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		run  func() error
	}{
		{"nil ctx", func() error {
			_, err := embedded.Start(nil) //nolint:staticcheck
			return err
		}},
		{"nil option", func() error { _, err := embedded.Start(context.Background(), nil); return err }},
		{"cluster of 0", func() error { _, err := embedded.Cluster(context.Background(), 0); return err }},
		{"ctx ended", func() error {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			_, err := embedded.Start(ctx, embedded.WithoutJetStream())
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.run(); err == nil {
				t.Fatalf("got nil error; want one")
			}
		})
	}
}
